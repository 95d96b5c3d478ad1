/**
 * The overflow relay's platform on the mshv kernel model (the shared model waiter of
 * `@tsvmm/linux-sys/testing`): the waiter runs the epoll worker's injector (the spec of
 * `mshvRelayInjector`, built by `ioctlSpecInjector`) through the model's system calls and address
 * space, so the model decodes the bytes the worker would hand the kernel.
 */
import { type Syscalls, syscallSpecInjector } from '@tsvmm/linux-sys';
import { type ModelRelayOptions, ModelRelayPlatform, type ModelRelayPlatformFactory, modelRelayPlatformFactory } from '@tsvmm/linux-sys/testing';
import { mshvRelayInjector } from '../relay-injector';
import { invalidArgument } from '@tsvmm/virt/implement';
import type { MshvKernelModel } from './kernel-model';

export { ModelRelayPlatform };

/**
 * A platform factory for `MshvPartition.create({ relayPlatform })` on the model: the waiter injects on
 * the model's newest open partition, through `sys` (the model, or a FaultInjector around it).
 * With `options.deferred` the waiter runs only inside `settle()`, so signals on relayed routes stay
 * in flight until then. `platforms` lists every platform it made, oldest first.
 */
export function modelRelayPlatform(model: MshvKernelModel, sys: Syscalls = model, options: ModelRelayOptions = {}): ModelRelayPlatformFactory {
  return modelRelayPlatformFactory(
    'mshv model waiter',
    model.files,
    () => {
      const fd = model.newestPartitionFd();
      if (fd === undefined) {
        throw invalidArgument('modelRelayPlatform', "the model has no open partition: the relay platform must be made for the model the partition runs on (modelRelayPlatform(model) with the partition's own sys)");
      }
      // The worker's own injector spec and builder, with the model's system calls and address space.
      return syscallSpecInjector(mshvRelayInjector(fd), sys, model);
    },
    options,
  );
}
