/**
 * irqfd semantics in user space, for any partition that has `requestMsi`: the "emulated" irqfd.
 *
 * A waiter (see {@link RelayPlatform}) sees a route's event become ready and injects the route's
 * MSI. The route state machine is the same as a kernel irqfd's: a route is armed when it has an
 * MSI and is unmasked; an unarmed route leaves signals latched in its event; arming delivers a
 * latched signal at once, here on the calling thread, under the slot lock.
 */
import { SlotAllocator } from '../alloc/slot-allocator';
import type { IrqFdCapabilities } from '../contract/capabilities';
import type { Event } from '../contract/event';
import type { IrqFd, IrqFdRoute } from '../contract/irqfd';
import { type LevelIrqFdRoute, checkLevelGsi, levelRoutesUnsupported } from '../contract/level';
import type { LevelRouteProvider } from './level-routes';
import { VirtError, disposedError, isVirtError } from '../errors';
import { onEventDisposing } from './event-disposal';
import { IrqFdRouteBase } from './route-base';
import { checkFunction, checkInteger, checkNotThenable, checkObject, checkString, describeError, describeValue } from '../validate';
import { type MsiMessage, type MsiPolicy, checkMsiPolicy, sameMsi } from '../msi/codec';
import { type RelayPlatform, type RelayPlatformFactory, callRelayPlatform, createRelayPlatform, disposeRelayPlatform, settleRelayPlatform, whenRelayPlatformClosed } from './platform';
import { FLAG_HAS_MSI, FLAG_MASKED, MAX_SLOTS, type RawInjector, RelayRouteTable, isArmed } from './route-table';
import { disposeQuietly, disposeRefused, notCallable, readMembersOnce } from './checked-members';

/** What {@link RelayIrqFd} is built from. Each option is read once and validated (INVALID_ARGUMENT). */
export interface RelayIrqFdOptions {
  /** Backend name, for errors. */
  readonly backend: string;
  /** Most routes alive at once, 1 to {@link MAX_SLOTS}; one more is EXHAUSTED. */
  readonly maxRoutes: number;
  /** Validation rules of the partition's `requestMsi`. */
  readonly policy: MsiPolicy;
  /** Injects on the calling thread (the partition's `requestMsi` path, already validated). */
  readonly inject: RawInjector;
  /** Makes the waiter, given the route table (e.g. the epoll worker of `@tsvmm/linux-sys`, or {@link InProcessRelayPlatform}). */
  readonly platform: RelayPlatformFactory;
  /** Says why the relay is used, e.g. `KVM_CAP_IRQFD is missing`. */
  readonly reason: string;
  /**
   * Where `newLevelRoute` goes (the software backend's IOAPIC model). Absent: the relay has no
   * level-triggered input and `newLevelRoute` is UNSUPPORTED, naming `reason`.
   */
  readonly levelRoutes?: LevelRouteProvider;
}

/**
 * The user-space relay as an {@link IrqFd}: `capabilities.mediation` is `emulated`, there is no
 * routing table (`batch` just runs its function), and each route is one slot of a
 * {@link RelayRouteTable} that the platform's waiter delivers from with the partition's injector.
 * Routes follow the whole {@link IrqFdRoute} contract, and the relay passes the conformance suite.
 */
export class RelayIrqFd implements IrqFd {
  /** Frozen: mediation `emulated`, `routingTable` false, `stableEvent` true, the mechanism naming the platform and the reason. */
  readonly capabilities: IrqFdCapabilities;
  /** The shared route table (one slot per route), which the platform delivers through. */
  readonly table: RelayRouteTable;
  /**
   * The platform that waits for signals, owned by this irqfd (disposed by {@link dispose}; await its
   * waiter's exit with {@link whenClosed}).
   * @internal
   */
  readonly platform: RelayPlatform;
  /** The options, validated and frozen (read once at construction). */
  readonly options: RelayIrqFdOptions;
  private readonly slots: SlotAllocator;
  private readonly routes = new Set<RelayRoute>();
  private disposed = false;

