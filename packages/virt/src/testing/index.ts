/**
 * Shared test models: the local APIC and the interrupt bus that every kernel or DLL model delivers
 * into, so a model of KVM, mshv or WHP and the software backend agree on where an MSI lands.
 */
export { ApicBus, x2apicLogicalId } from './apic-bus';
export type { ApicBusOptions } from './apic-bus';
export { LocalApicModel } from './local-apic-model';
export { settledOutcome, thrownBy, virtErrorThrownBy } from './thrown-by';
export { seededRandom } from './seeded-random';
export { IoApicModel } from './ioapic-model';
export type { IoApicModelHooks, IoApicRegisters } from './ioapic-model';
export { OptionReads } from './option-reads';
export type { WatchedOptions } from './option-reads';
