// A failing test cleans up as well as a passing one: the deliberately
// failing fixture (fixtures/failing_server.test.mjs: a server and a peer,
// then a failure) runs in a child node process, and afterwards nothing it
// started is alive. When the test process itself is SIGKILLed, tests/run.sh
// finds what it left, kills it and fails the run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN } from './lib/server.mjs';
import { track } from './lib/children.mjs';
import { sleep } from './lib/receiver.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const FIXTURE = path.join(here, 'fixtures', 'failing_server.test.mjs');

// Run cmd to its end; {code, out}.
function run(cmd, args, env) {
  // without NODE_TEST_CONTEXT, or the inner runner takes itself for a
  // nested run and skips its files
  const { NODE_TEST_CONTEXT, ...outer } = process.env; // eslint-disable-line no-unused-vars
  return new Promise((resolve) => {
    const child = track(spawn(cmd, args, { cwd: root, env: { ...outer, HOOKSTREAM_BIN: BIN, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('close', (code, signal) => resolve({ code: code ?? signal, out }));
  });
}

// Alive: in the process table and not a zombie.
function alive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function assertAllGone(pids, out) {
  for (let i = 0; i < 20 && pids.some(alive); i++) await sleep(100);
  assert.deepEqual(pids.filter(alive), [], `still running after the fixture ended:\n${out}`);
}

function fixturePids(out) {
  const m = out.match(/FIXTURE_PIDS (\d+) (\d+)/);
  assert.ok(m, `the fixture did not start its children:\n${out}`);
  return [Number(m[1]), Number(m[2])];
}

// As tests/run.sh runs files (--test-force-exit), and without that flag,
// where the file's process lingers until the runner's timeout stops it.
for (const [mode, flags] of [['throw', ['--test-force-exit']], ['uncaught', ['--test-force-exit']], ['throw', []], ['hang', []]]) {
  test(`a test file that fails (${mode}${flags.length ? ', ' + flags : ''}) leaves no process running`, async () => {
    const { code, out } = await run(process.execPath, ['--test', ...flags, '--test-timeout=4000', FIXTURE], { FIXTURE_MODE: mode });
    assert.notEqual(code, 0, out);
    await assertAllGone(fixturePids(out), out);
  });
}

test('run.sh kills what a SIGKILLed test process left, and fails the run', async () => {
  const empty = mkdtempSync(path.join(tmpdir(), 'hookstream-cleanup-')); // no unit tests to run
  try {
    const { code, out } = await run('bash', ['tests/run.sh'], {
      BUILD: empty, TEST_FILES: FIXTURE, FIXTURE_MODE: 'sigkill', HOOKSTREAM_ASAN: '', FUZZ_SMOKE: '',
    });
    const pids = fixturePids(out);
    assert.notEqual(code, 0, out);
    assert.match(out, /left processes running; killed/, out);
    assert.match(out, /tests: 0 passed, [1-9]\d* failed/, out);
    await assertAllGone(pids, out);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});
