/**
 * irqfd on WHP Interrupt triggers (WHvCreateTrigger): the hypervisor injects when a route's event
 * is signalled, with no trip through the VMM.
 *
 * WHP has no mask and, before WHvUpdateTriggerParameters, no retarget, so a route changes by
 * deleting and creating triggers, and a new trigger comes with a new event. What a route's event
 * is, by state:
 * - armed (an MSI and unmasked): the event of the route's live trigger;
 * - not armed (masked, or no MSI): a plain auto-reset event the route created, which latches
 *   signals in user space, whatever WHP does with a deleted trigger's event.
 *
 * Every replacement is announced to `onEventReplaced` listeners before the old handle is closed;
 * signals that still reach the old handle in that window are carried over (see each transition).
 * WHP calls per change: arm 1 (WHvCreateTrigger, plus one WHvRequestInterrupt when a latched signal
 * is delivered), disarm 1 (WHvDeleteTrigger), retarget 1 (WHvUpdateTriggerParameters) or 2 (create
 * then delete). A transition that fails leaves the route, its event and the hypervisor as they were.
 */
import { type Event, type IrqFd, type IrqFdCapabilities, type IrqFdRoute, type MsiMessage, type MsiPolicy, VirtError } from '@tsvmm/virt';
import { disposedError, exhaustedError, sameMsi, IrqFdRouteBase, checkConstructToken, checkFunction, checkNotThenable } from '@tsvmm/virt/implement';
import type { WhpCalls } from './calls';
import { WHP_MSI_POLICY, interruptControl, triggerParameters } from './encode';
import { Win32Event } from './win32-event';

/** What a route needs from its partition. */
export interface TriggerHost {
  readonly calls: WhpCalls;
  /** The WHV_PARTITION_HANDLE. */
  readonly handle: bigint;
  /** What setMsi accepts: `WHP_MSI_POLICY` in an xAPIC partition, `whpX2apicMsiPolicy` in an x2APIC one. */
  readonly policy: MsiPolicy;
  /** A trigger whose deletion failed: deleted with the partition, its event closed after that. */
  orphan(trigger: bigint, event: Win32Event): void;
}

const SETTLE_TIMEOUT_MS = 5000;
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/**
 * Passed to the WhpIrqFd and WhpIrqFdRoute constructors, which are not for callers: the package
 * does not export it.
 */
export const WHP_IRQFD_TOKEN: unique symbol = Symbol('WhpIrqFd');

/**
 * The irqfd of a {@link WhpPartition} on WHP Interrupt triggers: `kernel` mediation (the hypervisor
 * injects when a route's event is signalled), no routing table (every change applies at once) and
 * no stable event (see {@link WhpIrqFdRoute.event}). Made by the partition; get it with
 * `partition.irqfd()`.
 */
export class WhpIrqFd implements IrqFd {
  /**
   * `mediation: 'kernel'`, `maxRoutes`, `routingTable: false`, `stableEvent: false`, and a
   * `mechanism` sentence saying whether setMsi updates a trigger in place
   * (WHvUpdateTriggerParameters) or re-creates it.
   */
  readonly capabilities: IrqFdCapabilities;
  private readonly routes = new Set<WhpIrqFdRoute>();
  private isDisposed = false;

  /** @internal Created by {@link WhpPartition}. */
  constructor(
    token: typeof WHP_IRQFD_TOKEN,
    /** @internal The partition's calls, handle and orphan list. */
    readonly host: TriggerHost,
    /** Most routes at once ({@link WhpPartitionOptions.maxRoutes}); EXHAUSTED beyond. */
    readonly maxRoutes: number,
    /** Milliseconds a route waits for the hypervisor to take a signal in flight ({@link WhpPartitionOptions.inFlightWaitMs}). */
    readonly inFlightWaitMs: number,
  ) {
    checkConstructToken(token, WHP_IRQFD_TOKEN, 'WhpIrqFd', 'WhpPartition.irqfd()');
    const update = host.calls.has('WHvUpdateTriggerParameters');
    this.capabilities = Object.freeze({
      mediation: 'kernel' as const,
      maxRoutes,
      routingTable: false,
      stableEvent: false,
      mechanism:
        'WHP Interrupt triggers (WHvCreateTrigger): the hypervisor injects on SetEvent; mask deletes the trigger and unmask creates a new one with a new event, ' +
        (update ? 'setMsi updates it in place (WHvUpdateTriggerParameters)' : 'setMsi re-creates it (WHvUpdateTriggerParameters is not exported)'),
    });
  }

  get routeCount(): number {
    return this.routes.size;
  }

  get commitCount(): number {
    return 0;
  }

  /** True once the irqfd (or its partition) was disposed. */
  get disposed(): boolean {
    return this.isDisposed;
  }

  /** A new route: masked, no MSI, owning a new (latching) event. */
  newIrqFdRoute(): IrqFdRoute {
    const op = 'IrqFd.newIrqFdRoute';
    if (this.isDisposed) throw disposedError(op, 'the whp partition');
    if (this.routes.size >= this.maxRoutes) throw exhaustedError(op, 'irqfd routes', this.maxRoutes);
    const latch = new Win32Event(this.host.calls, this.host.calls.createEvent(false), false);
    const route = new WhpIrqFdRoute(WHP_IRQFD_TOKEN, this, latch);
    this.routes.add(route);
    return route;
  }

