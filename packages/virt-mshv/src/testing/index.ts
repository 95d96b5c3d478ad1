/**
 * Test support for code that drives /dev/mshv: a byte-exact model of the kernel driver behind the
 * `Syscalls` seam, delivering into the shared APIC model.
 */
export { MshvKernelModel, ModelPartition } from './kernel-model';
export type { EventFdObject, MshvHazard, MshvKernelModelOptions, ModelIrqfd, ModelRoute, ModelVp } from './kernel-model';
export { ModelRelayPlatform, modelRelayPlatform } from './relay-platform';
