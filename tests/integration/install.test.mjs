// make install / make uninstall (Makefile, dist/hookstream.service.in,
// docs/operations.md): the binary and a hardened systemd unit whose
// ExecStart names the installed binary. Installs the binary of $BUILD as
// built (make -o: nothing is rebuilt here) into temporary directories.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './lib/server.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BUILD = process.env.BUILD || 'build';
const dirs = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

// make run by make test passes its flags (and jobserver) in the environment
const env = { ...process.env };
for (const v of ['MAKEFLAGS', 'MFLAGS', 'MAKELEVEL', 'MAKEOVERRIDES']) delete env[v];

function make(...args) {
  const r = spawnSync('make', ['-s', '--no-print-directory', `BUILD=${BUILD}`, '-o', `${BUILD}/hookstream`, ...args],
    { cwd: root, env, encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, `make ${args.join(' ')}\n${r.stdout}${r.stderr}`);
  return r;
}

function dir() {
  const d = tempDir('hookstream-install-');
  dirs.push(d);
  return d;
}

// [Section] Key=value lines: key -> every value it was given, in order
function unitKeys(text) {
  const keys = new Map();
  for (const line of text.split('\n')) {
    const m = line.match(/^([A-Za-z]+)=(.*)$/);
    if (m) keys.set(m[1], [...(keys.get(m[1]) || []), m[2]]);
  }
  return keys;
}

test('make install DESTDIR PREFIX=/usr: usr/bin/hookstream and the hardened unit', () => {
  const d = dir();
  make('install', `DESTDIR=${d}`, 'PREFIX=/usr');
  const bin = path.join(d, 'usr/bin/hookstream');
  assert.equal(statSync(bin).mode & 0o777, 0o755);
  const help = spawnSync(bin, ['--help'], { encoding: 'utf8', timeout: 10000 });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /hookstream serve/);

  const file = path.join(d, 'usr/lib/systemd/system/hookstream.service');
  assert.equal(statSync(file).mode & 0o777, 0o644);
  const text = readFileSync(file, 'utf8');
  assert.doesNotMatch(text, /@[A-Z]+@/, 'every placeholder substituted');
  const k = unitKeys(text);
  const one = (key) => {
    assert.equal(k.get(key)?.length, 1, `${key} set once`);
    return k.get(key)[0];
  };
  assert.equal(one('ExecStart'), '/usr/bin/hookstream serve --db /var/lib/hookstream/hookstream.db');
  const expect = {
    DynamicUser: 'yes', StateDirectory: 'hookstream', WorkingDirectory: '/var/lib/hookstream',
    ProtectSystem: 'strict', ProtectHome: 'yes', PrivateTmp: 'yes', PrivateDevices: 'yes',
    NoNewPrivileges: 'yes', ProtectKernelTunables: 'yes', ProtectKernelModules: 'yes',
    ProtectKernelLogs: 'yes', ProtectControlGroups: 'yes', RestrictNamespaces: 'yes',
    LockPersonality: 'yes', MemoryDenyWriteExecute: 'yes', CapabilityBoundingSet: '',
    RestrictAddressFamilies: 'AF_INET AF_INET6 AF_UNIX', Restart: 'on-failure',
    EnvironmentFile: '-/etc/hookstream/env', WantedBy: 'multi-user.target',
  };
  for (const [key, value] of Object.entries(expect)) assert.equal(one(key), value, key);
  assert.ok(k.get('SystemCallFilter')?.includes('@system-service'), 'SystemCallFilter=@system-service');
  assert.ok(Number(one('LimitNOFILE')) >= 65536, 'LimitNOFILE raised');

  make('uninstall', `DESTDIR=${d}`, 'PREFIX=/usr');
  assert.ok(!existsSync(bin) && !existsSync(file), 'uninstall removes both');
});

test('make install: PREFIX defaults to /usr/local, BINDIR moves the binary and ExecStart', () => {
  const d = dir();
  make('install', `DESTDIR=${d}`);
  assert.ok(existsSync(path.join(d, 'usr/local/bin/hookstream')));
  const unit = readFileSync(path.join(d, 'usr/local/lib/systemd/system/hookstream.service'), 'utf8');
  assert.match(unit, /^ExecStart=\/usr\/local\/bin\/hookstream serve /m);

  const e = dir();
  make('install', `DESTDIR=${e}`, 'PREFIX=/usr', 'BINDIR=/opt/hs/bin');
  assert.ok(existsSync(path.join(e, 'opt/hs/bin/hookstream')));
  const moved = readFileSync(path.join(e, 'usr/lib/systemd/system/hookstream.service'), 'utf8');
  assert.match(moved, /^ExecStart=\/opt\/hs\/bin\/hookstream serve /m);
});

// systemd's own check, where systemd is installed: it reads every key and
// wants ExecStart to exist, so this install has no DESTDIR
const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' }).status === 0;
test('systemd-analyze verify accepts the unit', { skip: !analyze && 'no systemd-analyze' }, () => {
  const d = dir();
  make('install', `PREFIX=${d}/usr`);
  const file = path.join(d, 'usr/lib/systemd/system/hookstream.service');
  const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8', timeout: 30000 });
  assert.equal(r.status, 0, r.stderr);
  const about = (r.stdout + r.stderr).split('\n').filter((l) => l.includes('hookstream'));
  assert.deepEqual(about, [], 'no warning about the unit');
});
