/**
 * One irqfd route and its state machine. The route owns its state: what the caller asked for
 * (`requested`: MSI and mask), and what the kernel does for it (its GSI, the GSI its irqfd is
 * assigned on, whether the overflow relay watches it, signals it consumed but could not deliver
 * yet). It changes that state only from the results of the calls it makes through its
 * {@link RouteHost}; the engine drives the phases of a transaction and never edits a route.
 *
 * While the kernel does what was asked, the route reports the request. When a failure leaves them
 * apart (the kernel refused an operation and then its rollback), the route reports what the kernel
 * does (`msi` from the committed table, `masked` unless its irqfd is assigned or the relay watches
 * it) and `fault` holds the error; the next transaction that succeeds converges it.
 */
import { type Event, type IrqFdMediation, type IrqFdRoute, type MsiMessage, type VirtError } from '@tsvmm/virt';
import { type SlotAllocator, disposedError, routeEventDisposed, sameMsi as sameMsiExport, type MsiHalvesRoute, checkConstructToken, checkFunction, toMsiMessage as toMsiMessageExport } from '@tsvmm/virt/implement';
import { EBUSY } from '../errno';
import { failure } from '../check';
import type { EventFd } from '../eventfd';
import type { IrqFdBackend } from './backend';
import type { OverflowRelay } from './overflow';
import type { RoutingTable } from './routing-table';
import type { Transaction } from './transaction';

/** What the caller asked of a route. */
export interface RouteRequest {
  /** The MSI asked for (`setMsi`), or undefined after `clearMsi` or before the first `setMsi`. */
  readonly msi: MsiMessage | undefined;
  /** True after `mask` (and for a new route), false after `unmask`. */
  readonly masked: boolean;
}

/**
 * What a route needs of its engine (the engine itself, {@link IrqFdEngine}): the backend (MSI
 * policy, injector, ioctl names), the routing table, the overflow relay, the GSIs and the open
 * transaction as the objects they are, and three engine steps.
 */
export interface RouteHost {
  /** The backend: `parseMsi`, `inject`, the irqfd ioctl's name for errors. */
  readonly backend: IrqFdBackend;
  /** The routing table: the route publishes its entry (`set`) and reads the kernel's (`kernelMsi`) and the next commit's (`desiredMsi`). */
  readonly table: RoutingTable;
  /** The overflow relay, for a route that found no free GSI. */
  readonly overflow: OverflowRelay;
  /** The GSIs: `tryAllocate` at a route's first MSI, `release` once neither table holds it and no irqfd uses it. */
  readonly gsis: SlotAllocator;
  /** The open transaction: a route `touch`es itself before it changes its request. */
  readonly txn: Transaction;
  /** True once the engine was disposed: a route disposed then only closes its eventfd. */
  readonly disposed: boolean;
  /** Runs `fn` in the current transaction (or a new one that commits when `fn` returns). */
  transaction<T>(operation: string, fn: () => T): T;
  /** The irqfd ioctl for (`fd`, `gsi`): what the kernel returned, `-errno` on failure. */
  irqfdIoctl(fd: number, gsi: number, assign: boolean): number;
  /**
   * The route is being disposed: the engine takes over its GSI (freed once no committed table
   * holds it). With `assignedFd`, the kernel refused to deassign the route's irqfd from `gsi`: the
   * engine now owns that descriptor, keeps `gsi` routed as the kernel has it, and retries the
   * deassign at its later operations.
   */
  forget(route: EngineRoute, gsi: number | undefined, assignedFd: number | undefined): void;
}

const BUSY_HINT =
  'The eventfd is already assigned as an irqfd (in this partition or, on newer kernels, any). A route owns its event: ' +
  'do not pass route.event.fd to the irqfd ioctl yourself.';

/**
 * Bound once: CommonJS re-exports of a package entry are getters, one extra call per use on the
 * hot path of every route change.
 */
const sameMsi = sameMsiExport;
const toMsiMessage = toMsiMessageExport;

/** Passed by the engine to the route constructor, which is not for callers: the package does not export it. */
export const ENGINE_ROUTE_TOKEN: unique symbol = Symbol('EngineRoute');

