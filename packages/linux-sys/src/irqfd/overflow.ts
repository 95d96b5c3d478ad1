/**
 * The overflow path: routes that need a GSI when every GSI is in use are delivered from user
 * space, through the relay (a waiter sees the route's eventfd become readable and injects the
 * route's MSI with the backend's injector). The relay and its waiter are created at the first
 * overflow, so a partition that never runs out of GSIs never starts a thread.
 *
 * A slot is armed (flags = FLAG_HAS_MSI) exactly while the route is watched; disarming clears the
 * flag under the slot lock before unwatching, so after `disarm` returns no injection for the slot
 * starts and further signals stay in the eventfd for the kernel path to pick up.
 */
import { type Event, type MsiMessage, VirtError } from '@tsvmm/virt';
import { type RawInjector, type RelayPlatform, type RelayPlatformFactory, RelayRouteTable, callRelayPlatform, createRelayPlatform, disposeRelayPlatform, disposedError, settleRelayPlatform, whenRelayPlatformClosed, FLAG_HAS_MSI, FLAG_MASKED } from '@tsvmm/virt/implement';

/**
 * The overflow path of one {@link IrqFdEngine}, exposed as `overflow` for diagnostics: routes that
 * need a GSI when every GSI is in use are delivered from user space by a relay platform, whose
 * waiter injects the route's MSI when its eventfd becomes readable. Slots are the routes' fixed slot numbers; the relay table and platform are created
 * at the first overflow (`arm` or `deliverNow`), which fails with EXHAUSTED when the engine was
 * given no overflow factory.
 */
export class OverflowRelay {
  private table: RelayRouteTable | undefined;
  private platform: RelayPlatform | undefined;
  private isDisposed = false;

  constructor(
    private readonly slots: number,
    private readonly factory: RelayPlatformFactory | undefined,
  ) {}

  /** True once the relay exists (the first overflow happened). */
  get started(): boolean {
    return this.platform !== undefined;
  }

  /** The relay's waiter platform, once started. */
  get relayPlatform(): RelayPlatform | undefined {
    return this.platform;
  }

  /**
   * After dispose: resolves once the relay's waiter thread (if the relay started) has exited. Never
   * rejects: a platform whose `whenClosed` throws or rejects counts as closed.
   */
  whenClosed(): Promise<void> {
    return this.platform === undefined ? Promise.resolve() : whenRelayPlatformClosed(this.platform);
  }

  /** Signals the waiter delivered for `slot` so far (0 before the first overflow). */
  delivered(slot: number): number {
    return this.table?.delivered(slot) ?? 0;
  }

  /** Starts watching `event` for `slot` with `msi`, or retargets a watched slot (under its lock). */
  arm(slot: number, event: Event, msi: MsiMessage, alreadyWatched: boolean): void {
    const table = this.start();
    table.lock(slot);
    table.setMsi(slot, msi.addressLo, msi.addressHi, msi.data);
    table.setFlags(slot, FLAG_HAS_MSI);
    table.unlock(slot);
    if (alreadyWatched) return;
    try {
      callRelayPlatform('IrqFdRoute (arm the overflow relay)', this.platform!, 'watch', slot, event);
    } catch (e) {
      this.clear(slot);
      throw e;
    }
  }

  /** Stops delivery for `slot`: after it returns, no injection for it starts. Throws if the waiter refuses (then the slot stays disarmed but watched). */
  disarm(slot: number, event: Event): void {
    if (!this.table) return;
    this.clear(slot);
    callRelayPlatform('IrqFdRoute (disarm the overflow relay)', this.platform!, 'unwatch', slot, event);
  }

  /**
   * Delivers on the calling thread what `consume` returns, under the slot lock so that it does
   * not race the waiter. Returns the count it could not inject (0 when delivered), so the caller
   * keeps it latched; a throwing `consume` leaves nothing consumed.
   */
  deliverNow(slot: number, consume: () => number, msi: MsiMessage, inject: RawInjector): number {
    const table = this.start();
    table.lock(slot);
    try {
      const n = consume();
      if (n === 0) return 0;
      try {
        inject(msi.addressLo, msi.addressHi, msi.data);
        return 0;
      } catch {
        return n;
      }
    } finally {
      table.unlock(slot);
    }
  }

  /**
   * Resolves once the waiter has handled every signal raised before the call (at once before the
   * first overflow); rejects as the platform's `settle` does when its waiter failed.
   */
  settle(): Promise<void> {
    return this.platform === undefined ? Promise.resolve() : settleRelayPlatform('IrqFd.settle', this.platform);
  }

  /** Disposes the relay platform, if one was started (its waiter stops). Idempotent; never throws. */
  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    if (this.platform !== undefined) disposeRelayPlatform(this.platform);
  }

  private clear(slot: number): void {
    const table = this.table!;
    table.lock(slot);
    table.setFlags(slot, FLAG_MASKED);
    table.unlock(slot);
  }

  private start(): RelayRouteTable {
    if (this.table && this.platform) return this.table;
    if (this.isDisposed) throw disposedError('IrqFdRoute', 'the irqfd');
    if (this.factory === undefined) {
      throw new VirtError('EXHAUSTED', {
        operation: 'IrqFdRoute.setMsi',
        detail: 'every GSI is in use by a route with an MSI, and this irqfd has no overflow path',
        hint: 'Clear the MSI of (or dispose) routes whose vectors are not in use, or create the irqfd with an overflow relay.',
      });
    }
    const table = this.table ?? new RelayRouteTable(this.slots);
    this.table = table;
    this.platform = createRelayPlatform('IrqFdRoute (start the overflow relay)', this.factory, table).platform;
    return table;
  }
}
