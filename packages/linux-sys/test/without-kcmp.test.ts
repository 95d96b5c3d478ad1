/**
 * Where kcmp(2) is denied (a container's default seccomp profile without CAP_SYS_PTRACE) or missing
 * (a kernel without CONFIG_KCMP), disposing an event still closes its handed-out duplicate: the
 * identity is then told from procfs. Run in a child process whose seccomp filter denies kcmp.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const EPERM = 1;

test('with kcmp denied by seccomp, 1000 events created and disposed leave no descriptor behind', () => {
  const child = spawnSync(process.execPath, [join(__dirname, 'support', 'without-kcmp.js'), join(__dirname, '..', 'dist'), '1000'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect({ status: child.status, signal: child.signal, stderr: child.stderr }).toEqual({ status: 0, signal: null, stderr: '' });
  const result = JSON.parse(child.stdout) as { rawKcmp: number; before: number; after: number; proven: number; limits: { seccomp: string; kcmp: string; eventFdIdentity: string } };
  // The filter is in force: kcmp itself fails, as in such a container.
  expect(result.rawKcmp).toBe(-EPERM);
  expect({ proven: result.proven, leaked: result.after - result.before }).toEqual({ proven: 1000, leaked: 0 });
  // And the process can tell why, as `tsvmm probe` does.
  expect(result.limits).toMatchObject({ seccomp: 'filter', kcmp: 'denied', eventFdIdentity: 'fdinfo' });
});
