/**
 * The overflow relay's platform on the mshv kernel model: instead of an epoll worker thread, the
 * model calls the waiter inside the eventfd write that makes a watched eventfd readable, and the
 * waiter injects with HvCallAssertVirtualInterrupt through the model's system calls, as the epoll
 * worker does on a real host.
 */
import type { EventFd, Syscalls } from '@tsvmm/linux-sys';
import type { Event, RelayPlatform, RelayPlatformFactory, RelayRouteTable } from '@tsvmm/virt';
import { type AssertInterruptInjector, assertInterruptInjector } from '../assert-interrupt';
import type { MshvKernelModel } from './kernel-model';

export class ModelRelayPlatform implements RelayPlatform {
  readonly name = 'mshv model waiter';
  /** Deliveries the waiter made (delivered or blocked), for tests. */
  deliveries = 0;
  private readonly stops = new Map<number, () => void>();

  constructor(
    private readonly table: RelayRouteTable,
    private readonly model: MshvKernelModel,
    private readonly injector: AssertInterruptInjector,
  ) {}

  createEvent(): Event {
    throw new Error('the overflow relay uses the route’s own eventfd');
  }

  watch(slot: number, event: Event): void {
    const e = event as EventFd;
    const fd = e.ownFd();
    const ready = (): void => {
      const outcome = this.table.deliver(slot, () => e.consume(), this.injector.inject);
      if (outcome === 'delivered' || outcome === 'blocked') this.deliveries++;
    };
    this.stops.get(slot)?.();
    this.stops.set(slot, this.model.watchEventfd(fd, ready));
    // epoll is level-triggered: an eventfd already readable when added wakes the waiter at once.
    if ((this.model.eventfdCounter(fd) ?? 0n) > 0n) ready();
  }

  unwatch(slot: number): void {
    this.stops.get(slot)?.();
    this.stops.delete(slot);
  }

  /** Slots watched now. */
  get watchedCount(): number {
    return this.stops.size;
  }

  settle(): Promise<void> {
    return Promise.resolve();
  }

  dispose(): void {
    for (const stop of this.stops.values()) stop();
    this.stops.clear();
    this.injector.free();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * A platform factory for `MshvPartition.create({ overflow })` on the model: the waiter injects on
 * the model's newest open partition, through `sys` (the model, or a FaultInjector around it).
 */
export function modelRelayPlatform(model: MshvKernelModel, sys: Syscalls = model): RelayPlatformFactory & { readonly platforms: ModelRelayPlatform[] } {
  const platforms: ModelRelayPlatform[] = [];
  const factory = (table: RelayRouteTable): ModelRelayPlatform => {
    const fd = model.newestPartitionFd();
    if (fd === undefined) throw new Error('the model has no open partition');
    const p = new ModelRelayPlatform(table, model, assertInterruptInjector(sys, model, fd, 'model relay waiter: inject'));
    platforms.push(p);
    return p;
  };
  return Object.assign(factory, { platforms });
}
