// Every child process the tests start (hookstream servers, peers), so that
// none outlives its test file, whether the file passes, fails, throws or is
// stopped. A failed test skips its own stop(); the child's pipes then keep
// the file's process alive, and when that process goes, the child,
// reparented to init, would run on. So every tracked child still running
// is killed when the file's process ends:
//   - on 'exit': the normal end (tests/run.sh runs node with
//     --test-force-exit, so a file ends once its tests and after hooks are
//     done, open pipes or not) and an uncaught error;
//   - on SIGINT, SIGTERM and SIGHUP (Ctrl-C; the runner's timeout).
// Only SIGKILL of the file's process escapes; tests/run.sh sweeps that.
// Nothing runs earlier: the files' own after hooks stop their servers and
// check a clean exit.
import { constants } from 'node:os';

const live = new Set();

// Track child (a ChildProcess) until it exits; returns it.
export function track(child) {
  if (child.exitCode === null && child.signalCode === null) {
    live.add(child);
    child.once('exit', () => live.delete(child));
  }
  return child;
}

// Kill every tracked child still running (SIGKILL: nothing can be waited for).
export function killAll(signal = 'SIGKILL') {
  for (const child of live) {
    try { child.kill(signal); } catch { /* already gone */ }
  }
  live.clear();
}

process.once('exit', () => killAll());
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    killAll();
    process.exit(128 + constants.signals[sig]);
  });
}
