export { SoftwarePartition, probe } from './software-partition';
export type { SoftwarePartitionOptions } from './software-partition';
/** The local APIC model now lives with the shared test models (`@tsvmm/virt/testing`). */
export { LocalApicModel } from '@tsvmm/virt/testing';
export { softwareBackend, type SoftwareBackendProbe } from './backend';
