/**
 * `@tsvmm/virt-mshv`: the partition on Linux `/dev/mshv`, its backend descriptor and probe. The
 * irqfd engine's mshv description, the injectors, the raw ABI and calls are on
 * `@tsvmm/virt-mshv/implement`; the driver model on `@tsvmm/virt-mshv/testing`.
 */
export { MshvPartition, MSHV_MAX_IRQFD_ROUTES } from './partition';
export type { MshvCapabilities, MshvPartitionOptions } from './partition';
export { MshvHypercallError } from './errors';
export type { MshvIrqFd, MshvIrqFdRoute } from './irqfd';
export type { AssertInterruptInjector } from './assert-interrupt';
export type { PinnedBuffer, UserMemory } from './memory';
export { mshvBackend, probe } from './backend';
export type { MshvBackendProbe, MshvProbeCode, MshvProbeOptions } from './backend';
