import type { Event } from '../contract/event';
import type { Disposable } from '../disposable';
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
