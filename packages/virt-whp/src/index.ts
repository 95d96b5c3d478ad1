/**
 * `@tsvmm/virt-whp`: the partition on the Windows Hypervisor Platform, its backend descriptor and
 * probe. The trigger encoders, the WHP bindings and the raw ABI are on `@tsvmm/virt-whp/implement`.
 */
export { WhpPartition, WHP_DEFAULT_IN_FLIGHT_WAIT_MS, WHP_DEFAULT_MAX_ROUTES, WHP_MAX_VCPUS, WHP_MAX_X2APIC_VCPUS } from './partition';
export type { WhpExports, WhpPartitionOptions } from './partition';
export { WhpIrqFd, WhpIrqFdRoute } from './irqfd';
export { Win32Event } from './win32-event';
export type { WhpLateExport, WhpLibraryPaths } from './calls';
export { whpBackend, probe } from './backend';
export type { WhpBackend, WhpProbe, WhpProbeCode } from './backend';
