export { describeWithDevice, deviceAbsenceReason } from './describe-with-device';
export { FaultInjector } from './fault-injector';
export type { SyscallMatcher, SyscallName, SyscallRecord } from './fault-injector';
export { REC_ADDRESS_HI, REC_ADDRESS_LO, REC_COUNT, REC_DATA, REC_WORDS, recordingInjector } from './injectors';

import { recordInjector } from '../relay/injector-spec';
import type { RecordInjectorSpec } from '../relay/protocol';

/**
 * The relay worker's injector that does what {@link recordingInjector} does (count, keep the last
 * message in `shared`), passed as data: no module path, nothing to build first.
 */
export function recordingInjectorSpec(shared: SharedArrayBuffer): RecordInjectorSpec {
  return recordInjector(shared);
}
export * from './irqfd-fault/index';
export { ModelRelayPlatform, modelRelayPlatformFactory } from './model-relay-platform';
export type { ModelEventFdWatch, ModelRelayInjector, ModelRelayOptions, ModelRelayPlatformFactory } from './model-relay-platform';
export { ModelFileTable, isEventFd } from './model-files';
export type { ModelEventFd, ModelFileTableOptions } from './model-files';
export { ModelKernel } from './model-kernel';
export { denySyscalls } from './seccomp';
export { ForwardingSyscalls } from './forwarding-syscalls';
export { ProcessEventFds } from './process-eventfds';
export { MODEL_FILES_GSI, MODEL_FILES_VECTOR, modelFileTests } from './model-files-suite';
export type { ModelFilesSyscalls, ModelFilesWorld } from './model-files-suite';
export { irqFdEventNumberTests, irqFdRouteCycleTests, linuxIrqFdTarget } from './route-suites';
export { linuxTestTarget, modelAndDevice, modelOnly, targetKernels } from './target-kernels';
export type { BuiltTestTarget, InjectedTargetKernel, LinuxTestTarget, LinuxTestTargetParts, ModelAndDevice, ModelKernelOptions, TargetCreateOptions, TargetDevice, TargetKernel, TargetKernels } from './target-kernels';
export type { BackendPartition, BackendReads, BackendTestTarget, InjectedSyscalls, LinuxIrqFdPartition, LinuxIrqFdTarget, ModelKernelState, OverflowOptions } from './route-suites';
export { REFUSED_RELAY_PLATFORMS, overflowRelayPlatformTests } from './overflow-relay-suite';
export type { RefusedRelayPlatform } from './overflow-relay-suite';
export { LINUX_SEAM_CASES } from './hostile-seams';
export { ioctlStruct, modelStruct } from './ioctl-struct';
export type { ModelField, ModelFieldType, ModelFieldValues, ModelStruct, ModelStructArg } from './ioctl-struct';
export { defineLinuxHostileOptionsTests } from './hostile-options-suite';
export type { LinuxHostileOptionsBackend } from './hostile-options-suite';
export { msiTo } from './msi-to';
export type { TestMsi } from './msi-to';
