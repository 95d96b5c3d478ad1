/**
 * The overflow relay's platform on the KVM model (the shared model waiter of
 * `@tsvmm/linux-sys/testing`): the waiter runs the epoll worker's injector (the KVM_SIGNAL_MSI
 * spec of `kvmRelayInjector`, built by `ioctlSpecInjector`) through the model's system calls, as
 * the epoll worker does on a VM.
 */
import { type Syscalls, syscallSpecInjector } from '@tsvmm/linux-sys';
import { type ModelRelayOptions, ModelRelayPlatform } from '@tsvmm/linux-sys/testing';
import { type RelayPlatformFactory, type RelayRouteTable, describeValue, invalidArgument } from '@tsvmm/virt';
import { kvmRelayInjector } from '../partition';
import { KvmKernelModel } from './kvm-model';

export { ModelRelayPlatform };

/**
 * A platform factory for `KvmPartition.create({ overflow })` on the model: the waiter injects
 * with KVM_SIGNAL_MSI on the model's VM through `sys` (the model, or a FaultInjector around it).
 * With `options.deferred` the waiter runs only inside `settle()`, so signals on relayed routes stay
 * in flight until then.
 */
export function modelRelayPlatform(
  model: KvmKernelModel,
  sys: Syscalls = model,
  options: ModelRelayOptions = {},
): RelayPlatformFactory & {
  /** Every platform the factory made, oldest first (one per overflow relay started). */
  readonly platforms: ModelRelayPlatform[];
} {
  if (!(model instanceof KvmKernelModel)) throw invalidArgument('modelRelayPlatform', `model must be a KvmKernelModel, got ${describeValue(model)}`);
  const platforms: ModelRelayPlatform[] = [];
  const factory = (table: RelayRouteTable): ModelRelayPlatform => {
    const vmFd = modelVmFd(model);
    // The worker's own injector spec and builder, with the model's system calls.
    const p = new ModelRelayPlatform('KVM model waiter', table, model.files, syscallSpecInjector(kvmRelayInjector(vmFd), sys, NO_INPUT_MEMORY), options);
    platforms.push(p);
    return p;
  };
  return Object.assign(factory, { platforms });
}

/** KVM_SIGNAL_MSI has no input buffer: nothing is ever allocated. */
const NO_INPUT_MEMORY = {
  allocate(): never {
    throw new Error('KVM_SIGNAL_MSI has no input buffer');
  },
  free(): void {},
};

function modelVmFd(model: KvmKernelModel): number {
  const fd = model.fdOf(model.vm);
  if (fd === undefined) throw new Error('the model VM is closed');
  return fd;
}
