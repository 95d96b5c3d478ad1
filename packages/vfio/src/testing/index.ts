/**
 * Test support for code built on `@tsvmm/vfio`: a model of the VFIO kernel interface behind the
 * `VfioSyscalls` seam (no /dev/vfio or device needed), with device-side interrupt hooks.
 */
export { ModelPciDevice, VfioKernelModel } from './vfio-model';
export type { ModelAdvancedFeaturesSpec, ModelBar, ModelDeviceSpec, ModelDmaMapping, ModelPcieSpec, ModelIrqState, RaiseOutcome, VfioModelOptions } from './vfio-model';
export { VfioModelBridge } from './model-bridge';
export type { EventfdModel } from './model-bridge';
