/**
 * The overflow relay's platform on the mshv kernel model (the shared model waiter of
 * `@tsvmm/linux-sys/testing`): the waiter injects with HvCallAssertVirtualInterrupt through the
 * model's system calls, as the epoll worker does on a real host.
 */
import type { Syscalls } from '@tsvmm/linux-sys';
import { type ModelRelayOptions, ModelRelayPlatform } from '@tsvmm/linux-sys/testing';
import type { RelayPlatformFactory, RelayRouteTable } from '@tsvmm/virt';
import { assertInterruptInjector } from '../assert-interrupt';
import type { MshvKernelModel } from './kernel-model';

export { ModelRelayPlatform };

/**
 * A platform factory for `MshvPartition.create({ overflow })` on the model: the waiter injects on
 * the model's newest open partition, through `sys` (the model, or a FaultInjector around it).
 * With `options.deferred` the waiter runs only inside `settle()`, so signals on relayed routes stay
 * in flight until then.
 */
export function modelRelayPlatform(
  model: MshvKernelModel,
  sys: Syscalls = model,
  options: ModelRelayOptions = {},
): RelayPlatformFactory & {
  /** Every platform the factory made, oldest first (one per overflow relay started). */
  readonly platforms: ModelRelayPlatform[];
} {
  const platforms: ModelRelayPlatform[] = [];
  const eventfds = { watch: (fd: number, ready: () => void) => model.watchEventfd(fd, ready), counter: (fd: number) => model.eventfdCounter(fd) };
  const factory = (table: RelayRouteTable): ModelRelayPlatform => {
    const fd = model.newestPartitionFd();
    if (fd === undefined) throw new Error('the model has no open partition');
    const p = new ModelRelayPlatform('mshv model waiter', table, eventfds, assertInterruptInjector(sys, model, fd, 'model relay waiter: inject'), options);
    platforms.push(p);
    return p;
  };
  return Object.assign(factory, { platforms });
}
