/**
 * The user-space relay's platform on the KVM model (the shared model waiter of
 * `@tsvmm/linux-sys/testing`): the waiter runs the epoll worker's injector (the KVM_SIGNAL_MSI
 * spec of `kvmRelayInjector`, built by `ioctlSpecInjector`) through the model's system calls, as
 * the epoll worker does on a VM.
 */
import { type Syscalls, syscallSpecInjector } from '@tsvmm/linux-sys';
import { type ModelRelayOptions, ModelRelayPlatform, type ModelRelayPlatformFactory, modelRelayPlatformFactory } from '@tsvmm/linux-sys/testing';
import { describeValue, invalidArgument } from '@tsvmm/virt/implement';
import { kvmRelayInjector } from '../partition';
import { KvmKernelModel } from './kvm-model';

export { ModelRelayPlatform };

/**
 * A platform factory for `KvmPartition.create({ relayPlatform })` on the model, for the overflow
 * relay and for `irqfd: 'relay'`: the waiter injects with KVM_SIGNAL_MSI on the model's VM through
 * `sys` (the model, or a FaultInjector around it); a relay-mode irqfd's routes make their eventfds
 * on `options.events` (default `sys`). With `options.deferred` the waiter runs only inside
 * `settle()`, so signals on relayed routes stay in flight until then. `platforms` lists every
 * platform it made, oldest first.
 *
 * @throws VirtError INVALID_ARGUMENT unless `model` is a {@link KvmKernelModel}.
 */
export function modelRelayPlatform(model: KvmKernelModel, sys: Syscalls = model, options: ModelRelayOptions = {}): ModelRelayPlatformFactory {
  if (!(model instanceof KvmKernelModel)) throw invalidArgument('modelRelayPlatform', `model must be a KvmKernelModel, got ${describeValue(model)}`);
  // The worker's own injector spec and builder, with the model's system calls.
  return modelRelayPlatformFactory('KVM model waiter', model.files, () => syscallSpecInjector(kvmRelayInjector(modelVmFd(model)), sys, NO_INPUT_MEMORY), { ...options, events: options.events ?? sys });
}

/** KVM_SIGNAL_MSI has no input buffer: nothing is ever allocated. */
const NO_INPUT_MEMORY = {
  allocate(): never {
    throw new Error('KVM_SIGNAL_MSI has no input buffer');
  },
  free(): void {},
};

function modelVmFd(model: KvmKernelModel): number {
  let fd: number | undefined;
  try {
    fd = model.fdOf(model.vm);
  } catch {
    fd = undefined; // `vm` throws while the model has made none
  }
  if (fd === undefined) {
    throw invalidArgument('modelRelayPlatform', "the model has no open VM: the relay platform must be made for the model the partition runs on (modelRelayPlatform(model) with the partition's own sys)");
  }
  return fd;
}
