/**
 * More vectors than the kernel has GSIs: two devices of 2048 MSI-X vectors each on one partition,
 * every vector programmed and unmasked. The first routes get GSIs, the rest are delivered by the
 * overflow relay (on a device its epoll worker with KVM_SIGNAL_MSI, on the model the model's
 * waiter); every signal lands exactly once on the right vCPU, read back from the local APIC.
 * Disposing kernel routes frees GSIs, and relayed routes move onto them without losing or doubling
 * a signal. Run with the kernel's own GSIs (KVM's 4096 routes less the 40 legacy entries: few
 * relayed routes) and with 64 (most relayed).
 *
 * Then a signal in flight on a relayed route, with a waiter that runs only when the test pumps it:
 * it goes to the message it was raised under, whatever changed before the waiter reached it.
 */
import { type Event, encodeMsi } from '@tsvmm/virt';
import { type RawInjector, type RelayPlatform, type RelayRouteTable } from '@tsvmm/virt/implement';
import { type EventFd, IrqFdEngine } from '@tsvmm/linux-sys';
import { type KvmIrqFd, type KvmIrqFdRoute, type KvmPartition } from '../src';
import { kvmIrqFdBackend, kvmRelayInjector } from '../src/implement';
import { LEGACY_ROUTES } from '../src/gsi-routing';
import { DESCRIPTORS_PER_ROUTE, type KvmTarget, byVcpuThenVector, describeOnTargets, msiTo } from './support/targets';

const VECTORS_PER_DEVICE = 2048;

/** Vector i of device d: 480 distinct (vCPU, vector) targets, reused every 480 routes. */
function targetFor(index: number): { vcpu: number; vector: number } {
  const k = index % 480;
  return { vcpu: k % 2, vector: 16 + Math.floor(k / 2) };
}

async function signalAllOnce(target: KvmTarget, p: KvmPartition, routes: ReadonlyArray<{ route: KvmIrqFdRoute; index: number }>): Promise<void> {
  const irqfd = p.irqfd() as KvmIrqFd;
  // Groups of 480 routes have distinct (vCPU, vector) targets: each signal is one IRR bit.
  for (let start = 0; start < routes.length; start += 480) {
    const group = routes.slice(start, start + 480);
    for (const { route } of group) route.event.signal();
    await irqfd.settle();
    const expected = group.map(({ index }) => [targetFor(index).vcpu, targetFor(index).vector] as [number, number]);
    expect(target.takeIrr(p).sort(byVcpuThenVector)).toEqual(expected.sort(byVcpuThenVector));
  }
}

