/**
 * mshv irqfd on the shared engine, on the mshv model and on the real /dev/mshv: mshv's own rules
 * (GSIs from 1, 4095 kernel routes, overflow by hypercall, the MSI refusals), masking without
 * loss, the order of MSHV_IRQFD and MSHV_SET_MSI_ROUTING, and what a user closing `route.event.fd`
 * does.
 */
import { isVirtError } from '@tsvmm/virt';
import type { MshvIrqFd } from '../src';
import { describeOnTargets, linuxIrqFdTarget, msiTo } from './support/targets';
import { irqFdEventNumberTests } from '@tsvmm/linux-sys/testing';

const msi = (apic: number, vector: number): [number, number] => {
  const m = msiTo(apic, vector);
  return [m.address, m.data];
};

describeOnTargets('mshv irqfd', (target) => {
  it('capabilities: kernel irqfd, 4095 kernel routes (GSIs 1-4095), a routing table, no resample', () => {
    using p = target.create();
    const irqfd = p.irqfd()!;
    expect(p.capabilities).toMatchObject({ irqfd: 'kernel', irqfdReason: '', resample: false });
    expect(irqfd.capabilities).toMatchObject({ mediation: 'kernel', maxKernelRoutes: 4095, routingTable: true, stableEvent: true });
    expect(irqfd.capabilities.mechanism).toMatch(/MSHV_IRQFD.*MSHV_SET_MSI_ROUTING.*GSIs from 1/);
  });

  it('GSIs start at 1 and GSI 0 is never routed or assigned, not even after every GSI has been used', () => {
    using p = target.create();
    const irqfd = p.irqfd() as MshvIrqFd;
    const routes = irqfd.batch(() =>
      Array.from({ length: 4095 }, (_, i) => {
        const r = irqfd.newIrqFdRoute();
        r.setMsi(...msi(i % 2, 0x30 + (i % 200)));
        r.unmask();
        return r;
      }),
    );
    expect(routes[0]!.gsi).toBe(1);
    const committed = [...irqfd.table.kernelRoutes().keys()];
    expect({ lowest: Math.min(...committed), highest: Math.max(...committed), routes: committed.length }).toEqual({ lowest: 1, highest: 4095, routes: 4095 });
    // The kernel's own table and irqfds can be read back on the model only.
    if (!target.real) {
      const kernel = target.modelOf(p).partitionOf(p.partitionFd)!;
      expect(Math.min(...kernel.routes.keys())).toBe(1);
      expect(Math.max(...kernel.routes.keys())).toBe(4095);
      expect(kernel.irqfds.some((i) => i.gsi === 0)).toBe(false);
      expect(kernel.irqfds).toHaveLength(4095);
    }
    routes[7]!.event.signal();
    expect(target.takeIrr(p)).toEqual([[1, 0x30 + 7]]);
    irqfd.batch(() => routes.forEach((r) => r.dispose()));
    expect({ gsis: irqfd.gsiCount, table: irqfd.table.kernelRoutes().size }).toEqual({ gsis: 0, table: 0 });
    if (!target.real) {
      expect(target.modelOf(p).partitionOf(p.partitionFd)!.routes.size).toBe(0);
      expect(target.modelOf(p).hazards).toEqual([]);
    }
  });

  it('the 4096th route with an MSI is delivered from user space by hypercall, and moves to the kernel when a GSI frees up', async () => {
    const fds = target.openFdCount();
    const buffers = target.real ? 0 : target.modelBuffers();
    const p = target.create();
    try {
      const irqfd = p.irqfd() as MshvIrqFd;
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
      // The model's relay is a platform the test can count and a call log it can read; a device's is a worker thread.
      const relayMark = target.real ? 0 : target.relaySysOf(p).mark();
      if (!target.real) expect(target.relaysOf(p)).toHaveLength(1);
      last.setMsi(...msi(1, 0x77));
      last.event.signal();
      // A device's relay injects from its worker thread, after signal() has returned.
      await irqfd.settle();
      if (!target.real) expect(target.relaySysOf(p).callsSince(relayMark).map((r) => r.label)).toContain('MSHV_ROOT_HVCALL');
      expect(target.takeIrr(p)).toEqual([[1, 0x77]]);
      routes[0]!.dispose();
      expect(last.mediation).toBe('kernel');
      // Which GSI the kernel has the eventfd assigned on can be read back on the model only.
      if (!target.real) expect(target.modelOf(p).irqfdGsi(p.partitionFd, last.event.ownFd())).toBe(last.gsi);
      last.event.signal();
      expect(target.takeIrr(p)).toEqual([[1, 0x77]]);
      expect(irqfd.table.kernelRoutes().has(0)).toBe(false);
      if (!target.real) {
        expect(target.modelOf(p).partitionOf(p.partitionFd)!.routes.has(0)).toBe(false);
        expect(target.modelOf(p).hazards).toEqual([]);
      }
    } finally {
      p.dispose();
      await p.whenClosed();
    }
    expect(target.openFdCount()).toBe(fds);
    // The pinned buffers are counted by the model's memory; koffi's are not.
    if (!target.real) expect(target.modelBuffers()).toBe(buffers);
  });

  it('setMsi refuses, before any system call and with the reason: upper address, outside 0xFEE, physical destination without a VP, vector 0', () => {
    using p = target.create();
    const sys = target.sysOf(p);
    const irqfd = p.irqfd()!;
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
    expect(target.takeIrr(p)).toEqual([[1, 0x41]]);
  });

  it('mask deassigns (the signal latches in the eventfd), unmask delivers it once; a stale count at assign is never delivered twice', () => {
    using p = target.create();
    const r = p.irqfd()!.newIrqFdRoute();
    r.setMsi(...msi(0, 0x41));
    r.unmask();
    // The kernel's irqfds, eventfd counters and APIC acceptance counts can be read back on the model only.
    const model = target.real ? undefined : target.modelOf(p);
    const kernel = model?.partitionOf(p.partitionFd);
    if (kernel) expect(kernel.irqfds).toHaveLength(1);
    r.mask();
    if (kernel) expect(kernel.irqfds).toHaveLength(0);
    r.event.signal();
    r.event.signal();
    if (model) expect(model.eventfdCounter(r.event.ownFd())).toBe(2n);
    expect(target.takeIrr(p)).toEqual([]);
    r.unmask();
    if (kernel) expect(kernel.apic(0)!.accepted).toBe(1);
    if (model) expect(model.eventfdCounter(r.event.ownFd())).toBe(0n);
    expect(target.takeIrr(p)).toEqual([[0, 0x41]]);
    r.event.signal();
    if (kernel) expect(kernel.apic(0)!.accepted).toBe(2);
    expect(target.takeIrr(p)).toEqual([[0, 0x41]]);
    expect(target.takeIrr(p)).toEqual([]);
    if (model) expect(model.hazards).toEqual([]);
  });

  it('clearMsi deassigns before the route leaves the table (no signal on an unrouted GSI)', () => {
    using p = target.create();
    const sys = target.sysOf(p);
    const irqfd = p.irqfd()!;
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
    expect(target.takeIrr(p)).toEqual([]);
    // The model records a signal on an unrouted GSI (the kernel injects vector 0 on APIC 0).
    if (!target.real) expect(target.modelOf(p).hazards).toEqual([]);
  });

  // One body for every Linux backend: @tsvmm/linux-sys/testing.
  irqFdEventNumberTests(linuxIrqFdTarget(target));
});
