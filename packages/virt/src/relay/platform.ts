import type { Event } from '../contract/event';
import type { Disposable } from '../disposable';
import { VirtError, isVirtError } from '../errors';
import { describeValue } from '../validate';
import type { RelayRouteTable } from './route-table';

/**
 * The platform half of the user-space relay: it owns the events and waits on them. Linux waits on
 * eventfds with epoll in one worker thread for all routes; the in-process platform delivers
 * inside `signal()`. When an event becomes ready the platform calls
 * `table.deliver(slot, consume, inject)`, on whatever thread it waits on.
 */
export interface RelayPlatform extends Disposable {
  /** For capabilities and `tsvmm probe`, e.g. `epoll worker thread`. */
  readonly name: string;
  /** A new event for one route (owned by the route). */
  createEvent(): Event;
  /** Start delivering signals of `event` for `slot`: the route just became armed. */
  watch(slot: number, event: Event): void;
  /** Stop: the route is no longer armed. After it returns, no delivery for `slot` starts. */
  unwatch(slot: number, event: Event): void;
  /** Resolves once every signal raised before the call has been handled. */
  settle(): Promise<void>;
  /** Stops waiting and releases the waiter (thread, descriptors). Idempotent; never throws. */
  dispose(): void;
  /**
   * After {@link dispose}: resolves once the waiter's thread (if the platform has one) has exited
   * and its resources are released; at once for a platform without a thread. Never rejects.
   */
  whenClosed(): Promise<void>;
}

/**
 * How {@link RelayIrqFd} gets its platform: called once, from its constructor, with the route
 * table the platform delivers through. A `VirtError` it throws propagates; any other error becomes
 * INTERNAL.
 */
export type RelayPlatformFactory = (table: RelayRouteTable) => RelayPlatform;

/** The methods a {@link RelayPlatform} has; a factory's result lacking one is refused. */
const PLATFORM_METHODS = ['createEvent', 'watch', 'unwatch', 'settle', 'dispose', 'whenClosed'] as const;

/**
 * Calls `factory(table)` for `operation` (the relay-mode irqfd's creation, or the first route an
 * engine's overflow relay takes) and checks what it returns. A VirtError the factory throws
 * propagates as it is (the epoll and Win32 platforms throw SYSCALL, EXHAUSTED and the like);
 * anything else it throws is INTERNAL, naming the factory, with the error as `cause`. A result that
 * is not a RelayPlatform (an object with every method of one) is INVALID_ARGUMENT: the factory, often a
 * caller's own (`relayPlatform` of the Linux backends), must return one.
 */
export function createRelayPlatform(operation: string, factory: RelayPlatformFactory, table: RelayRouteTable): RelayPlatform {
  let platform: unknown;
  try {
    platform = factory(table);
  } catch (e) {
    if (isVirtError(e)) throw e;
    throw new VirtError('INTERNAL', {
      operation,
      detail: `the relay platform factory threw (${String(e)})`,
      hint: 'A factory passed as relayPlatform must return a RelayPlatform or throw a VirtError; fix it. With the default platform, report this.',
      cause: e,
    });
  }
  const missing = typeof platform === 'object' && platform !== null ? PLATFORM_METHODS.filter((m) => typeof (platform as Record<string, unknown>)[m] !== 'function') : [...PLATFORM_METHODS];
  if (missing.length > 0) {
    throw new VirtError('INVALID_ARGUMENT', {
      operation,
      detail: `the relay platform factory returned ${describeValue(platform)}, not a RelayPlatform (missing ${missing.join(', ')})`,
      hint: 'A relay platform factory (relayPlatform) is a function of the route table returning a RelayPlatform, e.g. modelRelayPlatform(model) of a backend’s testing subpath.',
    });
  }
  return platform as RelayPlatform;
}
