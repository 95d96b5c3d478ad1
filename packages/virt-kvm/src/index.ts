/**
 * `@tsvmm/virt-kvm`: the partition on Linux KVM, its backend descriptor and probe. The irqfd
 * engine's KVM description, the raw ABI and calls, and the device helpers are on
 * `@tsvmm/virt-kvm/implement`; the kernel model on `@tsvmm/virt-kvm/testing`.
 */
export { KvmPartition } from './partition';
export type { KvmIrqFdMode, KvmPartitionOptions } from './partition';
export type { KvmIrqFd, KvmIrqFdRoute } from './irqfd';
export type { KvmExtensions } from './device';
export { kvmBackend, probe, type KvmBackendProbe, type KvmProbeCode } from './backend';
