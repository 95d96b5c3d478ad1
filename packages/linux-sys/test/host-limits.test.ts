import { hostLimits, parseSeccompMode, routeBudget, libcSyscalls } from '../src';

test('the seccomp mode is read from the Seccomp row of /proc/<pid>/status', () => {
  expect(parseSeccompMode('Name:\tnode\nSeccomp:\t0\n')).toBe('none');
  expect(parseSeccompMode('Seccomp:\t1\n')).toBe('strict');
  expect(parseSeccompMode('Seccomp:\t2\nSeccomp_filters:\t1\n')).toBe('filter');
  expect(parseSeccompMode('Name:\tnode\n')).toBeUndefined();
});

test('this process: its limits and the routes a partition would promise under them', () => {
  const l = hostLimits();
  expect(l.descriptors?.limit).toBeGreaterThan(0);
  // Both read the descriptors open at their moment: another open file between them moves it by one route at most.
  expect(Math.abs(l.routesPerPartition - routeBudget(libcSyscalls(), undefined))).toBeLessThanOrEqual(1);
  expect(['kcmp', 'fdinfo', 'none']).toContain(l.eventFdIdentity);
  if (l.kcmp === 'available') expect(l.eventFdIdentity).toBe('kcmp');
});
