import type { Event } from '../contract/event';
import type { IrqFdMediation } from '../contract/capabilities';
import type { IrqFdRoute } from '../contract/irqfd';
import { disposedError, invalidArgument, routeEventDisposed } from '../errors';
import { type MsiMessage, type MsiPolicy, parseMsi, sameMsi } from '../msi/codec';
import { checkFunction, describeError } from '../validate';

/**
 * The public half of an {@link IrqFdRoute} whose changes apply at once, with no routing table to
 * commit (the user-space relay, WHP's Interrupt triggers): state, liveness, argument parsing,
 * no-op detection, idempotent disposal and `onEventReplaced` listeners. A subclass supplies only
 * its transitions ({@link IrqFdRouteBase.transition}) and what disposal releases
 * ({@link IrqFdRouteBase.release}).
 *
 * Errors: DISPOSED after `dispose()` (and, through {@link IrqFdRouteBase.checkOwner}, after the
 * owner's disposal), DISPOSED naming the event when the caller disposed the route's event,
 * INVALID_ARGUMENT / INVALID_MSI from `setMsi` before any side effect, INVALID_ARGUMENT for a change
 * made from an `onEventReplaced` listener while the route is being changed. A call that would leave
 * the route as it is (same MSI, same mask) changes nothing and calls no transition.
 */
export abstract class IrqFdRouteBase implements IrqFdRoute {
  /** How this route's signals reach the guest (see {@link IrqFdRoute.mediation}). */
  abstract readonly mediation: IrqFdMediation;
  /** The route's event (see {@link IrqFdRoute.event}). */
  abstract readonly event: Event;
  private currentMsi: MsiMessage | undefined;
  private isMasked = true;
  private isDisposed = false;
  /** A transition is under way (listeners and injectors run inside it). */
  private changing = false;
  private disposeWhenDone = false;
  private readonly listeners = new Set<(event: Event) => void>();

  /**
   * @param policy Which MSIs `setMsi` accepts (read by `parseMsi` before any side effect).
   * @param replacesEvent False for a route whose event never changes: `onEventReplaced` then keeps
   *   no listener.
   */
  protected constructor(
    private readonly policy: MsiPolicy,
    private readonly replacesEvent: boolean,
  ) {}

  get msi(): MsiMessage | undefined {
    return this.currentMsi;
  }

  /** True while masked; a new route starts masked. */
  get masked(): boolean {
    return this.isMasked;
  }

  /** True once {@link IrqFdRouteBase.dispose} has run. */
  get disposed(): boolean {
    return this.isDisposed;
  }

  setMsi(address: number | bigint, data: number): void {
    const op = 'IrqFdRoute.setMsi';
    this.live(op);
    const msg = parseMsi(op, address, data, this.policy);
    this.change(op, msg, this.isMasked);
  }

  clearMsi(): void {
    const op = 'IrqFdRoute.clearMsi';
    this.live(op);
    this.change(op, undefined, this.isMasked);
  }

  mask(): void {
    const op = 'IrqFdRoute.mask';
    this.live(op);
    this.change(op, this.currentMsi, true);
  }

  unmask(): void {
    const op = 'IrqFdRoute.unmask';
    this.live(op);
    this.change(op, this.currentMsi, false);
  }

  abstract consumePending(): boolean;

  onEventReplaced(listener: (event: Event) => void): () => void {
    const op = 'IrqFdRoute.onEventReplaced';
    this.live(op);
    checkFunction(op, 'listener', listener);
    if (!this.replacesEvent) return () => undefined;
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /**
   * Releases the route once ({@link IrqFdRouteBase.release}); called from a listener during a
   * change, it runs when that change is done. Idempotent; never throws.
   */
  dispose(): void {
    if (this.isDisposed) return;
    if (this.changing) {
      this.disposeWhenDone = true;
      return;
    }
    this.isDisposed = true;
    this.release();
    this.listeners.clear();
  }

  /** Same as {@link IrqFdRouteBase.dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /**
   * Moves the route from its current state (`this.msi`, `this.masked`, still the old values
   * here) to `(msi, masked)`, which differ from it. Throws a VirtError and leaves the route, its
   * event and the hypervisor as they were when it cannot.
   */
  protected abstract transition(op: string, msi: MsiMessage | undefined, masked: boolean): void;

  /** Disposal's work, run once, after `disposed` became true. Never throws. */
  protected abstract release(): void;

  /** Throws DISPOSED when the route's owner is gone (default: never). */
  protected checkOwner(_op: string): void {}

  /** DISPOSED for a disposed route, owner or event; `op` names the call. */
  protected live(op: string): void {
    if (this.isDisposed) throw disposedError(op, 'the irqfd route');
    this.checkOwner(op);
    if (this.event.disposed) throw routeEventDisposed(op);
  }

  /**
   * Tells every `onEventReplaced` listener about `next`, before the caller closes the old event. A
   * listener that throws is reported as a process warning: the change is already done.
   */
  protected announce(next: Event): void {
    for (const l of [...this.listeners]) {
      try {
        l(next);
      } catch (e) {
        process.emitWarning(`an onEventReplaced listener threw: ${describeError(e)}`, 'TsvmmWarning');
      }
    }
  }

  private change(op: string, msi: MsiMessage | undefined, masked: boolean): void {
    if (this.changing) {
      throw invalidArgument(op, 'the route is being changed: an onEventReplaced listener cannot change it', 'Change the route after the call that replaced its event returns.');
    }
    if (masked === this.isMasked && sameMsi(this.currentMsi, msi)) return;
    this.changing = true;
    try {
      this.transition(op, msi, masked);
      this.currentMsi = msi;
      this.isMasked = masked;
    } finally {
      this.changing = false;
    }
    if (this.disposeWhenDone) this.dispose();
  }
}
