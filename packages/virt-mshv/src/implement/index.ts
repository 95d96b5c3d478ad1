/**
 * For code that builds on the mshv backend's parts rather than on `MshvPartition`: the irqfd
 * engine's mshv description ({@link mshvIrqFdBackend}), the MSI policy, the assert-interrupt and
 * relay injectors, pinned memory, the device opener, the raw ABI (`abi`) and one function per ioctl.
 */
export { openMshv } from '../device';
export { MSHV_MSI_POLICY, parseMshvMsi } from '../msi-policy';
export { ASSERT_INTERRUPT_ATTEMPTS, assertInterruptInjector } from '../assert-interrupt';
export { mshvRelayInjector } from '../relay-injector';
export { MSHV_FIRST_GSI, mshvIrqFdBackend } from '../irqfd';
export type { MshvIrqFdBackendOptions } from '../irqfd';
export { koffiMemory } from '../memory';
export * as abi from '../abi';
export * from '../calls';
