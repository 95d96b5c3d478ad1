export { MsixEmulator } from './emulator';
export type { MsixAccessBuffer, MsixAccessValue, MsixEmulatorOptions, MsixEntry, MsixRegion, MsixRouteOptions } from './emulator';
export type { MsiInjector, MsixBatch, MsixErrorHandler, MsixRoute } from './route';
export type { MsixState } from './state';
export {
  MSIX_CAPABILITY_ID,
  MSIX_CAPABILITY_SIZE,
  MSIX_CONTROL_ENABLE,
  MSIX_CONTROL_FUNCTION_MASK,
  MSIX_ENTRY_ADDRESS_HI,
  MSIX_ENTRY_ADDRESS_LO,
  MSIX_ENTRY_DATA,
  MSIX_ENTRY_SIZE,
  MSIX_ENTRY_VECTOR_CONTROL,
  MSIX_MAX_VECTORS,
  MSIX_VECTOR_MASKED,
  checkLayout,
  pbaSizeFor,
  tableSizeFor,
} from './layout';
export type { MsixLayout, MsixLayoutOptions, MsixPlacement } from './layout';
export { IrqFdMsixRoute, createIrqFdMsixRoutes, joinAddress, partitionInjector } from './irqfd-adapter';
export type { IrqFdMsixRoutes } from './irqfd-adapter';
export { MsiEmulator } from './msi-emulator';
export type { MsiControlHandler, MsiEmulatorOptions, MsiMessageView } from './msi-emulator';
export type { MsiState } from './msi-state';
export {
  MSI_ADDRESS_HI,
  MSI_ADDRESS_LO,
  MSI_CAPABILITY_ID,
  MSI_CONTROL_64BIT,
  MSI_CONTROL_ENABLE,
  MSI_CONTROL_MME,
  MSI_CONTROL_MMC,
  MSI_CONTROL_PER_VECTOR_MASKING,
  MSI_MAX_VECTORS,
  MSI_VECTOR_COUNTS,
  checkMsiLayout,
  msiCapabilitySize,
} from './msi-layout';
export type { MsiLayout, MsiLayoutOptions } from './msi-layout';
export { createIrqFdMsiRoutes } from './irqfd-adapter';
export type { IrqFdMsiRoutes } from './irqfd-adapter';
