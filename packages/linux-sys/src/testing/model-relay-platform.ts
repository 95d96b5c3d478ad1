/**
 * The user-space relay's platform on a kernel model (the overflow relay, and a relay-mode irqfd):
 * instead of an epoll worker thread, the model calls the waiter inside the eventfd write that makes
 * a watched eventfd readable, and the waiter injects through the model's system calls with the
 * backend's injector, as the epoll worker does on a real host.
 *
 * Deferred (`{ deferred: true }`), the waiter runs only inside `settle()`, as a worker thread that
 * has not been scheduled yet: a signal on a relayed route stays in flight (in its eventfd) until
 * then, so tests see what a route change does to a signal the waiter has not reached.
 */
import type { Event } from '@tsvmm/virt';
import { VirtError } from '@tsvmm/virt';
import { type RawInjector, type RelayPlatform, type RelayPlatformFactory, type RelayRouteTable, disposedError, invalidArgument } from '@tsvmm/virt/implement';
import type { EventFd } from '../eventfd';
import { routeEventFd } from '../irqfd/route-eventfd';
import type { Syscalls } from '../syscalls';

/** How a kernel model lets a test watch its eventfds (a `ModelFileTable` is one). */
export interface ModelEventFdWatch {
  /** Calls `ready` inside every write that makes eventfd `fd` readable; returns what stops it. */
  watchEventFd(fd: number, ready: () => void): () => void;
  /** Eventfd `fd`'s counter, or `undefined` if no such eventfd is open. */
  counter(fd: number): bigint | undefined;
}

/** The injector the waiter delivers with, and what frees it (if anything) at disposal. */
export interface ModelRelayInjector {
  /** Injects one MSI through the model: true when delivered, false when the guest blocked it. */
  readonly inject: RawInjector;
  /** Releases what the injector holds; called by {@link ModelRelayPlatform.dispose}. */
  free?(): void;
}

/** How the model waiter runs. */
export interface ModelRelayOptions {
  /** Deliver only inside `settle()` (default false: inside the eventfd write). */
  readonly deferred?: boolean;
  /**
   * The system calls a relay-mode irqfd's routes make their eventfds with ({@link ModelRelayPlatform.createEvent}),
   * as the epoll relay makes them with the partition's: the model, or a FaultInjector around it.
   * Without it the platform serves an engine's overflow path only, where routes bring their own eventfds.
   */
  readonly events?: Syscalls;
}

/**
 * A `RelayPlatform` for kernel models: no thread, no epoll. A watched eventfd's waiter runs inside
 * the write that makes it readable (or at once when it is readable when watched), as a real epoll
 * worker would shortly after. Routes' eventfds are made on `options.events` (a relay-mode irqfd);
 * without it, for an engine's overflow path only, where routes bring their own.
 */
export class ModelRelayPlatform implements RelayPlatform {
  /** Deliveries the waiter made (delivered or blocked), for tests. */
  deliveries = 0;
  private readonly stops = new Map<number, () => void>();
  /** Deferred: the wakeup of each watched slot and its eventfd, run by `settle()`. */
  private readonly parked = new Map<number, { readonly fd: number; readonly ready: () => void }>();
  private readonly deferred: boolean;
  private readonly events: Syscalls | undefined;
  private isDisposed = false;

  constructor(
    /** Names the waiter in messages, e.g. `KVM model waiter`. */
    readonly name: string,
    private readonly table: RelayRouteTable,
    private readonly eventfds: ModelEventFdWatch,
    private readonly injector: ModelRelayInjector,
    options: ModelRelayOptions = {},
  ) {
    this.deferred = options.deferred === true;
    this.events = options.events;
  }

