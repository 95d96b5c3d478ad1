/**
 * More vectors than GSIs, on the KVM model with a small kernel route limit (so the test stays
 * fast; the real-KVM version in ../overflow.kvm.test.ts uses the kernel's own 4096): two devices
 * of 2048 MSI-X vectors each, every vector programmed and unmasked. The first routes get GSIs,
 * the rest are delivered by the overflow relay; every signal lands exactly once on the right vCPU.
 * Disposing kernel routes frees GSIs, and relayed routes move onto them without losing or
 * doubling a signal.
 */
import { KvmIrqFd, type KvmIrqFdRoute, kvmIrqFdBackend, kvmRelayInjector } from '../../src';
import { Rig, msiFor, targetOf } from '@tsvmm/linux-sys/testing';
import { type KvmFaultKernel, kvmFaultAdapter } from './fault-adapter';

const VECTORS_PER_DEVICE = 2048;
const KERNEL_ROUTES = 64;
const LEGACY_ENTRIES = 40;

/** Vector i of device d: 480 distinct (vCPU, vector) targets, reused every 480 routes. */
function targetFor(index: number): { vcpu: number; vector: number } {
  const k = index % 480;
  return { vcpu: k % 2, vector: 16 + Math.floor(k / 2) };
}

function signalAllOnce(rig: Rig<KvmFaultKernel>, routes: readonly KvmIrqFdRoute[]): void {
  // Groups of 480 routes have distinct targets, so each landed signal is one IRR bit.
  for (let start = 0; start < routes.length; start += 480) {
    const group = routes.slice(start, start + 480);
    const before = rig.kernel.model.bus.apics.map((a) => a.accepted);
    for (const r of group) r.event.signal();
    const irr = rig.takeIrr(); // also fails if any vector was injected twice
    const expected = group.map((r) => {
      const t = targetOf(r.msi!);
      return [t.vcpu, t.vector] as [number, number];
    });
    expect(irr.sort(cmp)).toEqual(expected.sort(cmp));
    const accepted = rig.kernel.model.bus.apics.reduce((n, a, i) => n + a.accepted - before[i]!, 0);
    expect(accepted).toBe(group.length);
  }
}

