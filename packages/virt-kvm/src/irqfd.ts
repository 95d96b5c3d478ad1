/**
 * KVM irqfd routes: KVM_IRQFD binds a route's eventfd to a GSI, the GSI routing table maps the GSI
 * to its MSI, and the kernel injects inside the eventfd write.
 *
 * A route is armed when it has an MSI and is unmasked; exactly the armed routes have their irqfd
 * assigned. Masking deassigns (signals then latch in the eventfd) and unmasking assigns again (the
 * kernel injects a latched signal at once), so no interrupt is lost. An irqfd is never assigned
 * on a GSI without a route: routes are committed before assigns, and deassigns run before the
 * commit that removes a route.
 *
 * Every change runs as a transaction: deassigns happen at once, then one commit, then the
 * assigns. If the commit or an assign fails, every route touched is put back as it was (kernel
 * and memory) and the error is thrown.
 */
import {
  type Event,
  type IrqFd,
  type IrqFdCapabilities,
  type IrqFdRoute,
  type MsiMessage,
  type MsiPolicy,
  type RawInjector,
  SlotAllocator,
  disposedError,
  parseMsi,
  routeEventDisposed,
  sameMsi,
} from '@tsvmm/virt';
import { EBUSY, EventFd, type Syscalls, failure, kvm } from '@tsvmm/linux-sys';
import { FIRST_MSI_GSI, GsiRoutingTable, LEGACY_ROUTES } from './gsi-routing';

export interface KvmIrqFdOptions {
  readonly sys: Syscalls;
  readonly vmFd: number;
  /** Entries the kernel takes in one routing table (KVM_MAX_IRQ_ROUTES). */
  readonly maxEntries: number;
  readonly policy: MsiPolicy;
  /** KVM_SIGNAL_MSI on the VM: delivers a signal latched while the route was not armed. */
  readonly inject: RawInjector;
}

interface Snapshot {
  readonly msi: MsiMessage | undefined;
  readonly masked: boolean;
  readonly assigned: boolean;
}

const BUSY_HINT =
  'The eventfd is already assigned as an irqfd (in this VM or, on newer kernels, any VM). A route owns its event: ' +
  'do not pass route.event.fd to KVM_IRQFD yourself. The route was left as it was.';

export class KvmIrqFd implements IrqFd {
  readonly capabilities: IrqFdCapabilities;
  /** @internal */ readonly sys: Syscalls;
  /** @internal */ readonly policy: MsiPolicy;
  private readonly inject: RawInjector;
  /** The routing table (diagnostics: what the kernel has, GSIs retired). */
  readonly table: GsiRoutingTable;
  private readonly vmFd: number;
  private readonly gsis: SlotAllocator;
  private readonly routes = new Set<KvmIrqFdRoute>();
  private readonly irqfdBytes = new Uint8Array(kvm.KVM_IRQFD_LAYOUT.size);
  private readonly irqfdView = new DataView(this.irqfdBytes.buffer);
  private depth = 0;
  private touched = new Map<KvmIrqFdRoute, Snapshot>();
  private created = new Set<KvmIrqFdRoute>();
  private isDisposed = false;

  constructor(options: KvmIrqFdOptions) {
    this.sys = options.sys;
    this.vmFd = options.vmFd;
    this.policy = options.policy;
    this.inject = options.inject;
    this.gsis = new SlotAllocator(FIRST_MSI_GSI, options.maxEntries - LEGACY_ROUTES.length);
    this.table = new GsiRoutingTable(options.sys, options.vmFd, this.gsis, options.maxEntries);
    this.capabilities = Object.freeze({
      mediation: 'kernel' as const,
      maxRoutes: this.table.maxMsiRoutes,
      routingTable: true,
      stableEvent: true,
      mechanism:
        'KVM_IRQFD: the kernel injects the routed MSI inside the eventfd write; routes are committed whole with KVM_SET_GSI_ROUTING ' +
        `(GSIs from ${FIRST_MSI_GSI}, the default legacy routes kept)`,
    });
  }

  get routeCount(): number {
    return this.routes.size;
  }

  get commitCount(): number {
    return this.table.commitCount;
  }

  /** GSIs allocated now, including those whose route removal is not committed yet. */
  get gsiCount(): number {
    return this.gsis.size;
  }

  newIrqFdRoute(): KvmIrqFdRoute {
    const op = 'IrqFd.newIrqFdRoute';
    this.live(op);
    if (this.gsis.size === this.gsis.capacity && this.table.retiredCount > 0 && this.depth === 0) {
      // GSIs whose removal an earlier commit failed to push: try again before reporting EXHAUSTED.
      try {
        this.table.commit(op);
      } catch {
        // still held; EXHAUSTED below says what to do
      }
    }
    const gsi = this.gsis.allocate(op, 'KVM irqfd routes (GSIs)');
    let event: EventFd;
    try {
      event = new EventFd(this.sys, op);
    } catch (e) {
      this.gsis.release(gsi);
      throw e;
    }
    const route = new KvmIrqFdRoute(this, gsi, event);
    this.routes.add(route);
    if (this.depth > 0) this.created.add(route);
    return route;
  }