  /** No routing table: every change applies at once, and `batch` just runs `fn`. */
  batch<T>(fn: () => T): T {
    if (this.isDisposed) throw disposedError('IrqFd.batch', 'the whp partition');
    checkFunction('IrqFd.batch', 'fn', fn);
    const result = fn();
    checkNotThenable('IrqFd.batch', 'fn', result);
    return result;
  }

  /**
   * Resolves once the hypervisor has taken every signal raised before the call (no armed route's
   * event is still signalled), polling every millisecond; rejects with UNAVAILABLE after 5 s.
   * Looking at an auto-reset event resets it, so a signal seen is given back with SetEvent at once.
   */
  async settle(): Promise<void> {
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    for (;;) {
      let waiting = 0;
      for (const r of this.routes) if (r.inFlight()) waiting++;
      if (waiting === 0) return;
      if (Date.now() > deadline) {
        throw new VirtError('UNAVAILABLE', {
          operation: 'IrqFd.settle',
          detail: `the hypervisor did not take ${waiting} signalled trigger event(s) within ${SETTLE_TIMEOUT_MS} ms`,
          hint: 'Check that the partition runs and its triggers are alive.',
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  /** @internal */
  forget(route: WhpIrqFdRoute): void {
    this.routes.delete(route);
  }

  /** Disposes every route (each trigger deleted before its event is closed). Never throws. */
  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    for (const r of [...this.routes]) r.dispose();
  }
}

/**
 * A route on a WHP Interrupt trigger. Armed (an MSI and unmasked) it owns a live trigger, and its
 * {@link WhpIrqFdRoute.event} is the trigger's event; not armed (masked or no MSI) it owns a plain
 * auto-reset event that latches signals. Arming, disarming and (without WHvUpdateTriggerParameters)
 * retargeting replace the event: holders learn the new one through `onEventReplaced` before the
 * old handle is closed. A failing change leaves the route as it was.
 */
export class WhpIrqFdRoute extends IrqFdRouteBase {
  /** Every route is a hypervisor trigger (there is no trigger limit below `maxRoutes`). */
  readonly mediation = 'kernel' as const;
  private current: Win32Event;
  private trigger: bigint | undefined;

  /** @internal Made by {@link WhpIrqFd.newIrqFdRoute}. */
  constructor(
    token: typeof WHP_IRQFD_TOKEN,
    private readonly owner: WhpIrqFd,
    latch: Win32Event,
  ) {
    // The token is checked after `super`: a route made without its irqfd gets the xAPIC policy here,
    // then the typed error.
    super((owner as WhpIrqFd | undefined)?.host?.policy ?? WHP_MSI_POLICY, true);
    checkConstructToken(token, WHP_IRQFD_TOKEN, 'WhpIrqFdRoute', 'WhpIrqFd.newIrqFdRoute()');
    this.current = latch;
  }

  /** The event to signal now; replaced by arming, disarming and (without in-place update) retargeting. */
  get event(): Event {
    return this.current;
  }

  /** True while the route's live trigger holds a signal the hypervisor has not taken yet. */
  inFlight(): boolean {
    if (this.trigger === undefined || this.disposed) return false;
    const { calls } = this.owner.host;
    try {
      if (!this.current.take()) return false;
      calls.setEvent(this.current.handle); // give it back: the hypervisor delivers it
      return true;
    } catch {
      return false;
    }
  }

  /** True once if a signal latched while not armed (read from the route's own latch event). */
  consumePending(): boolean {
    this.live('IrqFdRoute.consumePending');
    if (this.trigger !== undefined) return false;
    return this.current.take();
  }

  /**
   * Disposal: deletes the trigger (if armed), then closes the event; a signal the hypervisor had
   * not taken yet is injected once with WHvRequestInterrupt first. Never throws.
   */
  protected release(): void {
    const { calls, handle } = this.owner.host;
    const ev = this.current;
    if (this.trigger !== undefined) {
      const t = this.trigger;
      this.trigger = undefined;
      this.letHypervisorTake(ev);
      try {
        calls.deleteTrigger(handle, t);
        this.carryOver(ev, this.msi, undefined);
        ev.close();
      } catch {
        this.owner.host.orphan(t, ev);
      }
    } else {
      ev.close();
    }
    ev.dispose();
    this.owner.forget(this);
  }

  protected override checkOwner(op: string): void {
    if (this.owner.disposed) throw disposedError(op, 'the whp partition');
  }

  protected transition(op: string, msi: MsiMessage | undefined, masked: boolean): void {
    const wasArmed = this.trigger !== undefined;
    const nowArmed = msi !== undefined && !masked;
    if (!wasArmed && nowArmed) this.arm(op, msi);
    else if (wasArmed && !nowArmed) this.disarm();
    else if (wasArmed && nowArmed && !sameMsi(this.msi, msi)) this.retarget(msi);
  }

  /**
   * Not armed → armed: create the trigger; a signal latched in the route's event is injected once
   * with WHvRequestInterrupt; announce the trigger's event; a signal that reached the old event
   * while holders learnt the new one is passed on with SetEvent; close the old event.
   */
  private arm(op: string, msi: MsiMessage): void {
    const { calls, handle } = this.owner.host;
    const created = calls.createTrigger(handle, triggerParameters(msi));
    const fresh = new Win32Event(calls, created.event, true);
    const latch = this.current;
    try {
      if (latch.take()) {
        try {
          calls.requestInterrupt(handle, interruptControl(msi));
        } catch (e) {
          calls.setEvent(latch.handle); // latched again: nothing is lost
          throw e;
        }
      }
    } catch (e) {
      this.destroy(created.trigger, fresh);
      throw e instanceof VirtError ? e : new VirtError('INTERNAL', { operation: op, detail: String(e), cause: e });
    }
    this.trigger = created.trigger;
    this.replaceEvent(fresh);
    try {
      if (latch.take()) calls.setEvent(fresh.handle);
    } catch {
      // The latch is ours and open; a failing wait on it cannot be acted on here.
    }
    latch.close();
  }

  /**
   * Armed → not armed: a new latch event first (nothing changes if that fails), a signal in flight
   * left to the hypervisor, then WHvDeleteTrigger; announce the latch; a signal still in the deleted trigger's event (raised
   * while armed, not taken by the hypervisor: visible only where WHP leaves a deleted trigger's
   * event signalled) is injected once to the message it was raised for; close the old event.
   */
  private disarm(): void {
    const { calls, handle } = this.owner.host;
    const latch = new Win32Event(calls, calls.createEvent(false), false);
    this.letHypervisorTake(this.current);
    try {
      calls.deleteTrigger(handle, this.trigger!);
    } catch (e) {
      latch.close();
      throw e;
    }
    const old = this.current;
    this.trigger = undefined;
    old.ownedByTrigger = false;
    this.replaceEvent(latch);
    this.carryOver(old, this.msi, latch);
    old.close();
  }

  /** Armed → armed with another message: in place where WHP can; else create, then delete the old trigger. */
  private retarget(msi: MsiMessage): void {
    const { calls, handle } = this.owner.host;
    if (calls.has('WHvUpdateTriggerParameters')) {
      this.letHypervisorTake(this.current); // a signal raised before the change goes to the old message
      calls.updateTriggerParameters(handle, triggerParameters(msi), this.trigger!);
      return;
    }
    const created = calls.createTrigger(handle, triggerParameters(msi));
    const fresh = new Win32Event(calls, created.event, true);
    this.letHypervisorTake(this.current);
    try {
      calls.deleteTrigger(handle, this.trigger!);
    } catch (e) {
      this.destroy(created.trigger, fresh);
      throw e;
    }
    const old = this.current;
    old.ownedByTrigger = false;
    this.trigger = created.trigger;
    this.replaceEvent(fresh);
    this.carryOver(old, this.msi, fresh);
    old.close();
  }

  /**
   * A signal left in a retired trigger's event was raised while the route was armed with `msi`:
   * inject it once to that message. If the injection fails, hand it to `fallback` (SetEvent) so it
   * is not lost. Never throws.
   */
  private carryOver(old: Win32Event, msi: MsiMessage | undefined, fallback: Win32Event | undefined): void {
    const { calls, handle } = this.owner.host;
    try {
      if (!old.take() || msi === undefined) return;
      try {
        calls.requestInterrupt(handle, interruptControl(msi));
      } catch {
        if (fallback) calls.setEvent(fallback.handle);
      }
    } catch {
      // A wait on our own open handle failed: nothing more can be done for that signal.
    }
  }

  /**
   * Before a live trigger is deleted or updated: gives the hypervisor up to `inFlightWaitMs` to take a signal still in its
   * event (delivery is asynchronous), since a deleted trigger's event may drop it (undocumented).
   * Looking at an auto-reset event takes the signal, so a signal seen is given back at once. Costs
   * one WaitForSingleObject when nothing is in flight. Never throws.
   */
  private letHypervisorTake(ev: Win32Event): void {
    const { calls } = this.owner.host;
    const deadline = Date.now() + this.owner.inFlightWaitMs;
    try {
      while (ev.take()) {
        calls.setEvent(ev.handle);
        if (Date.now() > deadline) return;
        Atomics.wait(PAUSE, 0, 0, 0.05);
      }
    } catch {
      // Our own open handle; if waiting on it fails, the carry-over after deletion still runs.
    }
  }

  /** Deletes a trigger this route created but will not use, then closes its event. Never throws. */
  private destroy(trigger: bigint, event: Win32Event): void {
    try {
      this.owner.host.calls.deleteTrigger(this.owner.host.handle, trigger);
      event.close();
    } catch {
      this.owner.host.orphan(trigger, event);
    }
  }

  /** Makes `next` the route's event and tells every listener, before the caller closes the old one. */
  private replaceEvent(next: Win32Event): void {
    this.current = next;
    this.announce(next);
  }
}
