import type { IrqFdCapabilities, IrqFdMediation } from './capabilities';
import type { Event } from './event';
import type { LevelIrqFdRoute } from './level';
import type { MsiMessage } from '../msi/codec';
import type { Disposable } from '../disposable';
import { invalidArgument } from '../errors';
import { describeValue } from '../validate';

/**
 * Creates irqfd routes on one partition. Obtain it from {@link Partition.irqfd}.
 */
export interface IrqFd {
  /** What this irqfd offers: mediation, route limits, routing table, event stability. Frozen. */
  readonly capabilities: IrqFdCapabilities;
  /** Routes alive now. */
  readonly routeCount: number;
  /**
   * Routing-table commits issued to the hypervisor so far (KVM_SET_GSI_ROUTING,
   * MSHV_SET_MSI_ROUTING). Diagnostic: it shows what `batch` saves. Always 0 without a routing table.
   */
  readonly commitCount: number;
  /**
   * A new route: masked, with no MSI, owning a new event. EXHAUSTED when
   * `capabilities.maxRoutes` routes exist; DISPOSED after the partition is disposed.
   */
  newIrqFdRoute(): IrqFdRoute;
  /**
   * A level-triggered line (INTx) on the interrupt-controller input `gsi` (on KVM the GSI of IOAPIC
   * pin `gsi`, 0-23), asserted by its event and resampled when the guest acknowledges it: see
   * {@link LevelIrqFdRoute}. Optional, so that backends written before level routes still type-check;
   * call it through the free function `newLevelRoute(irqfd, gsi)`, which throws UNSUPPORTED where it is missing.
   *
   * @throws VirtError INVALID_ARGUMENT for a `gsi` that is not an integer from 0 to 23, before any
   *   side effect; UNSUPPORTED, with the reason, where `partition.capabilities.resample` is false;
   *   BUSY for a second level route on one GSI from this irqfd (KVM would accept two resamplers on
   *   one GSI, but a VMM gives each device's INTx line a pin of its own); DISPOSED after the
   *   partition was disposed; the hypervisor's refusal as a typed error with its errno, nothing left open.
   */
  newLevelRoute?(gsi: number): LevelIrqFdRoute;
  /**
   * Runs `fn` as one transaction: every route change inside it costs at most one routing-table
   * commit, issued when the outermost batch returns (batches nest). Signals are never lost either way.
   *
   * Where `capabilities.routingTable` is true, changes that stop delivery (`mask`, `clearMsi`,
   * `dispose`) apply at once, and changes that start or redirect it (`setMsi`, `unmask`) apply
   * at the commit: until then a route keeps delivering to the MSI the hypervisor has, and a route
   * armed in the batch latches its signals, delivered once after the commit (a route is never
   * armed before its MSI is in the kernel). Where it is false (the relay, WHP triggers) there is
   * nothing to commit: every change applies at once, as outside a batch.
   *
   * `fn` must be synchronous. If it returns a promise (or any thenable: an async function), what
   * it did before its first `await` is committed as for a throw, then INVALID_ARGUMENT is thrown;
   * the rest of its work runs later, outside the batch, each change applied on its own. Rolling
   * back instead is not possible everywhere (without a routing table every change is already
   * applied), so every backend commits. The promise is marked handled: the caller never gets it.
   *
   * If `fn` throws, the changes it made are still committed, then its error propagates. If the
   * commit fails, every route changed in the batch is rolled back to its state before the batch
   * (routes created in it are disposed; routes disposed in it stay disposed) and the commit's
   * typed error is thrown instead.
   */
  batch<T>(fn: () => T): T;
  /**
   * Resolves once every signal raised before the call has been delivered or latched: immediate for
   * a kernel irqfd (the kernel injects inside the signal itself), after the waiter has caught up
   * for the relay. Never rejects for a disposed irqfd (resolves at once); rejects with a typed
   * error when the relay's waiter has failed.
   */
  settle(): Promise<void>;
}

/**
 * `irqfd.settle()`, tolerating an object from a backend written before `settle` was part of the
 * contract (then resolved at once). Rejects with INVALID_ARGUMENT for a non-object.
 */
export function settleIrqFd(irqfd: IrqFd): Promise<void> {
  if (typeof irqfd !== 'object' || irqfd === null) return Promise.reject(invalidArgument('settleIrqFd', `irqfd must be an IrqFd, got ${describeValue(irqfd)}`));
  return typeof (irqfd as Partial<IrqFd>).settle === 'function' ? irqfd.settle() : Promise.resolve();
}

