/** mshv irqfd on the shared engine, against the kernel model: mshv's own rules. */
import { encodeMsi, isVirtError } from '@tsvmm/virt';
import { FaultInjector } from '@tsvmm/linux-sys/testing';
import { MshvKernelModel, modelRelayPlatform } from '../src/testing';
import { MshvPartition } from '../src';

function setup(options: { maxRoutes?: number } = {}) {
  const model = new MshvKernelModel();
  const sys = new FaultInjector(model);
  const relay = modelRelayPlatform(model, sys);
  const p = MshvPartition.create({ vcpus: 2, sys, memory: model, overflow: relay, ...options });
  return { model, sys, relay, p, irqfd: p.irqfd()!, kernel: model.partitionOf(p.partitionFd)! };
}

const msi = (apic: number, vector: number): [number, number] => {
  const m = encodeMsi({ destinationId: apic, vector });
  return [m.addressLo, m.data];
};

test('capabilities: kernel irqfd, 4095 kernel routes (GSIs 1-4095), a routing table, no resample', () => {
  const { p, irqfd } = setup();
  expect(p.capabilities).toMatchObject({ irqfd: 'kernel', irqfdReason: '', resample: false });
  expect(irqfd.capabilities).toMatchObject({ mediation: 'kernel', maxKernelRoutes: 4095, routingTable: true, stableEvent: true });
  expect(irqfd.capabilities.mechanism).toMatch(/MSHV_IRQFD.*MSHV_SET_MSI_ROUTING.*GSIs from 1/);
  p.dispose();
});

test('GSIs start at 1 and GSI 0 is never routed or assigned, not even after every GSI has been used', () => {
  const { p, irqfd, kernel, model } = setup();
  const routes = irqfd.batch(() =>
    Array.from({ length: 4095 }, (_, i) => {
      const r = irqfd.newIrqFdRoute();
      r.setMsi(...msi(i % 2, 0x30 + (i % 200)));
      r.unmask();
      return r;
    }),
  );
  expect(routes[0]!.gsi).toBe(1);
  expect(Math.min(...kernel.routes.keys())).toBe(1);
  expect(Math.max(...kernel.routes.keys())).toBe(4095);
  expect(kernel.irqfds.some((i) => i.gsi === 0)).toBe(false);
  expect(kernel.irqfds).toHaveLength(4095);
  routes[7]!.event.signal();
  expect(p.readLocalApic(1).irr).toEqual([0x30 + 7]);
  irqfd.batch(() => routes.forEach((r) => r.dispose()));
  expect(kernel.routes.size).toBe(0);
  expect(model.hazards).toEqual([]);
  p.dispose();
});

test('the 4096th route with an MSI is delivered from user space by hypercall, and moves to the kernel when a GSI frees up', () => {
  const { p, irqfd, kernel, model, relay, sys } = setup();
  const routes = irqfd.batch(() =>
    Array.from({ length: 4096 }, () => {
      const r = irqfd.newIrqFdRoute();
      r.setMsi(...msi(0, 0x40));
      r.unmask();
      return r;
    }),
  );
  const last = routes[4095]!;
  expect(last.mediation).toBe('emulated');
  expect(relay.platforms).toHaveLength(1);
  const mark = sys.mark();
  last.setMsi(...msi(1, 0x77));
  last.event.signal();
  expect(sys.callsSince(mark).map((r) => r.label)).toContain('MSHV_ROOT_HVCALL');
  expect(p.readLocalApic(1).irr).toEqual([0x77]);
  routes[0]!.dispose();
  expect(last.mediation).toBe('kernel');
  expect(model.irqfdGsi(p.partitionFd, last.event.ownFd())).toBe(last.gsi);
  p.clearIrr(1);
  last.event.signal();
  expect(p.readLocalApic(1).irr).toEqual([0x77]);
  expect(kernel.routes.has(0)).toBe(false);
  expect(model.hazards).toEqual([]);
  p.dispose();
  expect(model.openFds()).toBe(0);
  expect(model.allocatedBuffers).toBe(0);
});

test('setMsi refuses, before any system call and with the reason: upper address, outside 0xFEE, physical destination without a VP, vector 0', () => {
  const { p, irqfd, sys } = setup();
  const r = irqfd.newIrqFdRoute();
  r.setMsi(...msi(1, 0x41));
  r.unmask();
  const commits = irqfd.commitCount;
  const mark = sys.mark();
  const cases: Array<[number | bigint, number, RegExp]> = [
    [0x1_fee01000n, 0x41, /upper address to be 0/],
    [0xfe001000, 0x41, /outside the interrupt window/],
    [0xfee02000, 0x41, /APIC ID 2 has no VP in this partition/],
    [0xfeeff000, 0x41, /APIC ID 255 has no VP/],
    [0xfee01000, 0x400, /vector 0/],
  ];
  for (const [a, d, why] of cases) {
    let err: unknown;
    try {
      r.setMsi(a, d);
    } catch (e) {
      err = e;
    }
    expect(isVirtError(err, 'INVALID_MSI')).toBe(true);
    expect((err as Error).message).toMatch(why);
  }
  expect(sys.callsSince(mark)).toEqual([]);
  expect(irqfd.commitCount).toBe(commits);
  r.event.signal();
  expect(p.readLocalApic(1).irr).toEqual([0x41]);
  p.dispose();
});

test('mask deassigns (the signal latches in the eventfd), unmask delivers it once; a stale count at assign is never delivered twice', () => {
  const { p, irqfd, kernel, model } = setup();
  const r = irqfd.newIrqFdRoute();
  r.setMsi(...msi(0, 0x41));
  r.unmask();
  expect(kernel.irqfds).toHaveLength(1);
  r.mask();
  expect(kernel.irqfds).toHaveLength(0);
  r.event.signal();
  r.event.signal();
  expect(model.eventfdCounter(r.event.ownFd())).toBe(2n);
  r.unmask();
  expect(p.readLocalApic(0).irr).toEqual([0x41]);
  expect(model.partitionOf(p.partitionFd)!.apic(0)!.accepted).toBe(1);
  expect(model.eventfdCounter(r.event.ownFd())).toBe(0n);
  r.event.signal();
  expect(model.partitionOf(p.partitionFd)!.apic(0)!.accepted).toBe(2);
  expect(model.hazards).toEqual([]);
  p.dispose();
});

test('clearMsi deassigns before the route leaves the table (no signal on an unrouted GSI)', () => {
  const { p, irqfd, sys, model } = setup();
  const a = irqfd.newIrqFdRoute();
  const b = irqfd.newIrqFdRoute();
  a.setMsi(...msi(0, 0x41));
  b.setMsi(...msi(1, 0x42));
  a.unmask();
  b.unmask();
  const mark = sys.mark();
  a.clearMsi();
  expect(sys.callsSince(mark).map((x) => x.label)).toEqual(['MSHV_IRQFD', 'MSHV_SET_MSI_ROUTING']);
  a.event.signal();
  expect(a.consumePending()).toBe(true);
  expect(model.hazards).toEqual([]);
  p.dispose();
});
