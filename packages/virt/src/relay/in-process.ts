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
  /** What runs on each signal: a platform's delivery while a route is armed (several may watch one event). */
  private readonly listeners = new Set<() => void>();

  /** True once {@link dispose} has run. */
  get disposed(): boolean {
    return this.isDisposed;
  }

  /**
   * Adds 1 to the count, then runs each {@link onSignal} listener (a watching platform's delivery),
   * in the order they were added: as every epoll instance watching an eventfd wakes, and the first
   * to read it takes the count. DISPOSED after dispose.
   */
  signal(): void {
    if (this.isDisposed) throw disposedError('Event.signal', 'the event');
    this.count++;
    for (const listener of [...this.listeners]) listener();
  }

  /**
   * Runs `listener` after each later {@link signal} until the returned function is called (which is
   * idempotent). A platform watching the event for an armed route registers its delivery here.
   */
  onSignal(listener: () => void): () => void {
    const own = (): void => listener();
    this.listeners.add(own);
    return () => void this.listeners.delete(own);
  }

  /** Returns the signals counted since the last call (0 if none) and resets the count. Works after dispose. */
  consume(): number {
    const n = this.count;
    this.count = 0;
    return n;
  }

  /** Marks the event disposed and drops every {@link onSignal} listener. Idempotent. */
  dispose(): void {
    this.isDisposed = true;
    this.listeners.clear();
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
   * Events watched now, each with what removes this platform's delivery from it, so that dispose
   * stops them as a waiter's exit would (another platform may watch the same event: its stays).
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
    this.stop(e); // a second watch replaces this platform's first, as EPOLL_CTL_MOD would
    this.watched.set(e, e.onSignal(() => void this.table.deliver(slot, () => e.consume(), this.inject)));
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

  /** Drops this platform's delivery from `e` (another platform's stays). */
  private stop(e: InProcessEvent): void {
    this.watched.get(e)?.();
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
