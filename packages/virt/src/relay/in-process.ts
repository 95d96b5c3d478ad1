/**
 * The in-process relay platform: events are counters in this thread, and a signal on an armed
 * route is delivered inside `signal()`, as a kernel irqfd injects inside the eventfd write.
 */
import type { Event, InProcessEventShape } from '../contract/event';
import { disposedError, invalidArgument } from '../errors';
import { checkFunction, describeValue } from '../validate';
import type { RelayPlatform } from './platform';
import { type RawInjector, RelayRouteTable } from './route-table';

/**
 * An event that is a counter in this thread: `signal()` adds 1 and, while its route is armed,
 * delivers at once through the platform. Made by {@link InProcessRelayPlatform.createEvent}.
 */
export class InProcessEvent implements InProcessEventShape {
  /** Always `in-process`. */
  readonly kind = 'in-process' as const;
  /** Always undefined: there is no descriptor. */
  readonly fd = undefined;
  /** Always undefined: there is no handle. */
  readonly handle = undefined;
  private count = 0;
  private isDisposed = false;
  /** Set by the platform while a route is armed. */
  onReady: (() => void) | undefined;

  /** True once {@link dispose} has run. */
  get disposed(): boolean {
    return this.isDisposed;
  }

  /** Adds 1 to the count, then runs {@link onReady} (the delivery) if set. DISPOSED after dispose. */
  signal(): void {
    if (this.isDisposed) throw disposedError('Event.signal', 'the event');
    this.count++;
    this.onReady?.();
  }

  /** Returns the signals counted since the last call (0 if none) and resets the count. Works after dispose. */
  consume(): number {
    const n = this.count;
    this.count = 0;
    return n;
  }

  /** Marks the event disposed and drops {@link onReady}. Idempotent. */
  dispose(): void {
    this.isDisposed = true;
    this.onReady = undefined;
  }

  /** Same as {@link dispose}. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * The relay platform with no waiter at all: its events are {@link InProcessEvent}s, and a signal
 * on a watched (armed) route runs `table.deliver` inside `signal()`, on the signalling thread.
 * The software backend uses it.
 */
export class InProcessRelayPlatform implements RelayPlatform {
  /** Always `in-process`. */
  readonly name = 'in-process';

  private readonly table: RelayRouteTable;
  private readonly inject: RawInjector;
  /**
   * Events watched now, each with the delivery this platform set on it, so that dispose stops them
   * as a waiter's exit would, and clears only its own: another platform may watch the same event.
   */
  private readonly watched = new Map<InProcessEvent, () => void>();
  private isDisposed = false;

  /** INVALID_ARGUMENT unless `table` is a {@link RelayRouteTable} and `inject` a function. */
  constructor(table: RelayRouteTable, inject: RawInjector) {
    if (!(table instanceof RelayRouteTable)) throw invalidArgument('InProcessRelayPlatform', `table must be a RelayRouteTable, got ${describeValue(table)}`);
    checkFunction('InProcessRelayPlatform', 'inject', inject);
    this.table = table;
    this.inject = inject;
  }

  /** A new {@link InProcessEvent}. DISPOSED after {@link dispose}. */
  createEvent(): Event {
    if (this.isDisposed) throw disposedError('RelayPlatform.createEvent', 'the in-process relay platform');
    return new InProcessEvent();
  }

  /**
   * From now on, each signal of `event` delivers `slot` through the table. INVALID_ARGUMENT when
   * `event` is not an {@link InProcessEvent}; DISPOSED after {@link dispose} (or for a disposed event).
   */
  watch(slot: number, event: Event): void {
    if (!(event instanceof InProcessEvent)) throw invalidArgument('InProcessRelayPlatform.watch', `event must be an InProcessEvent, got ${describeValue(event)}`);
    if (this.isDisposed) throw disposedError('RelayPlatform.watch', 'the in-process relay platform');
    if (event.disposed) throw disposedError('RelayPlatform.watch', 'the event');
    const e = event;
    const deliver = (): void => void this.table.deliver(slot, () => e.consume(), this.inject);
    e.onReady = deliver;
    this.watched.set(e, deliver);
  }

  /** Signals of `event` only count from now on; nothing is delivered through this platform. Never throws. */
  unwatch(_slot: number, event: Event): void {
    if (event instanceof InProcessEvent) this.stop(event);
  }

  /** Resolves at once: every signal was handled inside its `signal()` call. */
  settle(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Stops every delivery, as a waiter that exits does: signals of watched events only count from
   * now on (they stay latched in their events). Idempotent.
   */
  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    for (const e of [...this.watched.keys()]) this.stop(e);
  }

  /** Drops this platform's delivery from `e` (a delivery another platform set since stays). */
  private stop(e: InProcessEvent): void {
    if (e.onReady === this.watched.get(e)) e.onReady = undefined;
    this.watched.delete(e);
  }

  /** Resolves at once: there is no thread to wait for. */
  whenClosed(): Promise<void> {
    return Promise.resolve();
  }

  /** Same as {@link dispose}. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
