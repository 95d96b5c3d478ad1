/**
 * Every exported function and constructor of @tsvmm/virt-software, and every method of a partition
 * and its irqfd, rejects wrong types with a typed VirtError (or a documented result); never a TypeError.
 */
import { settledOutcome as outcome } from '@tsvmm/virt/testing';
import * as pkg from '../src';
import { SoftwarePartition } from '../src';

const BAD: readonly unknown[] = [undefined, null, 42, 'x', {}, Number.NaN, -1, 2 ** 53, 10n, [], () => undefined];


test.each(BAD.map((b) => [b]))('SoftwarePartition.create(%p) is INVALID_ARGUMENT', async (bad) => {
  expect(await outcome(() => SoftwarePartition.create(bad as never))).toBe('typed');
  for (const key of ['vcpus', 'apicIds', 'maxRoutes', 'x2apic']) {
    const options = { vcpus: 2, [key]: bad };
    const expected = key !== 'vcpus' && bad === undefined ? 'returned' : key === 'maxRoutes' && bad === 42 ? 'returned' : key === 'vcpus' && bad === 42 ? 'returned' : 'typed';
    const got = await outcome(() => {
      const p = SoftwarePartition.create(options);
      p.dispose();
    });
    expect([key, got]).toEqual([key, expected]);
  }
});

test.each(BAD.map((b) => [b]))('every exported function and constructor with %p', async (bad) => {
  for (const [name, value] of Object.entries(pkg)) {
    if (typeof value !== 'function') continue;
    const f = value as (...a: unknown[]) => unknown;
    const isClass = /^class[\s{]/.test(Function.prototype.toString.call(value));
    for (const args of [[bad], [bad, bad, bad]]) {
      // Constructors: `new`; the partition's own constructor is private, so `create` stands for it.
      await outcome(() => (isClass ? Reflect.construct(f, args) : f(...args))).catch((e: unknown) => {
        throw new Error(`${name}: ${String(e)}`);
      });
    }
  }
});

test.each(BAD.map((b) => [b]))('every partition, irqfd and route method with %p', async (bad) => {
  using p = SoftwarePartition.create({ vcpus: 2, maxRoutes: 4 });
  const irqfd = p.irqfd()!;
  const r = irqfd.newIrqFdRoute();
  const calls: Array<[string, () => unknown, 'typed' | 'either']> = [
    ['requestMsi', () => p.requestMsi(bad as never, bad as never), 'typed'],
    ['readLocalApic', () => p.readLocalApic(bad as never), 'typed'],
    ['clearIrr', () => p.clearIrr(bad as never), 'typed'],
    ['setApicSoftwareEnabled(0, bad)', () => p.setApicSoftwareEnabled(0, bad as never), 'typed'],
    ['setApicSoftwareEnabled(bad, true)', () => p.setApicSoftwareEnabled(bad as never, true), 'typed'],
    ['localApicModel', () => p.localApicModel(bad as never), 'typed'],
    ['batch', () => irqfd.batch(bad as never), typeof bad === 'function' ? 'either' : 'typed'],
    ['setMsi', () => r.setMsi(bad as never, bad as never), 'typed'],
    ['onEventReplaced', () => r.onEventReplaced(bad as never), typeof bad === 'function' ? 'either' : 'typed'],
  ];
  for (const [what, call, expected] of calls) {
    const got = await outcome(call);
    if (expected === 'typed' && !(typeof bad === 'number' && Number.isInteger(bad) && bad >= 0 && bad <= 1 && what !== 'setMsi')) expect([what, got]).toEqual([what, 'typed']);
  }
  expect(r.msi).toBeUndefined();
  expect(irqfd.routeCount).toBe(1);
});
