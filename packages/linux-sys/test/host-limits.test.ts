import { isVirtError } from '@tsvmm/virt';
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

describe('routeBudget refuses what is not a budget with INVALID_ARGUMENT', () => {
  it.each([
    ['requested 0', libcSyscalls(), 0],
    ['requested 2.5', libcSyscalls(), 2.5],
    ['requested above 2^20', libcSyscalls(), 2 ** 20 + 1],
    ['requested a string', libcSyscalls(), '8'],
    ['sys null', null, undefined],
    ['sys a number', 5, undefined],
  ])('%s', (_label, sys, requested) => {
    let err: unknown;
    try {
      routeBudget(sys as never, requested as never);
    } catch (e) {
      err = e;
    }
    expect(isVirtError(err) && [err.code, err.operation]).toEqual(['INVALID_ARGUMENT', 'routeBudget']);
  });

  it.each([
    ['a limit that is a string', () => ({ limit: 'x', open: 3 })],
    ['a NaN limit', () => ({ limit: NaN, open: 3 })],
    ['null', () => null],
    ['no open count', () => ({ limit: 100 })],
    ['a throw', () => {
      throw new Error('budget broke');
    }],
  ])('a sys whose descriptorBudget answers %s', (_label, descriptorBudget) => {
    let err: unknown;
    try {
      routeBudget({ ...libcSyscalls(), descriptorBudget } as never, undefined);
    } catch (e) {
      err = e;
    }
    expect(isVirtError(err) && [err.code, err.operation, /sys\.descriptorBudget/.test(err.detail)]).toEqual(['INVALID_ARGUMENT', 'routeBudget', true]);
  });

  it('a sys whose descriptorBudget answers undefined, Infinity or a count is budgeted from it', () => {
    // A sys that can duplicate: two descriptors per route.
    const sys = (descriptorBudget: () => unknown): never => ({ dup: () => -1, descriptorBudget }) as never;
    expect(routeBudget(sys(() => undefined), undefined)).toBe(16384);
    expect(routeBudget(sys(() => ({ limit: Infinity, open: 10 })), undefined)).toBe(65536);
    expect(routeBudget(sys(() => ({ limit: 1000, open: 36 })), undefined)).toBe(Math.floor((1000 - 36 - 64) / 2));
  });

  it('a requested budget is returned as it is', () => {
    expect(routeBudget(libcSyscalls(), 1)).toBe(1);
    expect(routeBudget(libcSyscalls(), 2 ** 20)).toBe(2 ** 20);
  });
});