/**
 * A route of an {@link IrqFdEngine} (from `newIrqFdRoute`): the `IrqFdRoute` contract of
 * `@tsvmm/virt` on one {@link EventFd}, owned for the route's life, assigned as a kernel irqfd on a
 * GSI of its own while it is armed (or watched by the overflow relay when no GSI is free).
 */
export class EngineRoute implements IrqFdRoute, MsiHalvesRoute {
  readonly event: EventFd;
  /** The route's slot in the overflow relay (fixed for its life). */
  readonly slot: number;
  /** @internal The generation of the transaction that last touched the route (0: none, or it left it). */
  txnGen = 0;
  /** @internal The request before that transaction touched it, for a rollback. */
  txnBefore: RouteRequest = { msi: undefined, masked: true };
  private request: RouteRequest = { msi: undefined, masked: true };
  private gsiNumber: number | undefined;
  private assignedOn: number | undefined;
  private watchedMsi: MsiMessage | undefined;
  /** Signals consumed from the eventfd and not delivered yet: latched like the eventfd's count. */
  private held = 0;
  private faultError: VirtError | undefined;
  private isDisposed = false;
  /**
   * Retargeted while its engine coalesces retargets: the new message waits for the next routing
   * commit, and meanwhile the overflow relay delivers it (armed) or it latches (masked).
   */
  private coalescing = false;
  /** The event was disposed while the route was live: the route has let go of its kernel state. */
  private eventGone = false;

  /** @internal Made by {@link IrqFdEngine.newIrqFdRoute}. */
  constructor(
    token: typeof ENGINE_ROUTE_TOKEN,
    private readonly host: RouteHost,
    slot: number,
    event: EventFd,
  ) {
    checkConstructToken(token, ENGINE_ROUTE_TOKEN, 'EngineRoute', 'IrqFdEngine.newIrqFdRoute()');
    this.slot = slot;
    this.event = event;
    event.setDisposeHook(() => this.eventDisposing());
  }

  // ---- what the caller sees ------------------------------------------------------------------

  get msi(): MsiMessage | undefined {
    if (this.faultError === undefined) return this.request.msi;
    if (this.watchedMsi !== undefined) return this.watchedMsi;
    return this.gsiNumber === undefined ? undefined : this.host.table.kernelMsi(this.gsiNumber);
  }

  /**
   * Whether signals are held back: the request, or, while {@link fault} is set, true unless the
   * kernel has the irqfd assigned or the overflow relay watches the route.
   */
  get masked(): boolean {
    if (this.faultError === undefined) return this.request.masked;
    return this.assignedOn === undefined && this.watchedMsi === undefined;
  }

  /** True once the route, or its engine, was disposed. */
  get disposed(): boolean {
    return this.isDisposed;
  }

  /**
   * How this route's signals reach the guest: `kernel` (its irqfd, on a GSI of its own) or
   * `emulated` (it needed a GSI when every GSI was in use: the overflow relay injects from user
   * space until a GSI frees up). A route without an MSI holds no GSI and reports `kernel`.
   */
  get mediation(): IrqFdMediation {
    if (this.watchedMsi !== undefined) return 'emulated';
    return this.request.msi !== undefined && this.gsiNumber === undefined ? 'emulated' : 'kernel';
  }

  /** The GSI this route holds (from its first MSI until it is cleared and committed), or undefined. */
  get gsi(): number | undefined {
    return this.gsiNumber;
  }

  /** True while the kernel has this route's irqfd assigned. */
  get assigned(): boolean {
    return this.assignedOn !== undefined;
  }

  /**
   * Set when the kernel refused an operation and then its rollback: the route then reports what
   * the kernel does (a safe state: not delivering, signals latched; or still delivering where
   * even the deassign was refused), not what was asked. Cleared when a later transaction converges.
   */
  get fault(): VirtError | undefined {
    return this.faultError;
  }