describeOnTargets('overflow: more vectors than kernel routes', (target) => {
  for (const gsis of [undefined, 64]) {
    it(`2 x 2048 vectors, all unmasked, ${gsis === undefined ? "the kernel's own GSIs" : `${gsis} GSIs`}: each signal lands once, relayed beyond the GSIs; disposing moves relayed routes to the kernel`, async () => {
      const baseline = target.openFdCount();
      const p = target.create(gsis === undefined ? {} : { kernelGsis: gsis });
      try {
        const irqfd = p.irqfd() as KvmIrqFd;
        const kernelRoutes = irqfd.capabilities.maxKernelRoutes!;
        expect(kernelRoutes).toBe(gsis ?? p.extensions.irqRouting - LEGACY_ROUTES.length);
        expect(2 * VECTORS_PER_DEVICE).toBeGreaterThan(kernelRoutes);
        expect(irqfd.capabilities.maxRoutes).toBeGreaterThanOrEqual(2 * VECTORS_PER_DEVICE);
        // Only the model's kernel (its table, irqfds, hazards) and its relay's waiter can be read back.
        const model = target.real ? undefined : target.modelOf(p);

        // Creating routes costs descriptors only.
        const fds = target.openFdCount();
        const devices = [0, 1].map((d) => Array.from({ length: VECTORS_PER_DEVICE }, (_, i) => ({ route: irqfd.newIrqFdRoute(), index: d * VECTORS_PER_DEVICE + i })));
        const all = devices.flat();
        expect({ gsis: irqfd.gsiCount, fds: target.openFdCount() - fds }).toEqual({ gsis: 0, fds: DESCRIPTORS_PER_ROUTE * 2 * VECTORS_PER_DEVICE });

        // The guest programs and unmasks every vector (one batch per device, as an MSI-X table write burst).
        const commits = irqfd.commitCount;
        for (const routes of devices) {
          irqfd.batch(() =>
            routes.forEach(({ route, index }) => {
              const m = msiTo(targetFor(index).vcpu, targetFor(index).vector);
              route.setMsi(m.address, m.data);
              route.unmask();
            }),
          );
        }
        // One commit per device that found a GSI: a device that found none has nothing to commit.
        expect(irqfd.commitCount - commits).toBe(kernelRoutes > VECTORS_PER_DEVICE ? 2 : 1);
        const kernel = all.filter(({ route }) => route.mediation === 'kernel');
        const relayed = all.filter(({ route }) => route.mediation === 'emulated');
        expect({ kernel: kernel.length, relayed: relayed.length, overflow: irqfd.overflowCount }).toEqual({
          kernel: kernelRoutes,
          relayed: 2 * VECTORS_PER_DEVICE - kernelRoutes,
          overflow: 2 * VECTORS_PER_DEVICE - kernelRoutes,
        });
        expect(irqfd.table.kernelRoutes().size).toBe(kernelRoutes);
        if (model) {
          expect(model.hazards).toEqual([]);
          expect(model.msiRoutes().size).toBe(kernelRoutes);
          for (const { route } of kernel) expect(model.irqfdGsi(route.event.ownFd())).toBe(route.gsi);
          for (const { route } of relayed) expect(model.irqfdGsi(route.event.ownFd())).toBeUndefined();
          expect(target.relayOf(p)!.watchedCount).toBe(relayed.length);
        }

        await signalAllOnce(target, p, all);
        if (model) expect(target.relayOf(p)!.deliveries).toBe(relayed.length);

        // A relayed route masked with a latched signal: unmasking it later (wherever it is routed then) delivers once.
        const parked = relayed[relayed.length - 1]!.route;
        parked.mask();
        parked.event.signal();
        await irqfd.settle();
        expect(target.takeIrr(p)).toEqual([]);

        // The device goes away for 100 kernel vectors: their GSIs free up and relayed routes move onto them.
        const gone = kernel.slice(0, Math.min(100, kernel.length));
        irqfd.batch(() => gone.forEach(({ route }) => route.dispose()));
        const live = all.filter(({ route }) => !route.disposed);
        const nowKernel = live.filter(({ route }) => route.mediation === 'kernel');
        const moved = relayed.filter(({ route }) => route.mediation === 'kernel');
        // Every freed GSI is taken while relayed routes are left to take them.
        expect({ moved: moved.length, kernel: nowKernel.length, gsis: irqfd.gsiCount }).toEqual({
          moved: Math.min(gone.length, relayed.length),
          kernel: Math.min(kernelRoutes, live.length),
          gsis: Math.min(kernelRoutes, live.length),
        });
        if (model) {
          expect(model.hazards).toEqual([]);
          for (const { route } of moved) {
            // A masked route holds its GSI with its irqfd deassigned.
            expect(model.irqfdGsi(route.event.ownFd())).toBe(route.masked ? undefined : route.gsi);
            expect(model.msiRoutes().get(route.gsi!)).toEqual(route.msi);
          }
          expect(target.relayOf(p)!.watchedCount).toBe(live.filter(({ route }) => route.mediation === 'emulated' && !route.masked).length);
        }

        // Nothing was delivered by the move, and every live route still delivers exactly once.
        await irqfd.settle();
        expect(target.takeIrr(p)).toEqual([]);
        await signalAllOnce(
          target,
          p,
          live.filter(({ route }) => route !== parked),
        );
        parked.unmask();
        await irqfd.settle();
        const t = targetFor(relayed[relayed.length - 1]!.index);
        expect(target.takeIrr(p)).toEqual([[t.vcpu, t.vector]]);
        expect(parked.consumePending()).toBe(false);

        // Disposing everything returns every GSI and descriptor.
        irqfd.batch(() => live.forEach(({ route }) => route.dispose()));
        expect({ gsis: irqfd.gsiCount, routes: irqfd.routeCount, relayed: irqfd.overflowCount }).toEqual({ gsis: 0, routes: 0, relayed: 0 });
        if (model) {
          expect({ eventfds: model.openEventFds, table: model.msiRoutes().size, watched: target.relayOf(p)!.watchedCount, hazards: model.hazards }).toEqual({
            eventfds: 0,
            table: 0,
            watched: 0,
            hazards: [],
          });
        }
      } finally {
        p.dispose();
        await p.whenClosed();
      }
      expect(target.openFdCount()).toBe(baseline);
    });
  }

  it('without an overflow path, arming a route that found no GSI is an EXHAUSTED error that says why; the route stays as it was', () => {
    using p = target.create();
    const sys = target.sysOf(p);
    // An engine of its own on the partition's VM, built without an overflow relay, with one GSI.
    const engine = new IrqFdEngine({
      backend: kvmIrqFdBackend({
        sys,
        vmFd: p.vmFd,
        maxEntries: LEGACY_ROUTES.length + 1,
        policy: p.msiPolicy,
        inject: () => true,
        workerInjector: kvmRelayInjector(p.vmFd),
      }),
      sys,
    });
    try {
      const a = engine.newIrqFdRoute();
      const b = engine.newIrqFdRoute();
      const m = msiTo(0, 0x70);
      a.setMsi(m.address, m.data);
      a.unmask();
      b.setMsi(m.address, m.data + 1);
      expect({ gsi: b.gsi, mediation: b.mediation }).toEqual({ gsi: undefined, mediation: 'emulated' });
      expect(() => b.unmask()).toThrow(expect.objectContaining({ code: 'EXHAUSTED', message: expect.stringMatching(/every GSI is in use/) }));
      expect({ masked: b.masked, fault: b.fault }).toEqual({ masked: true, fault: undefined });
      b.event.signal();
      expect(target.takeIrr(p)).toEqual([]);
      expect(b.consumePending()).toBe(true);
      a.dispose(); // frees the GSI: b takes it at its next change
      b.unmask();
      expect({ gsi: b.gsi, mediation: b.mediation }).toEqual({ gsi: 24, mediation: 'kernel' });
      // Which GSI the kernel has b's irqfd on, and its hazards, can be read back on the model only.
      if (!target.real) {
        expect(target.modelOf(p).irqfdGsi(b.event.ownFd())).toBe(24);
        expect(target.modelOf(p).hazards).toEqual([]);
      }
      b.event.signal();
      expect(target.takeIrr(p)).toEqual([[0, 0x71]]);
    } finally {
      engine.dispose();
    }
  });
});

