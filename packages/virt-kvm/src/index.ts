export { KvmPartition, kvmRelayInjector } from './partition';
export type { KvmIrqFdMode, KvmPartitionOptions } from './partition';
export { KvmIrqFd, KvmIrqFdRoute } from './irqfd';
export { GsiRoutingTable, FIRST_MSI_GSI, LEGACY_ROUTES } from './gsi-routing';
export { KVM_DEVICE, checkExtension, openKvm, probeExtensions } from './device';
export type { KvmExtensions } from './device';
export { kvmSignalMsiInjector, signalMsiInjector } from './signal-msi';
export { probe } from './probe';
export { kvmBackend, type KvmBackendProbe, type KvmProbeCode } from './backend';
