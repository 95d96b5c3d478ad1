/**
 * More vectors than the kernel has GSIs, on the real /dev/kvm: two devices of 2048 MSI-X vectors
 * each on one partition, every vector programmed and unmasked. The first ~4056 get GSIs (KVM's
 * 4096 routes minus the 40 legacy entries), the rest are delivered by the overflow relay (epoll
 * worker + KVM_SIGNAL_MSI); every signal lands exactly once on the right vCPU, read back from the
 * local APIC. Disposing kernel routes frees GSIs and relayed routes move onto them.
 * The same test runs on the KVM model with a small limit in ./model/overflow.test.ts.
 */
import type { KvmIrqFd, KvmIrqFdRoute, KvmPartition } from '../src';
import { create, describeKvm, msiTo, takeIrr } from './kvm-env';

const VECTORS_PER_DEVICE = 2048;

function targetFor(index: number): { vcpu: number; vector: number } {
  const k = index % 480;
  return { vcpu: k % 2, vector: 16 + Math.floor(k / 2) };
}

async function signalAllOnce(p: KvmPartition, irqfd: KvmIrqFd, routes: ReadonlyArray<{ route: KvmIrqFdRoute; index: number }>): Promise<void> {
  // Groups of 480 routes have distinct (vCPU, vector) targets: each signal is one IRR bit.
  for (let start = 0; start < routes.length; start += 480) {
    const group = routes.slice(start, start + 480);
    for (const { route } of group) route.event.signal();
    await irqfd.settle();
    const expected = group.map(({ index }) => [targetFor(index).vcpu, targetFor(index).vector] as [number, number]);
    expect(takeIrr(p).sort(cmp)).toEqual(expected.sort(cmp));
  }
}

describeKvm('overflow on the real /dev/kvm: 2 x 2048 vectors on one partition', () => {
  it('every vector delivers exactly once, through the kernel up to its GSIs and through the relay beyond; disposing moves relayed routes to the kernel', async () => {
    const p = create();
    try {
      const irqfd = p.irqfd() as KvmIrqFd;
      const kernelRoutes = irqfd.capabilities.maxKernelRoutes!;
      expect(kernelRoutes).toBe(p.extensions.irqRouting - 40);
      expect(2 * VECTORS_PER_DEVICE).toBeGreaterThan(kernelRoutes);
      const devices = [0, 1].map((d) =>
        irqfd.batch(() =>
          Array.from({ length: VECTORS_PER_DEVICE }, (_, i) => {
            const index = d * VECTORS_PER_DEVICE + i;
            const route = irqfd.newIrqFdRoute();
            const t = targetFor(index);
            const m = msiTo(t.vcpu, t.vector);
            route.setMsi(m.address, m.data);
            route.unmask();
            return { route, index };
          }),
        ),
      );
      const all = devices.flat();
      const kernel = all.filter(({ route }) => route.mediation === 'kernel');
      const relayed = all.filter(({ route }) => route.mediation === 'emulated');
      expect(kernel.length).toBe(kernelRoutes);
      expect(relayed.length).toBe(2 * VECTORS_PER_DEVICE - kernelRoutes);
      expect(irqfd.table.kernelRoutes().size).toBe(kernelRoutes);
      await signalAllOnce(p, irqfd, all);

      const gone = kernel.slice(0, 100);
      irqfd.batch(() => gone.forEach(({ route }) => route.dispose()));
      const live = all.filter(({ route }) => !route.disposed);
      expect(live.filter(({ route }) => route.mediation === 'kernel').length).toBe(kernelRoutes);
      expect(relayed.filter(({ route }) => route.mediation === 'kernel').length).toBe(Math.min(100, relayed.length));
      await irqfd.settle();
      expect(takeIrr(p)).toEqual([]);
      await signalAllOnce(p, irqfd, live);

      irqfd.batch(() => live.forEach(({ route }) => route.dispose()));
      expect({ gsis: irqfd.gsiCount, routes: irqfd.routeCount, relayed: irqfd.overflowCount }).toEqual({ gsis: 0, routes: 0, relayed: 0 });
    } finally {
      p.dispose();
      await p.whenClosed();
    }
  });
});

function cmp(a: [number, number], b: [number, number]): number {
  return a[0] - b[0] || a[1] - b[1];
}