  batch<T>(fn: () => T): T {
    const op = 'IrqFd.batch';
    this.live(op);
    return this.transaction(op, fn);
  }

  /** @internal Runs `fn` as (part of) a transaction; the outermost one commits. */
  transaction<T>(op: string, fn: () => T): T {
    this.depth++;
    let result: T;
    try {
      result = fn();
    } finally {
      this.depth--;
      // Runs even when fn threw: the changes it made before throwing are applied (batch contract).
      if (this.depth === 0 && !this.isDisposed) this.finish(op);
    }
    return result;
  }

  /** @internal Records a route's state before the transaction first changes it. */
  touch(route: KvmIrqFdRoute): void {
    if (!this.touched.has(route)) this.touched.set(route, { msi: route.msi, masked: route.masked, assigned: route.assigned });
  }

  /**
   * Assigns the irqfd of a route that just became armed and delivers what latched while it was
   * not. KVM would inject a pending signal itself at assign, but from a workqueue (later, and it
   * leaves the counter set); consuming it first and injecting with KVM_SIGNAL_MSI makes the
   * delivery happen before this returns. A signal racing with the assign is still injected once,
   * by the kernel. On failure the route is unassigned again and the signal latched again.
   */
  private arm(route: KvmIrqFdRoute, op: string): void {
    const latched = route.event.consume();
    try {
      this.assign(route, op);
    } catch (e) {
      if (latched > 0) this.relatch(route);
      throw e;
    }
    if (latched === 0) return;
    const m = route.msi!;
    try {
      this.inject(m.addressLo, m.addressHi, m.data);
    } catch (e) {
      if (this.irqfd(route, kvm.KVM_IRQFD_FLAG_DEASSIGN) >= 0) route.assigned = false;
      this.relatch(route);
      throw e;
    }
  }

  private relatch(route: KvmIrqFdRoute): void {
    try {
      route.event.signal();
    } catch {
      // cannot happen for a live eventfd (its counter is far from overflowing)
    }
  }

  private assign(route: KvmIrqFdRoute, op: string): void {
    const r = this.irqfd(route, 0);
    if (r < 0) {
      const outcome = 'The route was left as it was.';
      throw failure(r, op, `ioctl(KVM_IRQFD, assign eventfd ${route.event.fd} to GSI ${route.gsi})`, -r === EBUSY ? { hint: BUSY_HINT } : { outcome });
    }
    route.assigned = true;
  }

  /** @internal */
  deassign(route: KvmIrqFdRoute, op: string): void {
    const r = this.irqfd(route, kvm.KVM_IRQFD_FLAG_DEASSIGN);
    if (r < 0) throw failure(r, op, `ioctl(KVM_IRQFD, deassign eventfd ${route.event.fd} from GSI ${route.gsi})`, { outcome: 'The route was left as it was.' });
    route.assigned = false;
  }

  /** @internal Route disposal: never throws. */
  release(route: KvmIrqFdRoute): void {
    this.routes.delete(route);
    this.touched.delete(route);
    this.created.delete(route);
    let closed = false;
    if (route.assigned) {
      route.assigned = false;
      // If the kernel refuses the deassign, closing the eventfd tears the irqfd down; do that
      // before the route goes, so the irqfd never outlives its route.
      if (this.irqfd(route, kvm.KVM_IRQFD_FLAG_DEASSIGN) < 0) {
        route.event.dispose();
        closed = true;
      }
    }
    this.table.retire(route.gsi);
    if (this.depth === 0) {
      try {
        this.table.commit('IrqFdRoute.dispose');
      } catch {
        // The GSI stays retired (not reused) until a later commit removes its route.
      }
    }
    if (!closed) route.event.dispose();
  }

  /** @internal Partition teardown: closing every eventfd tears the irqfds down; the VM goes next. */
  disposeAll(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    for (const r of this.routes) r.markDisposed();
    this.routes.clear();
    this.touched.clear();
    this.created.clear();
  }

  get disposed(): boolean {
    return this.isDisposed;
  }

  /** @internal */
  live(op: string): void {
    if (this.isDisposed) throw disposedError(op, 'the KVM partition');
  }

  private irqfd(route: KvmIrqFdRoute, flags: number): number {
    const F = kvm.KVM_IRQFD_LAYOUT.fields;
    this.irqfdView.setUint32(F.fd.offset, route.event.ownFd(), true);
    this.irqfdView.setUint32(F.gsi.offset, route.gsi, true);
    this.irqfdView.setUint32(F.flags.offset, flags, true);
    return this.sys.ioctl(this.vmFd, kvm.KVM_IRQFD, this.irqfdBytes);
  }

