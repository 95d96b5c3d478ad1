/**
 * For code that builds on the WHP backend's parts rather than on `WhpPartition`: the platform
 * check, the `WHV_INTERRUPT_CONTROL` / `WHV_TRIGGER_PARAMETERS` encoders and MSI policies, the
 * xAPIC page decoder, the WHP and kernel32 bindings, and the raw ABI (`abi`).
 */
export { checkWhpPlatform } from '../partition';
export { INTERRUPT_CONTROL_FIELDS, WHP_MSI_POLICY, interruptControl, triggerParameters, whpX2apicMsiPolicy } from '../encode';
export { decodeLapicPage } from '../lapic';
export { SYSTEM_LIBRARIES, WHP_LATE_EXPORTS, WhpCalls, whpCalls } from '../calls';
export * as abi from '../abi';