  /**
   * Validates every option (each read once; INVALID_ARGUMENT before anything is created), then
   * creates the route table and the platform ({@link createRelayPlatform}: a non-VirtError thrown by
   * the factory is INTERNAL, a result that is not a RelayPlatform, or whose `name` is not a string,
   * INVALID_ARGUMENT). The platform's `name` is read once, there.
   */
  constructor(options: RelayIrqFdOptions) {
    this.options = readRelayOptions(options);
    const { maxRoutes, platform, reason } = this.options;
    this.slots = new SlotAllocator(0, maxRoutes);
    this.table = new RelayRouteTable(maxRoutes);
    // The name as read (once, and checked to be a string) while the platform was accepted.
    const accepted = createRelayPlatform('RelayIrqFd.create', platform, this.table);
    this.platform = accepted.platform;
    this.capabilities = Object.freeze({
      mediation: 'emulated' as const,
      maxRoutes,
      routingTable: false,
      stableEvent: true,
      mechanism: `user-space relay (${accepted.name}) injecting with requestMsi: ${reason}`,
    });
  }

  /** Routes alive now. */
  get routeCount(): number {
    return this.routes.size;
  }

  /** Always 0: the relay has no routing table to commit. */
  get commitCount(): number {
    return 0;
  }

  /**
   * A new route: masked, with no MSI, owning a new event from the platform. EXHAUSTED when
   * `maxRoutes` routes exist; DISPOSED after {@link dispose}; a VirtError from the platform's
   * `createEvent` propagates, anything else it throws is INTERNAL naming it. What `createEvent`
   * returns must be an {@link Event} (an object whose `signal`, `consume` and `dispose` are
   * functions: the methods the relay calls); anything else is INTERNAL naming `createEvent` (the
   * platform broke its contract; the caller's arguments were fine), and such a value with a callable
   * `dispose` is disposed (a throw from it is dropped). The slot is released in every failure.
   */
  newIrqFdRoute(): IrqFdRoute {
    const op = 'IrqFd.newIrqFdRoute';
    if (this.disposed) throw disposedError(op, this.ownerText());
    const slot = this.slots.allocate(op, 'irqfd routes');
    let event: Event | undefined;
    try {
      event = checkRelayEvent(op, callRelayPlatform(op, this.platform, 'createEvent'));
      this.table.lock(slot);
      this.table.reset(slot);
      this.table.setFlags(slot, FLAG_MASKED);
      this.table.unlock(slot);
      const route = new RelayRoute(this, slot, event);
      this.routes.add(route);
      return route;
    } catch (e) {
      this.slots.release(slot);
      if (event !== undefined) disposeQuietly(event);
      throw isVirtError(e) ? e : new VirtError('INTERNAL', { operation: op, detail: `the new route's event could not be set up (${describeError(e)})`, cause: e });
    }
  }

  /**
   * A level-triggered route on IOAPIC input `gsi` (0-23), from the `levelRoutes` option. INVALID_ARGUMENT
   * for a bad GSI first; UNSUPPORTED without that option (a relay injects MSIs with `requestMsi` and
   * has no level-triggered input), naming why the relay is used; then the provider's own checks.
   */
  newLevelRoute(gsi: number): LevelIrqFdRoute {
    const op = 'IrqFd.newLevelRoute';
    checkLevelGsi(op, gsi);
    const provider = this.options.levelRoutes;
    if (provider === undefined) {
      throw levelRoutesUnsupported(op, `the ${this.options.backend} irqfd is the user-space relay, which injects MSIs and has no level-triggered input (${this.options.reason || 'no reason given'})`);
    }
    if (this.disposed) throw disposedError(op, this.ownerText());
    return provider.newLevelRoute(gsi);
  }

  /**
   * Runs `fn` and returns its result: every change applies at once, there is nothing to commit.
   * INVALID_ARGUMENT when `fn` is not a function; DISPOSED after {@link dispose}.
   */
  batch<T>(fn: () => T): T {
    checkFunction('IrqFd.batch', 'fn', fn);
    if (this.disposed) throw disposedError('IrqFd.batch', this.ownerText());
    // No routing table: every change is already as cheap as it gets.
    const result = fn();
    checkNotThenable('IrqFd.batch', 'fn', result);
    return result;
  }

  /**
   * Resolves once every signal raised before the call has been delivered or latched. Rejects as the
   * platform's `settle` does; a rejection (or throw) that is not a VirtError becomes INTERNAL naming it.
   */
  settle(): Promise<void> {
    return settleRelayPlatform('IrqFd.settle', this.platform);
  }

  /** @internal */
  forget(route: RelayRoute): void {
    this.routes.delete(route);
    this.slots.release(route.slot);
  }

