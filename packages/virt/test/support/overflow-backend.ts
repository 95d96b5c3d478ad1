/**
 * A minimal backend with overflow, built from the contract package alone: `kernelRoutes` routes
 * are "kernel" routes (delivered inside `signal()`, as a kernel irqfd injects inside the eventfd
 * write), the routes beyond them are relayed by a waiter that runs only in `settle()` (so a signal
 * on a relayed route stays in flight until then), and a freed kernel route moves the first
 * waiting relayed route to the kernel. The route state machine is the relay's (`RelayIrqFd`); what
 * this adds is the kernel/relayed split, per route. The suite's self-tests break it one rule at a
 * time.
 */
import { type Event, type IrqFd, type IrqFdMediation, type IrqFdRoute, type LocalApicAccess, type MsiMessage, type MsiPolicy, type Partition } from '../../src';
import { type RawInjector, type RelayPlatform, RelayIrqFd, type RelayRouteTable, partitionCapabilities, InProcessEvent } from '../../src/implement';
import { ApicBus } from '../../src/testing';
import { busPartition } from './bus-partition';
import { ForwardingRoute } from './forwarding-route';

/** One overflow rule broken on purpose. */
export interface OverflowBreakage {
  /** The waiter keeps delivering a relayed route to the message it had when it overflowed. */
  readonly staleMessage?: boolean;
  /** A freed kernel route is never given to a relayed route. */
  readonly neverPromote?: boolean;
  /** Relayed routes report `kernel`. */
  readonly reportsKernel?: boolean;
  /** A signal in flight on a relayed route is dropped when the route moves to the kernel. */
  readonly dropInFlightAtPromotion?: boolean;
  /** The move delivers a signal in flight, and the waiter, which had already read it, delivers it again. */
  readonly doubleAtPromotion?: boolean;
  /** The waiter ignores the mask of a relayed route. */
  readonly relayIgnoresMask?: boolean;
}

export interface OverflowOptions {
  readonly kernelRoutes: number;
  readonly maxRoutes?: number;
  readonly broken?: OverflowBreakage;
}

/**
 * The relay platform of the overflow backend: events of kernel routes deliver inside `signal()`,
 * events of relayed routes wait for `settle()`.
 */
class SplitPlatform implements RelayPlatform {
  readonly name = 'in-process, relayed routes delivered in settle()';
  private readonly watched = new Map<InProcessEvent, number>();
  /** Relayed events, with the message they overflowed with. */
  private readonly relayed = new Map<InProcessEvent, MsiMessage>();
  /** Messages a waiter read before a move and delivers after it (doubleAtPromotion). */
  private readonly replay: MsiMessage[] = [];
  /** Kernel-like deliveries wired on events now, each with what removes it. */
  private readonly wired = new Map<InProcessEvent, () => void>();

  constructor(
    private readonly table: RelayRouteTable,
    private readonly inject: RawInjector,
    private readonly broken: OverflowBreakage,
  ) {}

  createEvent(): Event {
    return new InProcessEvent();
  }

  watch(slot: number, event: Event): void {
    const e = event as InProcessEvent;
    this.watched.set(e, slot);
    this.wire(e);
  }

  unwatch(_slot: number, event: Event): void {
    const e = event as InProcessEvent;
    this.unwire(e);
    if (!(this.broken.relayIgnoresMask && this.relayed.has(e))) this.watched.delete(e);
  }

  /** The route of `event` overflowed with `msi`: its signals wait for the waiter. */
  relay(event: Event, msi: MsiMessage): void {
    const e = event as InProcessEvent;
    this.relayed.set(e, msi);
    this.wire(e);
  }

  /** The route of `event` moved to the kernel: a signal in flight is delivered now, then inside `signal()`. */
  promote(event: Event): void {
    const e = event as InProcessEvent;
    const slot = this.watched.get(e);
    if (slot !== undefined) {
      if (this.broken.dropInFlightAtPromotion) e.consume();
      else if (this.broken.doubleAtPromotion && e.consume() > 0) {
        const msi = this.relayed.get(e)!;
        this.inject(msi.addressLo, msi.addressHi, msi.data);
        this.replay.push(msi);
      } else this.table.deliver(slot, () => e.consume(), this.inject);
    }
    this.relayed.delete(e);
    this.wire(e);
  }

  /** The route of `event` is gone or has no MSI: it is no longer relayed. */
  forget(event: Event): void {
    this.relayed.delete(event as InProcessEvent);
    this.watched.delete(event as InProcessEvent);
  }

  /** The waiter: delivers what is in flight on every watched relayed route. */
  settle(): Promise<void> {
    for (const msi of this.replay.splice(0)) this.inject(msi.addressLo, msi.addressHi, msi.data);
    for (const [e, slot] of this.watched) {
      const overflowed = this.relayed.get(e);
      if (overflowed === undefined || e.disposed) continue;
      if (this.broken.staleMessage || this.broken.relayIgnoresMask) {
        if (e.consume() > 0) this.inject(overflowed.addressLo, overflowed.addressHi, overflowed.data);
      } else this.table.deliver(slot, () => e.consume(), this.inject);
    }
    return Promise.resolve();
  }

