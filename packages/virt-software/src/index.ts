export { SoftwarePartition, probe } from './software-partition';
export type { SoftwarePartitionOptions } from './software-partition';
export { LocalApicModel } from './local-apic-model';