/**
 * One interrupt route: signals on {@link event} become the MSI set by {@link setMsi}, injected
 * by the hypervisor without a trip through the VMM.
 *
 * A route is *armed* when it has an MSI and is unmasked; only an armed route delivers.
 *
 * Delivery contract, which every backend proves with the conformance suite:
 * - **Nothing is lost.** A signal that arrives while the route is not armed (masked, or without an
 *   MSI) latches. When the route becomes armed, a latched signal is delivered at once: exactly once
 *   when it was raised before the arming call, at least once when it races with that call (KVM's
 *   irqfd assign can inject such a signal twice: `virt/kvm/eventfd.c` checks "already signalled?"
 *   without the eventfd's lock while the wakeup also injects; no ordering of user-space calls
 *   avoids it; a second edge of a vector still set in IRR coalesces, and MSI handlers read device
 *   state, so guests tolerate it). Or `consumePending()` reports it once, and then arming delivers
 *   nothing. Never both.
 * - **Signals in flight.** A signal raised while the route is armed is delivered to the message it
 *   was armed with, even if `mask`, `setMsi`, `clearMsi` or `dispose` follows before a waiter
 *   reaches it; `consumePending()` reports only signals raised while the route was not armed.
 * - **Edge semantics.** Signals coalesce: several signals before a delivery give one interrupt.
 * - **Changes apply to the next signal.** `setMsi` on an armed route retargets it: the next signal
 *   lands on the new destination and vector, never on a half-updated one.
 * - **Failure leaves the route as it was.** A call that fails throws a {@link VirtError} and the
 *   route (and the hypervisor's view of it) is unchanged. Bad arguments are rejected before any
 *   side effect (INVALID_ARGUMENT, INVALID_MSI).
 * - **Disposal.** `dispose()` and `[Symbol.dispose]()` release the route, its routing entry and its
 *   event, never throw, and are idempotent. Any other call after it throws DISPOSED. Where the
 *   hypervisor refuses to unbind the event (a kernel irqfd whose deassign fails), the partition
 *   keeps the binding consistent instead: the routing entry and its own descriptor of the event stay
 *   until a later operation unbinds it, or the partition is disposed.
 */
export interface IrqFdRoute extends Disposable {
  /**
   * The event a device signals. Hand `event.fd` (Linux) or `event.handle` (Windows) to VFIO, vhost
   * or a device thread. The route owns the event: do not call `event.dispose()` yourself; if you do,
   * every call on the route but `dispose` throws DISPOSED.
   *
   * Descriptor ownership: the route and its hypervisor work on a private descriptor of the event
   * (for an eventfd, `EventFd.ownFd()`); `event.fd` is a close-on-exec duplicate handed to you. If
   * you close `event.fd`, you close only your copy: the route keeps working, and no call of the
   * route or partition ever reads, writes, polls, assigns or closes that number again once it may
   * belong to another file (disposal closes it only while it provably still names the event's open
   * file, and otherwise leaves it alone). `event.handle` (WHP) is not a copy: the route alone closes
   * it, so never close it yourself (duplicate it to keep one of your own). Where `capabilities.stableEvent` is false the event can be
   * replaced by `setMsi`, `mask` or `unmask`: subscribe with {@link onEventReplaced}.
   */
  readonly event: Event;
  /** The programmed MSI, or undefined. */
  readonly msi: MsiMessage | undefined;
  /** True while masked; a new route starts masked. */
  readonly masked: boolean;
  /**
   * How this route's signals reach the guest now: `kernel` (the hypervisor injects straight from
   * the signal) or `emulated` (a user-space waiter injects with `requestMsi`).
   *
   * Equal to `irqfd.capabilities.mediation` for the route's whole life, except where the irqfd has
   * fewer kernel routes than routes (`capabilities.maxKernelRoutes` set, below `maxRoutes`): there
   * a route takes a kernel route at its first MSI, in the order routes get one, and reports
   * `emulated` when none was free (masked or not: it holds no kernel route); it moves to `kernel`
   * when another route's `clearMsi` or `dispose` frees one, without losing or doubling a signal
   * (one raised before the move is delivered once, to the message it was raised under). A route
   * without an MSI holds no kernel route and reports `capabilities.mediation`.
   */
  readonly mediation: IrqFdMediation;
  /** True once `dispose()` has run. */
  readonly disposed: boolean;
  /** Sets the MSI `address` (64-bit: a number below 2^53 or a bigint) and `data`. Applies to the next signal. */
  setMsi(address: number | bigint, data: number): void;
  /** Removes the MSI; the route stops delivering and signals latch until an MSI is set again. */
  clearMsi(): void;
  /** Stops delivery; signals latch. Idempotent. */
  mask(): void;
  /** Resumes delivery; a latched signal is delivered at once if the route has an MSI. Idempotent. */
  unmask(): void;
  /**
   * True (once) if a signal latched while the route was not armed, and clears it. Always false on
   * an armed route (its signals are delivered, not latched). For PBA reads of masked vectors.
   */
  consumePending(): boolean;
  /**
   * Calls `listener` with the new event whenever the route replaces its event (only where
   * `capabilities.stableEvent` is false). Returns an unsubscribe function.
   */
  onEventReplaced(listener: (event: Event) => void): () => void;
  /**
   * Releases the route, its routing entry and its event; a signal in flight on an armed route is
   * delivered first. Idempotent; never throws.
   */
  dispose(): void;
}
