export * as vfioAbi from './abi';
export * as vfioCalls from './calls';
export type { CapabilityRef, DeviceInfo, DmaMapping, Errno, IommuInfo, IovaRange, IrqAction, IrqInfo, IrqSetData, RegionInfo, RegionType, SparseMmapArea } from './calls';
export { checkVfioSyscalls, vfioSyscalls } from './sys';
export type { VfioSyscalls } from './sys';
export { VfioDevice, readVfioSysfs } from './device';
export type { GroupMember, VfioOpenOptions, VfioSysfsFacts } from './device';
export { AssignedPciDevice } from './assigned';
export type {
  AssignedBar,
  AssignedIntxIrqFdOptions,
  AssignedIntxOptions,
  AssignedIntxUserSpaceOptions,
  AssignedPciDeviceOptions,
  AssignedPciDeviceState,
  BarRange,
  GuestRamMapping,
} from './assigned';
