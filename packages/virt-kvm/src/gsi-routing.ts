/**
 * KVM's routing table in its own words: the legacy routes every pushed table keeps, and the
 * encoders of `struct kvm_irq_routing` (header) and `struct kvm_irq_routing_entry` (48 bytes).
 * The table logic itself (desired/committed, one commit per transaction) is the shared engine's.
 */
import type { RoutingTableEncoding } from '@tsvmm/linux-sys';
import { encodeStruct } from '@tsvmm/ffi';
import * as kvm from './abi';

const TABLE = kvm.KVM_IRQ_ROUTING_TABLE;

/** One IRQCHIP route of the default table: GSI `gsi` reaches pin `pin` of irqchip `irqchip`. */
export interface LegacyRoute {
  /** The GSI, 0 to 23. */
  readonly gsi: number;
  /** `KVM_IRQCHIP_PIC_MASTER` (0), `KVM_IRQCHIP_PIC_SLAVE` (1) or `KVM_IRQCHIP_IOAPIC` (2). */
  readonly irqchip: number;
  /** The pin on that irqchip: 0-7 on a PIC, 0-23 on the IOAPIC. */
  readonly pin: number;
}

/**
 * The routes KVM_CREATE_IRQCHIP installs on x86 (kvm_setup_default_irq_routing): GSIs 0-15 reach
 * both the IOAPIC and the PIC (master for 0-7, slave for 8-15); GSIs 16-23 only the IOAPIC.
 * A pushed table replaces them, so every table keeps them and the legacy pins keep working.
 */
export const LEGACY_ROUTES: readonly LegacyRoute[] = Object.freeze(
  Array.from({ length: 24 }, (_, gsi) => {
    const ioapic = { gsi, irqchip: kvm.KVM_IRQCHIP_IOAPIC, pin: gsi };
    if (gsi >= 16) return [ioapic];
    const pic = { gsi, irqchip: gsi < 8 ? kvm.KVM_IRQCHIP_PIC_MASTER : kvm.KVM_IRQCHIP_PIC_SLAVE, pin: gsi % 8 };
    return [ioapic, pic];
  }).flat(),
);

/** The first GSI handed to irqfd routes: 0-23 are the legacy pins. */
export const FIRST_MSI_GSI = 24;

/** `struct kvm_irq_routing` + entries (`include/uapi/linux/kvm.h`), as {@link kvm.KVM_IRQ_ROUTING_TABLE} lays them out. */
export const kvmRoutingTableEncoding: RoutingTableEncoding = Object.freeze({
  headerSize: TABLE.entriesOffset,
  entrySize: TABLE.entry.size,
  fixedEntryCount: LEGACY_ROUTES.length,
  encodeHeader(view: DataView, entryCount: number): void {
    TABLE.encodeHeader(view, entryCount);
  },
  encodeFixedEntry(view: DataView, at: number, index: number): void {
    const r = LEGACY_ROUTES[index]!;
    encodeStruct(TABLE.entry, view, at, { gsi: r.gsi, type: kvm.KVM_IRQ_ROUTING_IRQCHIP, irqchip: r.irqchip, pin: r.pin });
  },
  encodeMsiEntry(view: DataView, at: number, gsi: number, m: { addressLo: number; addressHi: number; data: number }): void {
    encodeStruct(TABLE.entry, view, at, { gsi, type: kvm.KVM_IRQ_ROUTING_MSI, msiAddressLo: m.addressLo, msiAddressHi: m.addressHi, msiData: m.data });
  },
});
