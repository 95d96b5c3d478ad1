/**
 * For code that builds on the KVM backend's parts rather than on `KvmPartition`: the irqfd
 * engine's KVM description ({@link kvmIrqFdBackend}), the routing table's encoding and legacy
 * routes, the device helpers, the injectors, and the raw ABI (`kvm`) and calls (`kvmCalls`).
 */
export { kvmRelayInjector } from '../partition';
export { kvmIrqFdBackend } from '../irqfd';
export type { KvmIrqFdBackendOptions } from '../irqfd';
export { FIRST_MSI_GSI, LEGACY_ROUTES, kvmRoutingTableLayout } from '../gsi-routing';
export type { LegacyRoute } from '../gsi-routing';
export { KVM_DEVICE, checkExtension, openKvm, probeExtensions } from '../device';
export { signalMsiInjector } from '../signal-msi';
export * as kvm from '../abi';
export * as kvmCalls from '../calls';
