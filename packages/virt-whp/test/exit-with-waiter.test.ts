/**
 * A process that exits without disposing a relay partition must still exit: Node joins every
 * worker thread at exit, and the relay's waiter thread sits in a native wait with no timeout while
 * it watches 63 routes or fewer, so the platform tells it to leave from an exit hook, as the Linux
 * epoll relay does. Run in a child process, bounded.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { whpModel } from './support/native-model';

test('exiting with a relay waiter in its wait and nothing disposed ends the process', () => {
  const model = whpModel('no-triggers');
  const child = spawnSync(process.execPath, [join(__dirname, 'support', 'exit-with-waiter.js'), model.path, join(__dirname, '..', 'dist')], {
    encoding: 'utf8',
    timeout: 20_000,
    killSignal: 'SIGKILL',
  });
  expect({ stdout: child.stdout, stderr: child.stderr, status: child.status, signal: child.signal }).toEqual({ stdout: 'exiting\n', stderr: '', status: 0, signal: null });
});
