/**
 * The in-process relay platform: events are counters in this thread, and a signal on an armed
 * route is delivered inside `signal()`, as a kernel irqfd injects inside the eventfd write.
 */
import type { Event, InProcessEventShape } from '../contract/event';
import { disposedError, invalidArgument } from '../errors';
import { checkFunction, describeValue } from '../validate';
import type { RelayPlatform } from './platform';
import { type RawInjector, RelayRouteTable } from './route-table';

export class InProcessEvent implements InProcessEventShape {
  readonly kind = 'in-process' as const;
  readonly fd = undefined;
  readonly handle = undefined;
  private count = 0;
  private isDisposed = false;
  /** Set by the platform while a route is armed. */
  onReady: (() => void) | undefined;

  get disposed(): boolean {
    return this.isDisposed;
  }

  signal(): void {
    if (this.isDisposed) throw disposedError('Event.signal', 'the event');
    this.count++;
    this.onReady?.();
  }

  consume(): number {
    const n = this.count;
    this.count = 0;
    return n;
  }

  dispose(): void {
    this.isDisposed = true;
    this.onReady = undefined;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

export class InProcessRelayPlatform implements RelayPlatform {
  readonly name = 'in-process';

  private readonly table: RelayRouteTable;
  private readonly inject: RawInjector;

  /** INVALID_ARGUMENT unless `table` is a {@link RelayRouteTable} and `inject` a function. */
  constructor(table: RelayRouteTable, inject: RawInjector) {
    if (!(table instanceof RelayRouteTable)) throw invalidArgument('InProcessRelayPlatform', `table must be a RelayRouteTable, got ${describeValue(table)}`);
    checkFunction('InProcessRelayPlatform', 'inject', inject);
    this.table = table;
    this.inject = inject;
  }

  createEvent(): Event {
    return new InProcessEvent();
  }

  watch(slot: number, event: Event): void {
    if (!(event instanceof InProcessEvent)) throw invalidArgument('InProcessRelayPlatform.watch', `event must be an InProcessEvent, got ${describeValue(event)}`);
    const e = event;
    e.onReady = () => void this.table.deliver(slot, () => e.consume(), this.inject);
  }

  unwatch(_slot: number, event: Event): void {
    if (event instanceof InProcessEvent) event.onReady = undefined;
  }

  settle(): Promise<void> {
    return Promise.resolve();
  }

  dispose(): void {}

  [Symbol.dispose](): void {
    this.dispose();
  }
}