  dispose(): void {
    for (const e of [...this.wired.keys()]) this.unwire(e);
    this.watched.clear();
    this.relayed.clear();
  }

  whenClosed(): Promise<void> {
    return Promise.resolve();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  private wire(e: InProcessEvent): void {
    const slot = this.watched.get(e);
    if (slot === undefined) return;
    this.unwire(e);
    if (!this.relayed.has(e)) this.wired.set(e, e.onSignal(() => void this.table.deliver(slot, () => e.consume(), this.inject)));
  }

  private unwire(e: InProcessEvent): void {
    this.wired.get(e)?.();
    this.wired.delete(e);
  }
}

/** Kernel routes in use and the relayed routes waiting for one, in the order they overflowed. */
class KernelRoutes {
  free: number;
  readonly waiting: OverflowRoute[] = [];
  constructor(
    limit: number,
    readonly platform: SplitPlatform,
    readonly broken: OverflowBreakage,
  ) {
    this.free = limit;
  }

  /** A route got its first MSI: a kernel route if one is free, else relayed. */
  take(route: OverflowRoute, msi: MsiMessage): boolean {
    if (this.free > 0) {
      this.free--;
      return true;
    }
    this.waiting.push(route);
    this.platform.relay(route.event, msi);
    return false;
  }

  /** A route lost its MSI or was disposed. */
  release(route: OverflowRoute, kernel: boolean): void {
    if (!kernel) {
      const i = this.waiting.indexOf(route);
      if (i >= 0) this.waiting.splice(i, 1);
      this.platform.forget(route.event);
      return;
    }
    this.free++;
    if (this.broken.neverPromote) return;
    const next = this.waiting.shift();
    if (next === undefined) return;
    this.free--;
    next.moveToKernel();
  }
}

class OverflowRoute extends ForwardingRoute {
  private holds: 'none' | 'kernel' | 'relayed' = 'none';

  constructor(
    inner: IrqFdRoute,
    private readonly kernel: KernelRoutes,
  ) {
    super(inner);
  }

  override get mediation(): IrqFdMediation {
    return this.holds === 'relayed' && !this.kernel.broken.reportsKernel ? 'emulated' : 'kernel';
  }
  override setMsi(address: number | bigint, data: number): void {
    this.inner.setMsi(address, data);
    if (this.holds === 'none') this.holds = this.kernel.take(this, this.inner.msi!) ? 'kernel' : 'relayed';
  }
  override clearMsi(): void {
    this.inner.clearMsi();
    this.release();
  }
  override dispose(): void {
    if (this.inner.disposed) return;
    this.inner.dispose();
    this.release();
  }
  moveToKernel(): void {
    this.holds = 'kernel';
    this.kernel.platform.promote(this.event);
  }
  private release(): void {
    const held = this.holds;
    this.holds = 'none';
    if (held !== 'none') this.kernel.release(this, held === 'kernel');
  }
}

/** The minimal partition with `kernelRoutes` kernel routes and the rest relayed. */
export function overflowPartition(options: OverflowOptions): Partition & LocalApicAccess {
  const broken = options.broken ?? {};
  const bus = new ApicBus({ apicIds: [0, 1], x2apic: false });
  const policy: MsiPolicy = { addressHi: 'reject', backend: 'overflow' };
  let disposed = false;
  const inject = (lo: number, hi: number, data: number): boolean => !disposed && bus.deliver(lo, hi, data);
  let platform: SplitPlatform | undefined;
  const relay = new RelayIrqFd({
    backend: 'overflow',
    maxRoutes: options.maxRoutes ?? 32,
    policy,
    inject,
    platform: (t) => (platform = new SplitPlatform(t, inject, broken)),
    reason: 'minimal overflow test backend',
  });
  const kernel = new KernelRoutes(options.kernelRoutes, platform!, broken);
  const irqfd: IrqFd = {
    capabilities: Object.freeze({
      mediation: 'kernel' as const,
      maxRoutes: relay.capabilities.maxRoutes,
      maxKernelRoutes: options.kernelRoutes,
      routingTable: false,
      stableEvent: true,
      mechanism: `${options.kernelRoutes} routes delivered inside signal(), the rest relayed in settle()`,
    }),
    get routeCount() {
      return relay.routeCount;
    },
    get commitCount() {
      return 0;
    },
    newIrqFdRoute: () => new OverflowRoute(relay.newIrqFdRoute(), kernel),
    batch: (fn) => relay.batch(fn),
    settle: () => relay.settle(),
  };
  const capabilities = partitionCapabilities(irqfd, { backend: 'overflow', irqfdReason: '', resample: false, x2apic: false, maxApicId: 0xfe, maxVcpus: 2 });
  const dispose = (): void => {
    if (disposed) return;
    disposed = true;
    relay.dispose();
  };
  return busPartition({ backend: 'overflow', bus, vcpuCount: 2, policy, irqfd, capabilities, inject, isDisposed: () => disposed, dispose });
}