  setMsi(address: number | bigint, data: number): void {
    const op = 'IrqFdRoute.setMsi';
    this.live(op);
    const m = toMsiMessage(op, address, data);
    this.changeMsi(op, this.host.backend.parseMsi(op, m.addressLo, m.addressHi, m.data));
  }

  /**
   * `setMsi` with the address as its 32-bit halves (an MSI-X table entry's words), never joined:
   * the same checks, errors (operation `IrqFdRoute.setMsi`) and effect. See `MsiHalvesRoute` of
   * `@tsvmm/virt/implement`.
   */
  setMsiHalves(addressLo: number, addressHi: number, data: number): void {
    const op = 'IrqFdRoute.setMsi';
    this.live(op);
    this.changeMsi(op, this.host.backend.parseMsi(op, addressLo, addressHi, data));
  }

  private changeMsi(op: string, msi: MsiMessage): void {
    this.host.transaction(op, () => {
      if (sameMsi(this.request.msi, msi)) return;
      this.host.txn.touch(this);
      this.request = { msi, masked: this.request.masked };
    });
  }

  clearMsi(): void {
    const op = 'IrqFdRoute.clearMsi';
    this.live(op);
    this.host.transaction(op, () => {
      if (this.request.msi === undefined) return;
      this.host.txn.touch(this);
      this.stopDelivery(op);
      this.request = { msi: undefined, masked: this.request.masked };
    });
  }

  mask(): void {
    const op = 'IrqFdRoute.mask';
    this.live(op);
    this.host.transaction(op, () => {
      if (this.request.masked) return;
      this.host.txn.touch(this);
      this.stopDelivery(op);
      this.request = { msi: this.request.msi, masked: true };
    });
  }

  unmask(): void {
    const op = 'IrqFdRoute.unmask';
    this.live(op);
    this.host.transaction(op, () => {
      if (!this.request.masked) return;
      this.host.txn.touch(this);
      this.request = { msi: this.request.msi, masked: false };
    });
  }

  consumePending(): boolean {
    this.live('IrqFdRoute.consumePending');
    // A delivering route's signals are not latched (an assigned irqfd's count may even be a stale
    // one the kernel already injected); a route armed in an open transaction is about to deliver
    // what is latched: neither may be taken here.
    if (this.assignedOn !== undefined || this.watchedMsi !== undefined) return false;
    if (this.faultError === undefined && this.requestedArmed) return false;
    const n = this.held + this.event.consume();
    this.held = 0;
    return n > 0;
  }

  onEventReplaced(listener: (event: Event) => void): () => void {
    this.live('IrqFdRoute.onEventReplaced');
    checkFunction('IrqFdRoute.onEventReplaced', 'listener', listener);
    return () => undefined; // the route keeps its eventfd for life
  }

