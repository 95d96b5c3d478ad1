export type { IrqFdArgLayout, IrqFdBackend, IrqFdIoctls, MsiEntryLayout, MsiEntryType, RoutingTableLayout } from './backend';
export { DEFAULT_MAX_ROUTES, DESCRIPTOR_RESERVE, IrqFdEngine, MAX_DERIVED_ROUTES, descriptorsPerRoute, routeBudget } from './engine';
export type { IrqFdEngineOptions } from './engine';
export { createLinuxIrqFd, createPartitionIrqFd } from './create';
export type { LinuxIrqFdOptions, PartitionIrqFdSettings } from './create';
export { EngineRoute } from './route';
export type { RouteRequest } from './route';
export { RoutingTable } from './routing-table';
export { OverflowRelay } from './overflow';
