import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EPOLL_EVENT, POLLFD } from '../src';
import { generateCCheck } from '@tsvmm/ffi';

function compileAndRun(source: string): string[] {
  const cc = spawnSync('cc', ['--version']);
  if (cc.error || cc.status !== 0) {
    throw new Error('cc (a C compiler) is missing: install gcc (apt-get install gcc) so the ABI check can run; it is never skipped.');
  }
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-abi-'));
  try {
    writeFileSync(join(dir, 'check.c'), source);
    execFileSync('cc', ['-Wall', '-Werror', '-o', join(dir, 'check'), join(dir, 'check.c')], { stdio: 'pipe' });
    return execFileSync(join(dir, 'check'), { encoding: 'utf8' }).trim().split('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('ABI definitions match the installed kernel headers (compiled with cc)', () => {
  it('epoll_event and pollfd', () => {
    const check = generateCCheck({ headers: ['sys/epoll.h', 'poll.h'], layouts: [EPOLL_EVENT, POLLFD], ioctls: [] });
    expect(compileAndRun(check.source)).toEqual(check.expected);
  });
});