  /**
   * Stops delivery (the overflow relay first, then deassigns the irqfd), gives the GSI back to the
   * engine (freed once no committed table holds it) and closes the eventfd. If the kernel refuses
   * the deassign twice, closing the eventfd tears the irqfd down instead. Idempotent; never throws.
   */
  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    // Its event was disposed first: the route let go of everything then, and owns no descriptor.
    if (this.eventGone) return;
    if (this.host.disposed) {
      // Partition teardown: closing the eventfd tears its irqfd down; the partition goes next.
      this.assignedOn = undefined;
      this.watchedMsi = undefined;
      this.event.dispose();
      return;
    }
    if (this.release()) this.event.dispose();
    else this.event.disposeKeepingOwnFd();
  }

  /**
   * Stops delivery (the overflow relay first, then deassigns the irqfd, while the eventfd is still
   * open) and gives the GSI back to the engine (freed once no committed table holds it). Returns
   * false when the kernel refused the deassign twice (deassigning nothing is 0, so a retry is
   * harmless): the irqfd stays assigned, and closing our descriptor would not end it while any other
   * number for the file is open (a copy of `event.fd` handed to a device), so the engine takes the
   * private descriptor over, keeps the GSI routed as the kernel has it, and retries the deassign later.
   */
  private release(): boolean {
    this.coalescing = false;
    try {
      this.disarmOverflow();
    } catch {
      // the slot is disarmed already; closing the eventfd removes it from the waiter's set too
    }
    const gsi = this.gsiNumber;
    const on = this.assignedOn;
    this.gsiNumber = undefined;
    this.assignedOn = undefined;
    if (on !== undefined) {
      const fd = this.event.ownFd();
      if (this.host.irqfdIoctl(fd, on, false) < 0 && this.host.irqfdIoctl(fd, on, false) < 0) {
        this.host.forget(this, on, fd);
        return false;
      }
    }
    this.host.forget(this, gsi, undefined);
    return true;
  }

  /**
   * The user disposed `route.event` behind the route's back: the route lets go of its kernel state
   * now, while the private number is still the eventfd's, so that it never names a number it no
   * longer owns. Every later call but `dispose` throws (the event is gone). Returns true when the
   * engine took the private descriptor over (the kernel kept the irqfd).
   */
  private eventDisposing(): boolean {
    if (this.isDisposed || this.eventGone) return false;
    this.eventGone = true;
    return !this.release();
  }

  /** Same as {@link dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  // ---- the phases of a transaction, called by the engine --------------------------------------

  /** @internal The request, for a rollback. */
  snapshot(): RouteRequest {
    return this.request;
  }

  /** @internal A rolled-back transaction puts the request back. */
  revert(request: RouteRequest): void {
    this.request = request;
  }

  /** @internal Before the commit: stop delivery the request no longer wants. Throws if the kernel refuses. */
  prepare(op: string): void {
    const armed = this.requestedArmed;
    if (this.watchedMsi !== undefined && !armed) this.disarmOverflow();
    if (this.assignedOn !== undefined && !(armed && this.assignedOn === this.gsiNumber)) this.deassign(op);
  }

  /**
   * @internal Publishes the routing entry the next commit must hold: the requested MSI (taking a
   * GSI at the first one), or, while the irqfd is still assigned, the entry the kernel has, so
   * that a route is never removed under an assigned irqfd.
   */
  plan(): void {
    if (this.request.msi !== undefined && this.gsiNumber === undefined) this.gsiNumber = this.host.gsis.tryAllocate();
    if (this.gsiNumber === undefined) return;
    const entry = this.request.msi ?? (this.assignedOn !== undefined ? this.host.table.kernelMsi(this.gsiNumber) : undefined);
    this.host.table.set(this.gsiNumber, entry);
  }

  /**
   * @internal After the commit (or a failed one): start the delivery the request wants where the
   * kernel's table allows it. An irqfd is assigned only on a GSI whose committed entry is the
   * requested MSI. A route without a GSI is delivered by the overflow relay; one that got a GSI
   * moves to its irqfd (the relay stops first, so no signal is delivered twice, and what arrives
   * in between stays in the eventfd for the assign).
   */
  converge(op: string): void {
    if (this.coalescing) {
      const gsi = this.gsiNumber;
      const msi = this.request.msi;
      if (msi !== undefined && gsi !== undefined && !sameMsi(this.host.table.kernelMsi(gsi), msi)) {
        // The commit with its new message has not happened (it failed): keep waiting as before.
        if (this.requestedArmed) this.armOverflow(msi);
        else this.disarmOverflow();
        return;
      }
      this.coalescing = false;
    }
    const msi = this.request.msi;
    if (msi === undefined || this.request.masked) return;
    const gsi = this.gsiNumber;
    if (gsi !== undefined && sameMsi(this.host.table.kernelMsi(gsi), msi)) {
      if (this.assignedOn === gsi) return;
      const relayed = this.watchedMsi !== undefined;
      if (relayed) this.disarmOverflow();
      try {
        this.armKernel(op, gsi, msi);
      } catch (e) {
        if (relayed) this.armOverflowQuietly(msi);
        throw e;
      }
      return;
    }
    if (gsi === undefined || this.watchedMsi !== undefined) this.armOverflow(msi);
  }

  /** @internal Gives the GSI back once nothing needs it: no MSI, no irqfd, no entry in either table. */
  releaseUnusedGsi(): void {
    const gsi = this.gsiNumber;
    if (gsi === undefined || this.request.msi !== undefined || this.assignedOn !== undefined) return;
    if (this.host.table.kernelMsi(gsi) !== undefined || this.host.table.desiredMsi(gsi) !== undefined) return;
    this.gsiNumber = undefined;
    this.host.gsis.release(gsi);
  }

  /** @internal True when the kernel does what was asked (the route then reports the request). */
  matchesKernel(): boolean {
    const msi = this.request.msi;
    const gsi = this.gsiNumber;
    if (this.coalescing) {
      // Delivered as asked until the commit: by the relay with the new message, or latched.
      return this.assignedOn === undefined && (this.requestedArmed ? sameMsi(this.watchedMsi, msi) : this.watchedMsi === undefined);
    }
    if (this.requestedArmed) {
      // Relayed while holding a GSI: it was moving to its irqfd and the move failed. Not done yet,
      // so every transaction retries it (the promotion pass skips routes that hold a GSI).
      if (this.watchedMsi !== undefined) return sameMsi(this.watchedMsi, msi) && this.assignedOn === undefined && gsi === undefined;
      return gsi !== undefined && this.assignedOn === gsi && sameMsi(this.host.table.kernelMsi(gsi), msi);
    }
    if (this.assignedOn !== undefined || this.watchedMsi !== undefined) return false;
    return gsi === undefined || sameMsi(this.host.table.kernelMsi(gsi), msi);
  }

  /** @internal After a transaction: clear the fault, or record `error` as the reason the kernel differs. */
  reconcile(error: VirtError | undefined): boolean {
    this.deliverHeld();
    if (this.matchesKernel()) {
      this.faultError = undefined;
      return true;
    }
    if (error !== undefined || this.faultError === undefined) this.faultError = error ?? this.faultError;
    return false;
  }

  /** @internal Waiting for a GSI: relayed now, or holding an MSI without a GSI (a coalescing retarget has its GSI). */
  get wantsGsi(): boolean {
    return !this.coalescing && this.request.msi !== undefined && (this.gsiNumber === undefined || this.watchedMsi !== undefined);
  }

  /** @internal Waiting for the coalesced commit of its new message. */
  get coalescingRetarget(): boolean {
    return this.coalescing;
  }

  /**
   * @internal After `plan`: the route holds a GSI whose committed entry is another message than
   * the one it asks for (the guest moved the vector), so its table change is a retarget.
   */
  get retargeting(): boolean {
    const msi = this.request.msi;
    const gsi = this.gsiNumber;
    if (msi === undefined || gsi === undefined) return false;
    const committed = this.host.table.kernelMsi(gsi);
    return committed !== undefined && !sameMsi(committed, msi);
  }

  /**
   * @internal In place of `converge` when the engine defers the commit of this retarget: the irqfd
   * (still on the old message) is deassigned, and an armed route is delivered by the overflow relay
   * with its new message until the coalesced commit moves it back to its irqfd.
   */
  deferRetarget(op: string): void {
    if (this.assignedOn !== undefined) this.deassign(op);
    this.coalescing = true;
    if (this.requestedArmed) this.armOverflow(this.request.msi!);
    else this.disarmOverflow();
  }

  // ---- kernel steps -------------------------------------------------------------------------

  private get requestedArmed(): boolean {
    return this.request.msi !== undefined && !this.request.masked;
  }

  /** mask / clearMsi: stop delivery at once. Throws (nothing changed) when the kernel refuses. */
  private stopDelivery(op: string): void {
    this.disarmOverflow();
    if (this.assignedOn !== undefined) this.deassign(op);
  }

  private deassign(op: string): void {
    const gsi = this.assignedOn!;
    const r = this.host.irqfdIoctl(this.event.ownFd(), gsi, false);
    if (r < 0) {
      throw failure(r, op, `ioctl(${this.host.backend.ioctls.irqfd.name}, deassign eventfd ${this.event.fd} from GSI ${gsi})`, {
        outcome: 'The irqfd stays assigned and the route keeps delivering.',
      });
    }
    this.assignedOn = undefined;
  }

  /**
   * Assigns the irqfd and delivers what latched while the route was not armed. The kernel would
   * inject a latched signal itself at assign, but later (from a workqueue) and leaving the count
   * readable; consuming it first and injecting it with the backend's injector delivers it before
   * this returns. A signal written while the assign runs is injected by the kernel, at least once
   * (see the README: the kernel itself can inject such a signal twice). What could not be
   * delivered stays latched in `held`.
   */
  private armKernel(op: string, gsi: number, msi: MsiMessage): void {
    const latched = this.held + this.event.consume();
    this.held = 0;
    const r = this.host.irqfdIoctl(this.event.ownFd(), gsi, true);
    if (r < 0) {
      this.held = latched;
      throw failure(r, op, `ioctl(${this.host.backend.ioctls.irqfd.name}, assign eventfd ${this.event.fd} to GSI ${gsi})`, -r === EBUSY ? { hint: BUSY_HINT } : {});
    }
    this.assignedOn = gsi;
    if (latched === 0) return;
    try {
      this.host.backend.inject(msi.addressLo, msi.addressHi, msi.data);
    } catch (e) {
      // Kept latched either way: writing it back into an eventfd the kernel still has assigned
      // would deliver it even if the route ends up masked; `settle` delivers it while armed.
      this.held = latched;
      if (this.host.irqfdIoctl(this.event.ownFd(), gsi, false) >= 0) this.assignedOn = undefined;
      throw e;
    }
  }

  /**
   * A signal held back by a failed injection, on a route the kernel still delivers (its irqfd
   * stayed assigned): deliver it now to the MSI the kernel has; if that fails too it stays held.
   */
  private deliverHeld(): void {
    if (this.held === 0 || this.assignedOn === undefined) return;
    const m = this.host.table.kernelMsi(this.assignedOn);
    if (m === undefined) return;
    try {
      this.host.backend.inject(m.addressLo, m.addressHi, m.data);
      this.held = 0;
    } catch {
      // still held: reported by nothing while assigned, delivered at the next settle or arm
    }
  }

  private armOverflow(msi: MsiMessage): void {
    const watched = this.watchedMsi !== undefined;
    if (watched && sameMsi(this.watchedMsi, msi)) return;
    if (watched) this.flushOverflow(this.watchedMsi!);
    this.host.overflow.arm(this.slot, this.event, msi, watched);
    this.watchedMsi = msi;
    if (watched) return;
    this.held = this.host.overflow.deliverNow(this.slot, () => this.held + this.event.consume(), msi, this.host.backend.inject);
  }

  private armOverflowQuietly(msi: MsiMessage): void {
    try {
      this.armOverflow(msi);
    } catch {
      // not delivering: the route reports it (settle) and signals latch
    }
  }

  private disarmOverflow(): void {
    if (this.watchedMsi === undefined) return;
    this.flushOverflow(this.watchedMsi);
    // The slot is disarmed before the waiter is told, so even if that fails nothing is delivered.
    this.watchedMsi = undefined;
    this.host.overflow.disarm(this.slot, this.event);
  }

  /**
   * Before a relayed route is retargeted or stops: signals raised while it was armed with `old`
   * that the waiter has not reached yet are delivered to `old` now, under the slot lock, as a kernel
   * irqfd would have delivered them, so the waiter never sees an old signal with a new message.
   * Best effort: a signal that cannot be read stays in the eventfd (latched), one that cannot be
   * injected stays in `held`; neither is lost.
   */
  private flushOverflow(old: MsiMessage): void {
    try {
      const undelivered = this.host.overflow.deliverNow(this.slot, () => this.event.consume(), old, this.host.backend.inject);
      this.held += undelivered;
    } catch {
      // the eventfd could not be read: its signals stay there, latched
    }
  }

  private live(op: string): void {
    if (this.isDisposed) throw disposedError(op, 'the irqfd route');
    // Closing the eventfd tore the irqfd down and its fd number may now be another eventfd's.
    if (this.event.disposed) throw routeEventDisposed(op);
  }
}
