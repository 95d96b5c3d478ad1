/**
 * No entry point of tsvmm waits for other threads. A worker thread blocked in a native call (the
 * relay's epoll worker in epoll_wait, a WHP waiter, a user's own thread in a blocking read) cannot
 * be interrupted by Node, so a call that waits for every thread to answer, as Node's diagnostic
 * report does, hangs the main thread for good (at 0% CPU). Each child process here first blocks a
 * worker of its own in read(2), then calls what reaches native code or host detection; it must get
 * through every step and exit within the bound. This lives in the CLI package because it is the
 * one that depends on every backend (and holds the probe).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const CHILD = join(__dirname, 'support', 'no-thread-wait-child.js');
const CLI_DIST = resolve(__dirname, '..', 'dist', 'index.js');
const WHP_MODEL_SOURCE = resolve(__dirname, '..', '..', 'virt-whp', 'native', 'whp_model.c');
/** How long a child may take: far beyond its second or so of work, far below jest's own timeout. */
const HANG_BOUND_MS = 30_000;

let dir = '';
let whpModel = '';

beforeAll(() => {
  if (!existsSync(CLI_DIST)) throw new Error(`${CLI_DIST} is missing: build first (pnpm build)`);
  dir = mkdtempSync(join(tmpdir(), 'tsvmm-no-thread-wait-'));
  // Without trigger exports, so a WHP partition on the model starts its relay waiter thread.
  whpModel = join(dir, 'libwhp_model_no_triggers.so');
  execFileSync('cc', ['-O2', '-shared', '-fPIC', '-pthread', '-DWHP_MODEL_NO_TRIGGERS', '-o', whpModel, WHP_MODEL_SOURCE], { stdio: ['ignore', 'ignore', 'inherit'] });
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs the child script in `mode`: how it ended, and the steps it completed, in order. */
function runChild(mode: string): { outcome: string; steps: string[] } {
  const r = spawnSync(process.execPath, [CHILD, mode], {
    encoding: 'utf8',
    timeout: HANG_BOUND_MS,
    killSignal: 'SIGKILL',
    env: { ...process.env, TSVMM_WHP_MODEL: whpModel },
  });
  const steps = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('step: '))
    .map((l) => l.slice('step: '.length));
  const last = steps.at(-1) ?? 'nothing';
  const timedOut = r.error !== undefined && 'code' in r.error && r.error.code === 'ETIMEDOUT';
  const outcome = r.status === 0 ? 'exited 0' : timedOut ? `hung after "${last}" (killed after ${HANG_BOUND_MS} ms)` : `failed after "${last}" (${String(r.status ?? r.signal)}): ${r.stderr}`;
  return { outcome, steps };
}

const BLOCKED = 'a worker blocked in read(2)';

describe('with worker threads blocked in native calls, every entry point returns', () => {
  it.each([
    [
      'entry-points',
      [
        BLOCKED,
        'currentHost',
        'libcFileName',
        'checkLinuxHost',
        'libcSyscalls',
        'EventFd',
        'EpollRelayPlatform',
        'a second EpollRelayPlatform',
        'KVM model partition, relay mode',
        'KVM model partition, overflow relay',
        'mshv model partition, overflow relay',
        'WHP model partition, relay waiter',
        'probeAll',
        'disposed',
        'done',
      ],
    ],
    ['probe', [BLOCKED, 'probeAll', 'done']],
  ])('%s', (mode, steps) => {
    expect(runChild(mode)).toEqual({ outcome: 'exited 0', steps });
  });
});