  /**
   * Disposes the level routes, every route (a signal in flight on an armed route is delivered
   * first), then the platform. Idempotent; never throws: what a broken level-route provider or
   * platform throws from its `dispose` is dropped (both are documented never to throw), and the
   * rest is disposed regardless.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.options.levelRoutes !== undefined) disposeQuietly(this.options.levelRoutes);
    for (const r of [...this.routes]) disposeQuietly(r);
    disposeRelayPlatform(this.platform);
  }

  /**
   * After {@link dispose}: resolves once the platform's waiter thread (if any) has exited. Never
   * rejects: a platform whose `whenClosed` throws or rejects counts as closed.
   */
  whenClosed(): Promise<void> {
    return whenRelayPlatformClosed(this.platform);
  }

  /** Who DISPOSED errors of this irqfd name: the irqfd itself (its partition disposes it too). */
  private ownerText(): string {
    return `the ${this.options.backend} irqfd`;
  }

  /** Same as {@link dispose}. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

class RelayRoute extends IrqFdRouteBase {
  /** Every relay route is delivered from user space, for its whole life. */
  readonly mediation = 'emulated' as const;
  /** The event was disposed while the route was live: the route let go of its slot then. */
  private eventGone = false;

  constructor(
    private readonly owner: RelayIrqFd,
    readonly slot: number,
    readonly event: Event,
  ) {
    super(owner.options.policy, false);
    // A VMM that disposes the event itself: stop watching it while its number is still its own.
    onEventDisposing(event, () => {
      if (!this.disposed && !this.eventGone) {
        this.eventGone = true;
        this.releaseSlot();
      }
      return false;
    });
  }

  consumePending(): boolean {
    this.live('IrqFdRoute.consumePending');
    const table = this.owner.table;
    table.lock(this.slot);
    try {
      if (isArmed(table.flags(this.slot))) return false;
      return this.event.consume() > 0;
    } finally {
      table.unlock(this.slot);
    }
  }

  protected release(): void {
    if (this.eventGone) return;
    this.releaseSlot();
    disposeQuietly(this.event);
  }

  /**
   * Stops the waiter watching the event and frees the slot; a signal raised while armed that the
   * waiter has not reached yet is delivered here. Never throws.
   */
  private releaseSlot(): void {
    const { table, platform } = this.owner;
    table.lock(this.slot);
    try {
      if (isArmed(table.flags(this.slot))) {
        platform.unwatch(this.slot, this.event);
        // A signal raised while armed that the waiter has not reached yet is still delivered
        // (as a kernel irqfd injects inside the signal itself), here, under the slot lock.
        const msi = this.msi;
        if (msi && this.event.consume() > 0) this.owner.options.inject(msi.addressLo, msi.addressHi, msi.data);
      }
    } catch {
      // Never throws; the event is closed after this (by dispose, or by its own disposal), which stops any wait on it.
    } finally {
      table.reset(this.slot);
      table.unlock(this.slot);
    }
    this.owner.forget(this);
  }

