/**
 * A user-space relay platform over the kernel model's eventfds: what the epoll worker does on a
 * real host (wait for a route's eventfd, then inject its MSI), done synchronously inside the
 * write that makes the eventfd readable. Lets the engine's overflow path run against the model.
 */
import type { Event, RawInjector, RelayPlatform, RelayPlatformFactory, RelayRouteTable } from '@tsvmm/virt';
import type { MshvKernelModel } from './kernel-model';

interface OwnFd {
  ownFd?: () => number;
}

class ModelRelayPlatform implements RelayPlatform {
  readonly name = 'kernel model (synchronous)';
  private readonly stops = new Map<number, () => void>();

  constructor(
    private readonly model: MshvKernelModel,
    private readonly table: RelayRouteTable,
    private readonly inject: RawInjector,
  ) {}

  createEvent(): Event {
    throw new RangeError('the model relay watches the routes’ own eventfds; it creates none');
  }

  watch(slot: number, event: Event): void {
    const fd = (event as OwnFd).ownFd?.() ?? event.fd;
    if (fd === undefined) throw new RangeError('the model relay needs an eventfd');
    this.stops.get(slot)?.();
    this.stops.set(slot, this.model.watchEventfd(fd, () => void this.table.deliver(slot, () => event.consume(), this.inject)));
    // epoll reports a counter that was already set when the watch starts
    if (this.model.eventfdCounter(fd)! > 0n) this.table.deliver(slot, () => event.consume(), this.inject);
  }

  unwatch(slot: number): void {
    this.stops.get(slot)?.();
    this.stops.delete(slot);
  }

  settle(): Promise<void> {
    return Promise.resolve();
  }

  dispose(): void {
    for (const stop of this.stops.values()) stop();
    this.stops.clear();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** The relay factory for a partition over `model`; `inject` delivers (usually the model partition's hypercall path). */
export function modelRelayPlatform(model: MshvKernelModel, inject: RawInjector): RelayPlatformFactory {
  return (table) => new ModelRelayPlatform(model, table, inject);
}
