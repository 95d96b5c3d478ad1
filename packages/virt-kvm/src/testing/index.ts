/**
 * Test support for code built on the KVM backend: a model of the KVM interface behind the
 * `Syscalls` seam (no /dev/kvm needed), and the overflow relay's platform on it.
 */
export { KvmKernelModel, VmObject } from './kvm-model';
export type { ApicLogicalMode, ApicMap, EventFdObject, KvmModelOptions, ModelIrqfd, ModelRoute, VcpuObject } from './kvm-model';
export { ModelRelayPlatform, modelRelayPlatform } from './model-relay-platform';