  /**
   * Moves the route to (msi, masked) under the slot lock.
   *
   * Leaving an armed state (disarm, or a retarget of an armed route): first, on this thread, the
   * event is drained and what was raised while armed is delivered to the message it was armed
   * with, so a waiter that reaches a signal raised before this call can never see it with the new
   * state (it finds the event empty), and `consumePending` only ever reports signals raised while
   * not armed. If that injection fails, the signal is latched again (after the lock is released:
   * the in-process platform delivers inside `signal()`) and the route is left as it was.
   *
   * On arming, the platform starts watching first (it may fail; nothing has changed yet), then a
   * latched signal is delivered here. If that injection fails, the signal is latched again and the
   * route restored.
   */
  protected transition(op: string, msi: MsiMessage | undefined, masked: boolean): void {
    const { table, platform, options } = this.owner;
    const slot = this.slot;
    const newFlags = (msi ? FLAG_HAS_MSI : 0) | (masked ? FLAG_MASKED : 0);
    let relatch = false;
    table.lock(slot);
    try {
      const oldFlags = table.flags(slot);
      const old = this.msi;
      const wasArmed = isArmed(oldFlags);
      const nowArmed = isArmed(newFlags);
      const retarget = wasArmed && nowArmed && !sameMsi(old, msi);
      if (wasArmed && old && (!nowArmed || retarget) && this.event.consume() > 0) {
        try {
          options.inject(old.addressLo, old.addressHi, old.data);
        } catch (e) {
          relatch = true; // still armed with `old`: the waiter delivers it to `old` again
          throw isVirtError(e) ? e : new VirtError('INTERNAL', { operation: op, detail: `the injection threw (${describeError(e)})`, cause: e });
        }
      }
      if (wasArmed && !nowArmed) callRelayPlatform(op, platform, 'unwatch', slot, this.event);
      if (!wasArmed && nowArmed) callRelayPlatform(op, platform, 'watch', slot, this.event);
      if (msi) table.setMsi(slot, msi.addressLo, msi.addressHi, msi.data);
      table.setFlags(slot, newFlags);
      if (!wasArmed && nowArmed && msi && this.event.consume() > 0) {
        try {
          options.inject(msi.addressLo, msi.addressHi, msi.data);
        } catch (e) {
          try {
            platform.unwatch(slot, this.event);
          } catch {
            // already failing; the table says not armed, so no delivery starts
          }
          table.setFlags(slot, oldFlags);
          if (old) table.setMsi(slot, old.addressLo, old.addressHi, old.data);
          this.event.signal(); // re-latch (not watched now): the interrupt is not lost
          throw isVirtError(e) ? e : new VirtError('INTERNAL', { operation: op, detail: `the injection threw (${describeError(e)})`, cause: e });
        }
      }
    } finally {
      table.unlock(slot);
      if (relatch) {
        try {
          this.event.signal();
        } catch {
          // the event itself failed; the typed error of the injection is what the caller sees
        }
      }
    }
  }
}

/** The methods of an {@link Event} the relay calls; what a platform's `createEvent` returns must have them. */
const EVENT_METHODS = ['signal', 'consume', 'dispose'] as const;

/**
 * `value` (what the platform's `createEvent` returned) if it is an Event, else INTERNAL naming
 * `createEvent` and what it returned; its members are read guarded (a Proxy's trap can throw), and
 * a refused value with a callable `dispose` is disposed (quietly) before the error is thrown.
 */
function checkRelayEvent(op: string, value: unknown): Event {
  if ((typeof value === 'object' || typeof value === 'function') && value !== null) {
    const read = readMembersOnce(value, EVENT_METHODS);
    const missing = notCallable(read, EVENT_METHODS);
    if (missing.length === 0) return value as Event;
    disposeRefused(value, read.values.dispose);
    throw badEvent(op, `${describeValue(value)} (missing ${missing.join(', ')})`);
  }
  throw badEvent(op, describeValue(value));
}

function badEvent(op: string, what: string): VirtError {
  return new VirtError('INTERNAL', {
    operation: op,
    detail: `the relay platform's createEvent returned ${what}, not an Event`,
    hint: 'A RelayPlatform (relayPlatform) returns an Event (signal, consume, dispose) from createEvent; fix the platform. With the default platform, report this. Nothing was changed.',
  });
}

/** The options, validated and read once each (the constructor never reads `options` again). */
function readRelayOptions(options: unknown): RelayIrqFdOptions {
  const op = 'RelayIrqFd.create';
  const o = checkObject<Partial<Record<keyof RelayIrqFdOptions, unknown>>>(op, 'options', options);
  const backend = checkString(op, 'backend', o.backend);
  const maxRoutes = checkInteger(op, 'maxRoutes', o.maxRoutes, 1, MAX_SLOTS);
  // A copy, read once: validation on every setMsi uses these values, whatever the caller's object does later.
  const policy = checkMsiPolicy(op, o.policy);
  const inject = o.inject;
  checkFunction(op, 'inject', inject);
  const platform = o.platform;
  checkFunction(op, 'platform', platform);
  const reason = checkString(op, 'reason', o.reason, true);
  const levelRoutes = o.levelRoutes;
  if (levelRoutes !== undefined) {
    const l = checkObject<Partial<LevelRouteProvider>>(op, 'levelRoutes', levelRoutes);
    checkFunction(op, 'levelRoutes.newLevelRoute', l.newLevelRoute);
    checkFunction(op, 'levelRoutes.dispose', l.dispose);
  }
  return Object.freeze({
    backend,
    maxRoutes,
    policy,
    inject: inject as RawInjector,
    platform: platform as RelayPlatformFactory,
    reason,
    ...(levelRoutes === undefined ? {} : { levelRoutes: levelRoutes as LevelRouteProvider }),
  });
}
