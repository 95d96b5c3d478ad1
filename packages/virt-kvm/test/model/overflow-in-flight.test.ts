/**
 * Signals in flight on an overflow route: a signal raised while the route was armed with message A
 * is delivered to A, even when the waiter reaches it only after `setMsi(B)`, `mask()`, `clearMsi()`
 * or `dispose()`, as a kernel irqfd would deliver it. Checked on the KVM model with a waiter that
 * runs only when the test pumps it, so the signal is really still in flight at the change.
 */
import { type Event, type RawInjector, type RelayPlatform, type RelayRouteTable, encodeMsi } from '@tsvmm/virt';
import type { EventFd } from '@tsvmm/linux-sys';
import { KvmPartition } from '../../src';
import { KvmKernelModel } from '../../src/testing';

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
  [Symbol.dispose](): void {
    this.dispose();
  }
}

const A = encodeMsi({ destinationId: 0, vector: 0x51 });
const B = encodeMsi({ destinationId: 1, vector: 0x62 });

function rig() {
  const model = new KvmKernelModel({ apicIds: [0, 1], maxRoutes: 41 });
  let waiter: DeferredWaiter | undefined;
  const inject: RawInjector = (lo, _hi, d) => vm.requestMsi(lo, d);
  // 40 legacy entries + 1: one GSI for MSI routes, so the second route with an MSI overflows.
  const vm = KvmPartition.create({ vcpus: 2, sys: model, irqfd: 'kernel', routingEntries: 41, overflow: (t) => (waiter = new DeferredWaiter(t, inject)) });
  const irqfd = vm.irqfd()!;
  const kernelRoute = irqfd.newIrqFdRoute();
  kernelRoute.setMsi(0xfee00000, 0x40);
  const r = irqfd.newIrqFdRoute();
  r.setMsi(A.addressLo, A.data);
  r.unmask();
  expect(r.mediation).toBe('emulated');
  const irr = (): number[][] => [0, 1].map((v) => [...vm.readLocalApic(v).irr]);
  const clear = (): void => [0, 1].forEach((v) => vm.clearIrr(v));
  return { vm, r, waiter: () => waiter!, irr, clear };
}

describe('overflow route: a signal in flight goes to the message it was raised under', () => {
  it('the waiter delivers to A while nothing changes (the deferred waiter works)', () => {
    const { vm, r, waiter, irr } = rig();
    r.event.signal();
    expect(irr()).toEqual([[], []]);
    waiter().pump();
    expect(irr()).toEqual([[0x51], []]);
    vm.dispose();
  });

  it.each([
    ['setMsi(B)', (r: { setMsi(a: number, d: number): void }) => r.setMsi(B.addressLo, B.data)],
    ['mask()', (r: { mask(): void }) => r.mask()],
    ['clearMsi()', (r: { clearMsi(): void }) => r.clearMsi()],
    ['dispose()', (r: { dispose(): void }) => r.dispose()],
  ] as const)('%s after the signal, before the waiter reaches it: delivered once, to A', (_name, change) => {
    const { vm, r, waiter, irr } = rig();
    r.event.signal();
    change(r);
    waiter().pump();
    expect(irr()).toEqual([[0x51], []]);
    if (!r.disposed) expect(r.consumePending()).toBe(false);
    vm.dispose();
  });

  it('after setMsi(B), the next signal goes to B', () => {
    const { vm, r, waiter, irr, clear } = rig();
    r.event.signal();
    r.setMsi(B.addressLo, B.data);
    waiter().pump();
    clear();
    r.event.signal();
    waiter().pump();
    expect(irr()).toEqual([[], [0x62]]);
    vm.dispose();
  });
});
