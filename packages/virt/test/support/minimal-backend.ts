/**
 * A minimal backend built from the contract package alone: the relay on the in-process platform,
 * delivering into the shared APIC bus model. The suite's self-tests break it one rule at a time.
 */
import { type Event, type IrqFd, type LocalApicAccess, type MsiPolicy, type Partition } from '../../src';
import { RelayIrqFd, disposedError, exhaustedError, partitionCapabilities, InProcessRelayPlatform } from '../../src/implement';
import { ApicBus } from '../../src/testing';
import { busPartition } from './bus-partition';
import { ForwardingRoute } from './forwarding-route';

export interface MinimalOptions {
  readonly apicIds?: readonly number[];
  readonly x2apic?: boolean;
  readonly maxRoutes?: number;
  /** Breaks x2APIC delivery: the upper address is dropped on the way to the bus. */
  readonly dropAddressHi?: boolean;
  /** Breaks the x2APIC broadcast rule: 0xFF is taken as a broadcast with 32-bit IDs. */
  readonly broadcastQuirk?: boolean;
  /** Breaks limits: the policy names no maxApicId, so unreachable destinations are accepted. */
  readonly noLimit?: boolean;
}

export function minimalPartition(options: MinimalOptions = {}): Partition & LocalApicAccess {
  const apicIds = options.apicIds ?? [0, 1];
  const x2apic = options.x2apic ?? false;
  const bus = new ApicBus({ apicIds, x2apic });
  const maxApicId = x2apic ? 0xffff : 0xfe;
  const policy: MsiPolicy = {
    addressHi: x2apic ? 'x2apic-ids' : 'reject',
    backend: 'minimal',
    ...(options.noLimit ? {} : { maxApicId }),
    ...(x2apic ? { extendedDestinationId: 'translate' as const } : {}),
  };
  let disposed = false;
  const inject = (lo: number, hi: number, data: number): boolean => {
    if (disposed) return false;
    if (options.dropAddressHi) hi = 0;
    if (options.broadcastQuirk && ((lo >>> 12) & 0xff) === 0xff && hi === 0) hi = 0xffffff00;
    return bus.deliver(lo, hi, data);
  };
  const irqfd = new RelayIrqFd({ backend: 'minimal', maxRoutes: options.maxRoutes ?? 32, policy, inject, platform: (t) => new InProcessRelayPlatform(t, inject), reason: 'minimal test backend' });
  const capabilities = partitionCapabilities(irqfd, { backend: 'minimal', irqfdReason: 'in-process relay', resample: false, x2apic, maxApicId, maxVcpus: apicIds.length });
  const dispose = (): void => {
    if (disposed) return;
    disposed = true;
    irqfd.dispose();
  };
  return busPartition({ backend: 'minimal', bus, vcpuCount: apicIds.length, policy, irqfd, capabilities, inject, isDisposed: () => disposed, dispose });
}

export interface ReplacingBreakage {
  /** Replaces the event without telling listeners. */
  readonly silent?: boolean;
  /** Drops a signal latched in the old event instead of carrying it over. */
  readonly loseLatched?: boolean;
  /** Leaves the old route alive (its event keeps delivering). */
  readonly keepOld?: boolean;
  /** Declares stableEvent false but never replaces. */
  readonly never?: boolean;
}

/**
 * A route that re-creates its event on every setMsi, mask and unmask (as a WHP backend without
 * in-place update does): the old route's latched signal is carried over, the old route disposed,
 * listeners told.
 */
class ReplacingRoute extends ForwardingRoute {
  private readonly listeners = new Set<(e: Event) => void>();
  constructor(
    private readonly source: IrqFd,
    private readonly broken: ReplacingBreakage,
  ) {
    super(source.newIrqFdRoute());
  }
  override setMsi(address: number | bigint, data: number): void {
    this.inner.setMsi(address, data);
    this.replace();
  }
  override mask(): void {
    this.inner.mask();
    this.replace();
  }
  override unmask(): void {
    // Re-create first (masked), then unmask the new route: its latched signal is delivered once.
    this.replace();
    this.inner.unmask();
  }
  override onEventReplaced(listener: (event: Event) => void): () => void {
    if (this.inner.disposed) throw disposedError('IrqFdRoute.onEventReplaced', 'the irqfd route');
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  private replace(): void {
    if (this.inner.disposed) throw disposedError('IrqFdRoute', 'the irqfd route');
    if (this.broken.never) return;
    const old = this.inner;
    const fresh = this.source.newIrqFdRoute();
    const latched = !old.masked && old.msi ? false : old.consumePending();
    if (!this.broken.keepOld) old.dispose();
    if (latched && !this.broken.loseLatched) fresh.event.signal();
    if (old.msi) fresh.setMsi(BigInt(old.msi.addressLo) | (BigInt(old.msi.addressHi) << 32n), old.msi.data);
    if (!old.masked) fresh.unmask();
    this.inner = fresh;
    if (!this.broken.silent) for (const l of this.listeners) l(fresh.event);
  }
}

/** The minimal partition whose routes replace their event (`stableEvent: false`). */
export function replacingPartition(broken: ReplacingBreakage = {}): Partition & LocalApicAccess {
  const base = minimalPartition({ maxRoutes: 64 });
  const inner = base.irqfd()!;
  // One slot stays spare: a replacement creates the new route before it disposes the old one.
  const maxRoutes = inner.capabilities.maxRoutes - 1;
  const irqfd: IrqFd = {
    capabilities: Object.freeze({ ...inner.capabilities, stableEvent: false, maxRoutes }),
    get routeCount() {
      return inner.routeCount;
    },
    get commitCount() {
      return 0;
    },
    newIrqFdRoute: () => {
      if (base.disposed) throw disposedError('IrqFd.newIrqFdRoute', 'the minimal partition');
      if (inner.routeCount >= maxRoutes) throw exhaustedError('IrqFd.newIrqFdRoute', 'irqfd routes', maxRoutes);
      return new ReplacingRoute(inner, broken);
    },
    batch: (fn) => inner.batch(fn),
    settle: () => Promise.resolve(),
  };
  return Object.assign(Object.create(base) as Partition & LocalApicAccess, { irqfd: () => irqfd, capabilities: base.capabilities });
}
