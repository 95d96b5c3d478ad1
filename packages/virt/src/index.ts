/**
 * `@tsvmm/virt`: the hypervisor-neutral irqfd contract, the x86 MSI codec and typed errors.
 * Backend implementors: the allocator, the relay, the event-kind helpers, the APIC register page,
 * validation helpers and error factories are on `@tsvmm/virt/implement`; the few re-exported here
 * are still imported from the root by the other packages.
 */
export * from './errors';
export { decodeMsi, DEFAULT_MSI_POLICY, describeMsi, encodeMsi, msiAddress, parseMsi, sameMsi, toMsiMessage, translateExtendedDestinationId, validateMsi } from './msi/codec';
export type { DeliveryMode, MsiBitRange, MsiEncodeInput, MsiFieldName, MsiFields, MsiMessage, MsiPolicy, MsiWord } from './msi/codec';
export type { Disposable } from './disposable';
export type { Event, EventBase, EventFdEvent, EventKind, InProcessEventShape, KindedEvent, Win32Event } from './contract/event';
export type { IrqFdCapabilities, IrqFdMediation, PartitionCapabilities } from './contract/capabilities';
export type { IrqFd, IrqFdRoute } from './contract/irqfd';
export { settleIrqFd } from './contract/irqfd';
export type { GuestEoiAccess, IoApicAccess, IoApicPinState, IoApicRedirection, IoApicState, LevelIrqFdRoute } from './contract/level';
export { IOAPIC_PINS, hasIoApicAccess, newLevelRoute } from './contract/level';
export { hasLocalApicAccess } from './contract/partition';
export type { LocalApicAccess, LocalApicState, Partition } from './contract/partition';
export type { BackendDescriptor, BackendOpenOptions, BackendProbe, BackendProbeCode, X2apicPartitionProbe } from './contract/probe';

// Implementor names still imported from the root by the backends; everything else of the
// implementor API is on `@tsvmm/virt/implement` only.
export { checkInteger, describeValue } from './validate';
export { SlotAllocator } from './alloc/slot-allocator';
export { partitionCapabilities } from './contract/partition-capabilities';
export { RelayIrqFd } from './relay/relay-irqfd';
export type { RelayPlatform, RelayPlatformFactory } from './relay/platform';
export { RelayRouteTable } from './relay/route-table';
export type { RawInjector } from './relay/route-table';