  /**
   * A new `EventFd` on `options.events`, as the epoll relay makes one on the partition's
   * system calls: DISPOSED after dispose, EXHAUSTED when descriptors run out (EMFILE, ENFILE),
   * otherwise the typed error of eventfd(2) or its dup.
   * Without `options.events` it throws UNSUPPORTED: the overflow relay watches each route's own eventfd.
   */
  createEvent(): Event {
    if (this.events === undefined) {
      throw new VirtError('UNSUPPORTED', {
        operation: 'RelayPlatform.createEvent',
        detail: `${this.name} was made without \`events\`: it waits on the eventfds an engine's overflow routes bring, and makes none`,
        hint: 'For a relay-mode irqfd (irqfd: "relay"), make the platform with the events option (the system calls its routes make their eventfds with).',
      });
    }
    if (this.isDisposed) throw disposedError('RelayPlatform.createEvent', this.name);
    return routeEventFd(this.events, 'IrqFd.newIrqFdRoute');
  }

  /** As the epoll relay's: DISPOSED for a disposed platform or event (its number may be another file's now). */
  watch(slot: number, event: Event): void {
    if (this.isDisposed) throw disposedError('RelayPlatform.watch', this.name);
    if (event.disposed) throw disposedError('RelayPlatform.watch', "the route's eventfd");
    const e = event as EventFd;
    const fd = e.ownFd();
    const count = this.eventfds.counter(fd);
    if (count === undefined) {
      // A route's eventfd that is not this model's: the platform was made for another model.
      throw invalidArgument('RelayPlatform.watch', `eventfd ${fd} is not an eventfd of ${this.name}'s model: make the relay platform for the model the partition runs on`);
    }
    const ready = (): void => {
      const outcome = this.table.deliver(slot, () => e.consume(), this.injector.inject);
      if (outcome === 'delivered' || outcome === 'blocked') this.deliveries++;
    };
    this.stops.get(slot)?.();
    if (this.deferred) {
      this.parked.set(slot, { fd, ready });
      this.stops.set(slot, () => void this.parked.delete(slot));
      return;
    }
    const stop = this.eventfds.watchEventFd(fd, ready);
    this.stops.set(slot, stop);
    // epoll is level-triggered: an eventfd already readable when added wakes the waiter. It runs once
    // the caller returns, as a worker would: the caller may hold the slot's lock (a relay route arms
    // under it, and delivers a latched signal itself), which the waiter's delivery takes.
    if (count > 0n) {
      queueMicrotask(() => {
        if (this.stops.get(slot) === stop) ready();
      });
    }
  }

  unwatch(slot: number): void {
    this.stops.get(slot)?.();
    this.stops.delete(slot);
  }

  /** Slots watched now. */
  get watchedCount(): number {
    return this.stops.size;
  }

  /** Deferred: runs the waiter once over every readable watched eventfd. */
  settle(): Promise<void> {
    for (const { fd, ready } of [...this.parked.values()]) if ((this.eventfds.counter(fd) ?? 0n) > 0n) ready();
    return Promise.resolve();
  }

  /** Stops every watch and frees the injector. Idempotent. */
  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    for (const stop of this.stops.values()) stop();
    this.stops.clear();
    this.injector.free?.();
  }

  /** Resolves at once: the model has no waiter thread. */
  whenClosed(): Promise<void> {
    return Promise.resolve();
  }

  /** Same as {@link dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** What {@link modelRelayPlatformFactory} returns: a platform factory that keeps what it made. */
export type ModelRelayPlatformFactory = RelayPlatformFactory & {
  /** Every platform the factory made, oldest first (one per overflow relay started). */
  readonly platforms: ModelRelayPlatform[];
};

/**
 * The `relayPlatform` option of a Linux backend's partition on its kernel model: each relay the partition
 * starts gets a {@link ModelRelayPlatform} named `name` on `eventfds`, delivering with the injector
 * `injector()` builds at that moment (after the partition's fds exist). Errors thrown by `injector`
 * (no VM or partition open) reach the engine as the relay's start failure.
 */
export function modelRelayPlatformFactory(
  name: string,
  eventfds: ModelEventFdWatch,
  injector: () => ModelRelayInjector,
  options: ModelRelayOptions = {},
): ModelRelayPlatformFactory {
  const platforms: ModelRelayPlatform[] = [];
  const factory = (table: RelayRouteTable): ModelRelayPlatform => {
    const p = new ModelRelayPlatform(name, table, eventfds, injector(), options);
    platforms.push(p);
    return p;
  };
  return Object.assign(factory, { platforms });
}
