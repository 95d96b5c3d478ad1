import type { IrqFdCapabilities } from './capabilities';
import type { Event } from './event';
import type { MsiMessage } from '../msi/codec';

/**
 * Creates irqfd routes on one partition. Obtain it from {@link Partition.irqfd}.
 */
export interface IrqFd {
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
   * If `fn` throws, the changes it made are still committed, then its error propagates. If the
   * commit fails, every route changed in the batch is rolled back to its state before the batch
   * (routes created in it are disposed; routes disposed in it stay disposed) and the commit's
   * typed error is thrown instead.
   */
  batch<T>(fn: () => T): T;
}

/**
 * One interrupt route: signals on {@link event} become the MSI set by {@link setMsi}, injected
 * by the hypervisor without a trip through the VMM.
 *
 * A route is *armed* when it has an MSI and is unmasked; only an armed route delivers.
 *
 * Delivery contract, which every backend proves with the conformance suite:
 * - **Nothing is lost.** A signal that arrives while the route is not armed (masked, or without an
 *   MSI) latches. When the route becomes armed, a latched signal is delivered exactly once, at
 *   once (one written while the arming runs: at least once; KVM can inject it twice, see the backend's README). Or `consumePending()` reports it once, and then arming delivers nothing. Never both.
 * - **Edge semantics.** Signals coalesce: several signals before a delivery give one interrupt.
 * - **Changes apply to the next signal.** `setMsi` on an armed route retargets it: the next signal
 *   lands on the new destination and vector, never on a half-updated one.
 * - **Failure leaves the route as it was.** A call that fails throws a {@link VirtError} and the
 *   route (and the hypervisor's view of it) is unchanged. Bad arguments are rejected before any
 *   side effect (INVALID_ARGUMENT, INVALID_MSI).
 * - **Disposal.** `dispose()` and `[Symbol.dispose]()` release the route, its routing entry and its
 *   event, never throw, and are idempotent. Any other call after it throws DISPOSED.
 */
export interface IrqFdRoute extends Disposable {
  /**
   * The event a device signals. Hand `event.fd` (Linux) or `event.handle` (Windows) to VFIO, vhost
   * or a device thread. The route owns it: do not dispose it (or close its fd) yourself; if you do,
   * every call on the route but `dispose` throws DISPOSED. Where
   * `capabilities.stableEvent` is false the event can be replaced by `setMsi`, `mask` or `unmask`:
   * subscribe with {@link onEventReplaced}.
   */
  readonly event: Event;
  /** The programmed MSI, or undefined. */
  readonly msi: MsiMessage | undefined;
  readonly masked: boolean;
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
  dispose(): void;
}
