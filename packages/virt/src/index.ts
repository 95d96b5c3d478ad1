/**
 * `@tsvmm/virt`: the hypervisor-neutral irqfd contract, the x86 MSI codec and typed errors.
 *
 * What is exported here follows one rule: a VMM author writing a device model or wiring a backend
 * into a VMM needs it — the contract's types, the MSI codec a device model encodes, checks and
 * prints guest messages with, `VirtError` and its guards. Everything only a backend implementor
 * needs (the allocator, the user-space relay and its parts, the event-kind helpers, the APIC
 * register page, validation helpers, error factories, `sameMsi`) is on `@tsvmm/virt/implement`;
 * test models are on `@tsvmm/virt/testing`.
 */
export { VirtError, isVirtError, isVirtErrorCode } from './errors';
export type { VirtErrorCode, VirtErrorDetails } from './errors';
export { decodeMsi, DEFAULT_MSI_POLICY, describeMsi, encodeMsi, msiAddress, parseMsi, toMsiMessage, translateExtendedDestinationId, validateMsi } from './msi/codec';
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

