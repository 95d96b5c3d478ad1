/**
 * The overflow relay's platform on the KVM model: instead of an epoll worker thread, the model
 * calls the waiter inside the eventfd write that makes a watched eventfd readable, and the waiter
 * injects with KVM_SIGNAL_MSI through the model's system calls, as the epoll worker does on a VM.
 */
import type { EventFd, Syscalls } from '@tsvmm/linux-sys';
import type { Event, RawInjector, RelayPlatform, RelayPlatformFactory, RelayRouteTable } from '@tsvmm/virt';
import { signalMsiInjector } from '../signal-msi';
import type { KvmKernelModel } from './kvm-model';

export class ModelRelayPlatform implements RelayPlatform {
  readonly name = 'KVM model waiter';
  /** Deliveries the waiter made (delivered or blocked), for tests. */
  deliveries = 0;
  private readonly watched = new Map<number, number>();

  constructor(
    private readonly table: RelayRouteTable,
    private readonly model: KvmKernelModel,
    private readonly inject: RawInjector,
  ) {}

  createEvent(): Event {
    throw new Error('the overflow relay uses the route’s own eventfd');
  }

  watch(slot: number, event: Event): void {
    const e = event as EventFd;
    const fd = e.ownFd();
    this.watched.set(slot, fd);
    const ready = (): void => {
      const outcome = this.table.deliver(slot, () => e.consume(), this.inject);
      if (outcome === 'delivered' || outcome === 'blocked') this.deliveries++;
    };
    this.model.setReadableListener(fd, ready);
    // epoll is level-triggered: an eventfd already readable when added wakes the waiter at once.
    if ((this.model.eventfdCount(fd) ?? 0n) > 0n) ready();
  }

  unwatch(slot: number, event: Event): void {
    const fd = (event as EventFd).ownFd();
    this.watched.delete(slot);
    if (this.model.eventfdCount(fd) !== undefined) this.model.setReadableListener(fd, undefined);
  }

  /** Slots watched now. */
  get watchedCount(): number {
    return this.watched.size;
  }

  settle(): Promise<void> {
    return Promise.resolve();
  }

  dispose(): void {
    this.watched.clear();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * A platform factory for `KvmPartition.create({ overflow })` on the model: the waiter injects
 * with KVM_SIGNAL_MSI on the model's VM through `sys` (the model, or a FaultInjector around it).
 */
export function modelRelayPlatform(model: KvmKernelModel, sys: Syscalls = model): RelayPlatformFactory & { readonly platforms: ModelRelayPlatform[] } {
  const platforms: ModelRelayPlatform[] = [];
  const factory = (table: RelayRouteTable): ModelRelayPlatform => {
    const vmFd = modelVmFd(model);
    const p = new ModelRelayPlatform(table, model, signalMsiInjector(sys, vmFd, 'model relay waiter: inject'));
    platforms.push(p);
    return p;
  };
  return Object.assign(factory, { platforms });
}

function modelVmFd(model: KvmKernelModel): number {
  const fd = model.fdOf(model.vm);
  if (fd === undefined) throw new Error('the model VM is closed');
  return fd;
}
