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
