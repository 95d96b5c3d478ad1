/**
 * Device assignment on top of an open `VfioDevice`: the object a VMM plugs into its bus.
 *
 * - `assigned-device.ts`: config-space proxy and BAR split; reset, save/restore, dispose.
 * - `bars.ts`: BAR kinds and sizes, the guest's virtual BAR/ROM registers, mmap-able ranges.
 * - `msix-binding.ts`, `msi-binding.ts`, `irq-index.ts`: MSI-X and MSI delivered by irqfd through
 *   `VFIO_DEVICE_SET_IRQS`.
 * - `intx-binding.ts`: INTx through a level irqfd with resample, or user space.
 * - `dma.ts`: guest RAM mapped for DMA.
 */
export { AssignedPciDevice } from './assigned-device';
export type { AssignedIntxIrqFdOptions, AssignedIntxOptions, AssignedIntxUserSpaceOptions, AssignedPciDeviceOptions, AssignedPciDeviceState } from './assigned-device';
export type { AssignedBar, BarRange } from './bars';
export type { GuestRamMapping } from './dma';