describe('overflow: more vectors than kernel routes (KVM model)', () => {
  it('2 x 2048 vectors, all unmasked: each signal lands once, relayed beyond the GSIs; disposing moves relayed routes to the kernel', () => {
    using rig = new Rig(kvmFaultAdapter(), { kernelGsis: KERNEL_ROUTES });
    const irqfd = rig.irqfd;
    expect(irqfd.capabilities.maxKernelRoutes).toBe(KERNEL_ROUTES);
    expect(irqfd.capabilities.maxRoutes).toBeGreaterThanOrEqual(2 * VECTORS_PER_DEVICE);

    // Creating routes costs eventfds only.
    const devices = [0, 1].map(() => Array.from({ length: VECTORS_PER_DEVICE }, () => irqfd.newIrqFdRoute()));
    const all = devices.flat();
    expect(irqfd.gsiCount).toBe(0);
    // Two devices of VECTORS_PER_DEVICE routes, each eventfd open as two numbers (its own and the `event.fd` duplicate).
    expect(rig.kernel.model.openEventFds).toBe(2 * 2 * VECTORS_PER_DEVICE);

    // The guest programs and unmasks every vector (one batch per device, as an MSI-X table write burst).
    const commits = irqfd.commitCount;
    devices.forEach((routes, d) =>
      irqfd.batch(() =>
        routes.forEach((r, i) => {
          const m = msiFor(targetFor(d * VECTORS_PER_DEVICE + i));
          r.setMsi(m.addressLo, m.data);
          r.unmask();
        }),
      ),
    );
    expect(irqfd.commitCount - commits).toBe(1); // the second device found no GSI: nothing to commit for it
    expect(rig.kernel.model.hazards).toEqual([]);
    const kernel = all.filter((r) => r.mediation === 'kernel');
    const relayed = all.filter((r) => r.mediation === 'emulated');
    expect(kernel.length).toBe(KERNEL_ROUTES);
    expect(relayed.length).toBe(2 * VECTORS_PER_DEVICE - KERNEL_ROUTES);
    expect(irqfd.overflowCount).toBe(relayed.length);
    expect(rig.kernel.model.msiRoutes().size).toBe(KERNEL_ROUTES);
    for (const r of kernel) expect(rig.kernel.model.irqfdGsi(r.event.ownFd())).toBe(r.gsi);
    for (const r of relayed) expect(rig.kernel.model.irqfdGsi(r.event.ownFd())).toBeUndefined();
    expect(rig.kernel.platform!.watchedCount).toBe(relayed.length);

    signalAllOnce(rig, all);
    const relayedDeliveries = rig.kernel.platform!.deliveries;
    expect(relayedDeliveries).toBe(relayed.length);

    // A relayed route masked with a latched signal: unmasking it later (on the kernel path) delivers once.
    const parked = relayed[relayed.length - 1]!;
    parked.mask();
    parked.event.signal();
    expect(rig.takeIrr()).toEqual([]);

    // The device goes away for 100 kernel vectors: their GSIs free up and relayed routes move onto them.
    const gone = kernel.slice(0, 100 > kernel.length ? kernel.length : 100);
    irqfd.batch(() => gone.forEach((r) => r.dispose()));
    expect(rig.kernel.model.hazards).toEqual([]);
    const live = all.filter((r) => !r.disposed);
    const nowKernel = live.filter((r) => r.mediation === 'kernel');
    expect(nowKernel.length).toBe(KERNEL_ROUTES);
    expect(irqfd.gsiCount).toBe(KERNEL_ROUTES);
    const moved = relayed.filter((r) => r.mediation === 'kernel');
    expect(moved.length).toBe(gone.length);
    for (const r of moved) {
      expect(rig.kernel.model.irqfdGsi(r.event.ownFd())).toBe(r.gsi);
      expect(rig.kernel.model.msiRoutes().get(r.gsi!)).toEqual(r.msi);
    }
    expect(rig.kernel.platform!.watchedCount).toBe(live.filter((r) => r.mediation === 'emulated' && !r.masked).length);

    // Nothing was delivered by the move, and every live route still delivers exactly once.
    expect(rig.takeIrr()).toEqual([]);
    signalAllOnce(rig, live.filter((r) => r !== parked));
    parked.unmask();
    const t = targetOf(parked.msi!);
    expect(rig.takeIrr()).toEqual([[t.vcpu, t.vector]]);
    expect(parked.consumePending()).toBe(false);

    // Disposing everything returns every GSI and eventfd.
    irqfd.batch(() => live.forEach((r) => r.dispose()));
    expect({ gsis: irqfd.gsiCount, eventfds: rig.kernel.model.openEventFds, table: rig.kernel.model.msiRoutes().size, relayed: irqfd.overflowCount }).toEqual({
      gsis: 0,
      eventfds: 0,
      table: 0,
      relayed: 0,
    });
    expect(rig.kernel.platform!.watchedCount).toBe(0);
    expect(rig.kernel.model.hazards).toEqual([]);
  });

  it('a route takes its GSI at its first MSI and gives it back once a committed table no longer holds it', () => {
    using rig = new Rig(kvmFaultAdapter());
    const r = rig.irqfd.newIrqFdRoute();
    expect({ gsi: r.gsi, gsis: rig.irqfd.gsiCount }).toEqual({ gsi: undefined, gsis: 0 });
    const m = msiFor({ vcpu: 1, vector: 0x61 });
    r.setMsi(m.addressLo, m.data);
    expect({ gsi: r.gsi, gsis: rig.irqfd.gsiCount, kernel: rig.kernel.model.msiRoutes().get(24) }).toEqual({ gsi: 24, gsis: 1, kernel: m });
    r.clearMsi();
    expect({ gsi: r.gsi, gsis: rig.irqfd.gsiCount, kernel: rig.kernel.model.msiRoutes().size }).toEqual({ gsi: undefined, gsis: 0, kernel: 0 });
    r.setMsi(m.addressLo, m.data);
    r.dispose();
    expect({ gsis: rig.irqfd.gsiCount, kernel: rig.kernel.model.msiRoutes().size }).toEqual({ gsis: 0, kernel: 0 });
  });

  it('without an overflow path, arming a route that found no GSI is an EXHAUSTED error that says why; the route stays as it was', () => {
    using rig = new Rig(kvmFaultAdapter());
    // An engine of its own on the model VM, built without an overflow relay, with one GSI.
    const engine = new KvmIrqFd({
      backend: kvmIrqFdBackend({
        sys: rig.sys,
        vmFd: rig.kernel.partition.vmFd,
        maxEntries: LEGACY_ENTRIES + 1,
        policy: rig.kernel.partition.msiPolicy,
        inject: () => true,
        workerInjector: kvmRelayInjector(rig.kernel.partition.vmFd),
      }),
      sys: rig.sys,
    });
    try {
      const a = engine.newIrqFdRoute();
      const b = engine.newIrqFdRoute();
      const m = msiFor({ vcpu: 0, vector: 0x70 });
      a.setMsi(m.addressLo, m.data);
      a.unmask();
      b.setMsi(m.addressLo, m.data + 1);
      expect({ gsi: b.gsi, mediation: b.mediation }).toEqual({ gsi: undefined, mediation: 'emulated' });
      expect(() => b.unmask()).toThrow(expect.objectContaining({ code: 'EXHAUSTED', message: expect.stringMatching(/every GSI is in use/) }));
      expect({ masked: b.masked, fault: b.fault }).toEqual({ masked: true, fault: undefined });
      b.event.signal();
      expect(rig.takeIrr()).toEqual([]);
      expect(b.consumePending()).toBe(true);
      a.dispose(); // frees the GSI: b takes it at its next change
      b.unmask();
      expect({ gsi: b.gsi, mediation: b.mediation, assignedOn: rig.kernel.model.irqfdGsi(b.event.ownFd()) }).toEqual({ gsi: 24, mediation: 'kernel', assignedOn: 24 });
      expect(rig.kernel.model.hazards).toEqual([]);
    } finally {
      engine.disposeAll();
    }
  });
});

function cmp(a: [number, number], b: [number, number]): number {
  return a[0] - b[0] || a[1] - b[1];
}
