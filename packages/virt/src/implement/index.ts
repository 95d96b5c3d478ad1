/**
 * `@tsvmm/virt/implement`: what a backend implementor needs and an application does not — the
 * number allocator, the user-space relay and its parts, the validation helpers and the error
 * factories. Applications import `@tsvmm/virt`.
 */
export { SlotAllocator } from '../alloc/slot-allocator';
export { RelayIrqFd } from '../relay/relay-irqfd';
export { IrqFdRouteBase } from '../relay/route-base';
export type { RelayIrqFdOptions } from '../relay/relay-irqfd';
export type { AcceptedRelayPlatform, RelayPlatform, RelayPlatformCall, RelayPlatformFactory } from '../relay/platform';
export { callRelayPlatform, createRelayPlatform, disposeRelayPlatform, settleRelayPlatform, whenRelayPlatformClosed } from '../relay/platform';
export { FLAG_HAS_MSI, FLAG_MASKED, MAX_SLOTS, RelayRouteTable, WORDS_PER_SLOT, isArmed } from '../relay/route-table';
export type { DeliverOutcome, RawInjector } from '../relay/route-table';
export { InProcessEvent, InProcessRelayPlatform } from '../relay/in-process';
export { onEventDisposing } from '../relay/event-disposal';
export type { DisposeHookEvent } from '../relay/event-disposal';
export { SLOT_LAYOUT, deliverSlot, lockSlot, unlockSlot } from '../relay/slot-ops';
export type { SlotLayout } from '../relay/slot-ops';
export { checkBoolean, checkConstructToken, checkFunction, checkInteger, checkMethods, checkNotThenable, checkObject, checkOptions, checkString, describeError, describeValue, hex } from '../validate';
export { VIRT_ERROR_BRAND, disposedError, exhaustedError, invalidArgument, routeEventDisposed } from '../errors';
export { readOptionsOnce, thrownVirtError } from '../thrown';
export type { ThrownVirtError } from '../thrown';
export { parseMsi, parseMsiWords, sameMsi, toMsiMessage, validateMsi } from '../msi/codec';
export { msiHalvesOf } from './msi-halves';
export type { MsiHalvesRoute } from './msi-halves';
export type { MsiPolicy } from '../msi/codec';
export { partitionCapabilities } from '../contract/partition-capabilities';
export type { PartitionFacts } from '../contract/partition-capabilities';
export { checkMsiStructFields, encodeMsiFields, msiBits } from '../msi/msi-fields';
export { DELIVERY_MODE_CODES, MSI_BITS, MSI_WINDOW_BASE, MSI_WINDOW_LAST, checkMsiPolicy } from '../msi/codec';
export { isEventFd, isWin32Event, kindedEvent } from '../contract/event';
export { APIC_SOFTWARE_ENABLE, HV_LOCAL_APIC_PAGE, XAPIC_REGISTER_PAGE, apicVectors, clearApicIrr, readApicPage, softwareEnableApic } from '../lapic/register-page';
export type { ApicPageFormat } from '../lapic/register-page';
export type { MsiBitsSource, MsiFieldValue, MsiStructField } from '../msi/msi-fields';
export type { RedirectionWords } from '../contract/level';
export { IOREDTBL, checkLevelGsi, decodeRedirection, encodeRedirection, levelGsiBusy, levelRoutesUnsupported } from '../contract/level';
export { LevelRouteTable } from '../relay/level-routes';
export type { LevelRouteMaker, LevelRouteProvider } from '../relay/level-routes';