/** The overflow relay's waiter, deferred: it delivers only when pumped. */
class DeferredWaiter implements RelayPlatform {
  readonly name = 'deferred test waiter';
  private readonly events = new Map<number, EventFd>();
  constructor(
    private readonly table: RelayRouteTable,
    private readonly inject: RawInjector,
  ) {}
  createEvent(): Event {
    throw new Error('the overflow relay uses the route’s own eventfd');
  }
  watch(slot: number, event: Event): void {
    this.events.set(slot, event as EventFd);
  }
  unwatch(slot: number): void {
    this.events.delete(slot);
  }
  pump(): void {
    for (const [slot, e] of this.events) this.table.deliver(slot, () => e.consume(), this.inject);
  }
  settle(): Promise<void> {
    this.pump();
    return Promise.resolve();
  }
  dispose(): void {
    this.events.clear();
  }
  whenClosed(): Promise<void> {
    return Promise.resolve();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}

const A = encodeMsi({ destinationId: 0, vector: 0x51 });
const B = encodeMsi({ destinationId: 1, vector: 0x62 });

describeOnTargets('overflow route: a signal in flight goes to the message it was raised under', (target) => {
  function rig() {
    let waiter: DeferredWaiter | undefined;
    const inject: RawInjector = (lo, _hi, d) => vm.requestMsi(lo, d);
    // 40 legacy entries + 1: one GSI for MSI routes, so the second route with an MSI overflows.
    const vm = target.create({ routingEntries: LEGACY_ROUTES.length + 1, relayPlatform: (t) => (waiter = new DeferredWaiter(t, inject)) });
    const irqfd = vm.irqfd()!;
    const kernelRoute = irqfd.newIrqFdRoute();
    kernelRoute.setMsi(0xfee00000, 0x40);
    const r = irqfd.newIrqFdRoute();
    r.setMsi(A.addressLo, A.data);
    r.unmask();
    expect(r.mediation).toBe('emulated');
    return { vm, r, waiter: () => waiter! };
  }

  it('the waiter delivers to A while nothing changes (the deferred waiter works)', () => {
    const { vm, r, waiter } = rig();
    r.event.signal();
    expect(target.takeIrr(vm)).toEqual([]);
    waiter().pump();
    expect(target.takeIrr(vm)).toEqual([[0, 0x51]]);
    vm.dispose();
  });

  it.each([
    ['setMsi(B)', (r: { setMsi(a: number, d: number): void }) => r.setMsi(B.addressLo, B.data)],
    ['mask()', (r: { mask(): void }) => r.mask()],
    ['clearMsi()', (r: { clearMsi(): void }) => r.clearMsi()],
    ['dispose()', (r: { dispose(): void }) => r.dispose()],
  ] as const)('%s after the signal, before the waiter reaches it: delivered once, to A', (_name, change) => {
    const { vm, r, waiter } = rig();
    r.event.signal();
    change(r);
    waiter().pump();
    expect(target.takeIrr(vm)).toEqual([[0, 0x51]]);
    if (!r.disposed) expect(r.consumePending()).toBe(false);
    vm.dispose();
  });

  it('after setMsi(B), the next signal goes to B', () => {
    const { vm, r, waiter } = rig();
    r.event.signal();
    r.setMsi(B.addressLo, B.data);
    waiter().pump();
    expect(target.takeIrr(vm)).toEqual([[0, 0x51]]);
    r.event.signal();
    waiter().pump();
    expect(target.takeIrr(vm)).toEqual([[1, 0x62]]);
    vm.dispose();
  });
});