  /** The end of the outermost transaction: commit, then assign what became armed. */
  private finish(op: string): void {
    const touched = this.touched;
    const created = this.created;
    this.touched = new Map();
    this.created = new Set();
    try {
      this.table.commit(op);
      for (const route of touched.keys()) {
        if (!route.disposed && route.armed && !route.assigned) this.arm(route, op);
      }
    } catch (e) {
      this.rollback(op, touched, created);
      throw e;
    }
  }

  /** Puts every route of a failed transaction back as it was; best effort against further failures. */
  private rollback(op: string, touched: Map<KvmIrqFdRoute, Snapshot>, created: Set<KvmIrqFdRoute>): void {
    this.depth++; // route disposal below must not commit on its own
    try {
      for (const route of created) {
        touched.delete(route);
        route.dispose();
      }
    } finally {
      this.depth--;
    }
    for (const [route, before] of touched) {
      if (route.disposed) continue;
      if (route.assigned && !before.assigned) {
        try {
          this.deassign(route, op);
        } catch {
          // still assigned: it stays armed below
        }
      }
      route.restore(before.msi, before.masked);
      this.table.set(route.gsi, before.msi);
    }
    this.table.recheck();
    try {
      this.table.commit(`${op} (rollback)`);
    } catch {
      // The kernel keeps the failed transaction's table; `table.pending` stays true and the next commit retries.
    }
    for (const [route, before] of touched) {
      if (route.disposed || !before.assigned || route.assigned) continue;
      try {
        this.arm(route, op);
      } catch {
        route.restore(route.msi, true); // not armed in the kernel: say so rather than pretend
      }
    }
  }
}

export class KvmIrqFdRoute implements IrqFdRoute {
  readonly gsi: number;
  readonly event: EventFd;
  /** @internal True while the kernel has this route's irqfd assigned. */
  assigned = false;
  private currentMsi: MsiMessage | undefined;
  private isMasked = true;
  private isDisposed = false;

  constructor(
    private readonly owner: KvmIrqFd,
    gsi: number,
    event: EventFd,
  ) {
    this.gsi = gsi;
    this.event = event;
  }

  get msi(): MsiMessage | undefined {
    return this.currentMsi;
  }

  get masked(): boolean {
    return this.isMasked;
  }

  get disposed(): boolean {
    return this.isDisposed;
  }

  /** Has an MSI and is unmasked. */
  get armed(): boolean {
    return this.currentMsi !== undefined && !this.isMasked;
  }

  setMsi(address: number | bigint, data: number): void {
    const op = 'IrqFdRoute.setMsi';
    this.live(op);
    const msi = parseMsi(op, address, data, this.owner.policy);
    this.owner.transaction(op, () => {
      if (this.currentMsi && sameMsi(this.currentMsi, msi)) return;
      this.owner.touch(this);
      this.owner.table.set(this.gsi, msi);
      this.currentMsi = msi;
    });
  }

  clearMsi(): void {
    const op = 'IrqFdRoute.clearMsi';
    this.live(op);
    this.owner.transaction(op, () => {
      if (this.currentMsi === undefined) return;
      this.owner.touch(this);
      if (this.assigned) this.owner.deassign(this, op);
      this.owner.table.set(this.gsi, undefined);
      this.currentMsi = undefined;
    });
  }

  mask(): void {
    const op = 'IrqFdRoute.mask';
    this.live(op);
    this.owner.transaction(op, () => {
      if (this.isMasked) return;
      this.owner.touch(this);
      if (this.assigned) this.owner.deassign(this, op);
      this.isMasked = true;
    });
  }

  unmask(): void {
    const op = 'IrqFdRoute.unmask';
    this.live(op);
    this.owner.transaction(op, () => {
      if (!this.isMasked) return;
      this.owner.touch(this);
      this.isMasked = false;
    });
  }

  consumePending(): boolean {
    this.live('IrqFdRoute.consumePending');
    // An assigned irqfd drains the eventfd in the kernel; an armed route in an open batch is
    // about to be assigned, which delivers what is latched: neither may be stolen here.
    if (this.assigned || this.armed) return false;
    return this.event.consume() > 0;
  }

  onEventReplaced(_listener: (event: Event) => void): () => void {
    this.live('IrqFdRoute.onEventReplaced');
    return () => undefined; // a KVM route keeps its eventfd for life
  }

  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    this.owner.release(this);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** @internal */
  restore(msi: MsiMessage | undefined, masked: boolean): void {
    this.currentMsi = msi;
    this.isMasked = masked;
  }

  /** @internal Partition teardown. */
  markDisposed(): void {
    this.isDisposed = true;
    this.assigned = false;
    this.event.dispose();
  }

  private live(op: string): void {
    if (this.isDisposed) throw disposedError(op, 'the irqfd route');
    // Closing the eventfd tore the irqfd down and its fd number may now be another eventfd's.
    if (this.event.disposed) throw routeEventDisposed(op);
  }
}
