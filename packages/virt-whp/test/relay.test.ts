/**
 * A WHP without trigger exports: irqfd() is the user-space relay, with one waiter thread for all
 * routes, proven with the conformance suite on the "no trigger exports" build of the model, and
 * past the 64-handle limit of one wait.
 */
import { Script } from 'node:vm';
import { defineIrqFdConformance } from '@tsvmm/virt/conformance';
import { whpWaiterSource } from '../src/relay/waiter-worker';
import { WhpPartition } from '../src';
import { fresh, msi, take } from './support/whp-calls';
import { whpModel } from './support/native-model';
import { conformancePartition } from './support/conformance-partition';

// xAPIC, and x2APIC with APIC ID = VP index: APIC ID 256 takes 257 VPs.
for (const x2apic of [false, true]) {
  defineIrqFdConformance({
    name: `whp model without trigger exports (user-space relay)${x2apic ? ', x2APIC, 257 VPs' : ''}`,
    ...(x2apic ? { supports: { x2apic: true } } : {}),
    create() {
      const model = whpModel('no-triggers');
      model.reset();
      const partition = WhpPartition.create(x2apic ? { vcpus: 257, x2apic: true, library: model.library } : { vcpus: 2, library: model.library });
      return conformancePartition(partition, () => model.assertClean());
    },
  });
}

test('150 armed routes (three waits of 63): each delivers exactly its own vector, once', async () => {
  const model = whpModel('no-triggers');
  model.reset();
  const p = fresh(model, 2);
  try {
    const irqfd = p.irqfd();
    const routes = Array.from({ length: 150 }, (_, i) => {
      const r = irqfd.newIrqFdRoute();
      const m = msi(i % 2, 0x20 + (i % 200));
      r.setMsi(m.address, m.data);
      r.unmask();
      return r;
    });
    for (const round of [0, 1]) {
      const pick = routes.filter((_, i) => i % 3 === round);
      pick.forEach((r) => r.event.signal());
      await p.settle();
      const want = [0, 1].map((v) => [...new Set(routes.map((r, i) => [i, r] as const).filter(([i, r]) => pick.includes(r) && i % 2 === v).map(([i]) => 0x20 + (i % 200)))].sort((a, b) => a - b));
      expect([take(p, 0), take(p, 1)]).toEqual(want);
    }
    expect(model.calls('WHvRequestInterrupt')).toBe(100);
  } finally {
    p.dispose();
  }
  model.assertClean();
});

test.each(['no-triggers', 'full'] as const)('%s: CreateEventW failing at newIrqFdRoute is a typed error that leaves no route, slot or handle behind', (variant) => {
  {
    const model = whpModel(variant);
    model.reset();
    const p = fresh(model, 2);
    const irqfd = p.irqfd();
    model.fail('CreateEventW', 1, 0);
    expect(() => irqfd.newIrqFdRoute()).toThrow(expect.objectContaining({ code: 'SYSCALL', operation: 'CreateEventW' }));
    expect(irqfd.routeCount).toBe(0);
    const r = irqfd.newIrqFdRoute();
    const m = msi(1, 0x61);
    r.setMsi(m.address, m.data);
    r.unmask();
    r.event.signal();
    return p.settle().then(() => {
      expect(take(p, 1)).toEqual([0x61]);
      p.dispose();
      model.assertClean();
    });
  }
});

test('the waiter needs no file: its source is self-contained text that compiles on its own', () => {
  const source = whpWaiterSource();
  expect(source).not.toMatch(/dist\/|\.js['"]|__dirname|require\(['"]@tsvmm/);
  expect(() => new Script(source)).not.toThrow();
});
