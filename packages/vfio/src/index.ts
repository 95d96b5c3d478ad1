export * as vfioAbi from './abi';
export * as vfioCalls from './calls';
export type { DeviceInfo, DmaMapping, Errno, IommuInfo, IrqAction, IrqInfo, IrqSetData, RegionInfo } from './calls';
export { checkVfioSyscalls, vfioSyscalls } from './sys';
export type { VfioSyscalls } from './sys';
