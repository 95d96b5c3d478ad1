/**
 * KVM's routing table in its own words: the legacy routes every pushed table keeps, and the
 * encoders of `struct kvm_irq_routing` (header) and `struct kvm_irq_routing_entry` (48 bytes).
 * The table logic itself (desired/committed, one commit per transaction) is the shared engine's.
 */
import type { RoutingTableLayout } from '@tsvmm/linux-sys';
import { encodeStruct } from '@tsvmm/ffi';
import * as kvm from './abi';

const TABLE = kvm.KVM_IRQ_ROUTING_TABLE;
const E = TABLE.entry;
const F = E.fields;

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

/** The {@link LEGACY_ROUTES} as `struct kvm_irq_routing_entry` bytes (type KVM_IRQ_ROUTING_IRQCHIP), in order. */
function encodeLegacyRoutes(): Uint8Array {
  const bytes = new Uint8Array(LEGACY_ROUTES.length * E.size);
  const view = new DataView(bytes.buffer);
  LEGACY_ROUTES.forEach((r, i) => encodeStruct(E, view, i * E.size, { gsi: r.gsi, type: kvm.KVM_IRQ_ROUTING_IRQCHIP, irqchip: r.irqchip, pin: r.pin }));
  return bytes;
}

/**
 * `struct kvm_irq_routing` + entries (`include/uapi/linux/kvm.h`) as the shared engine writes
 * them ({@link kvm.KVM_IRQ_ROUTING_TABLE}): `nr` @0 of the 8-byte header, the {@link LEGACY_ROUTES} first, then 48-byte MSI entries
 * (`gsi`, `type` = KVM_IRQ_ROUTING_MSI, `u.msi.address_lo/address_hi/data`; `flags` 0, so no devid).
 */
export const kvmRoutingTableLayout: RoutingTableLayout = Object.freeze({
  headerSize: TABLE.entriesOffset,
  entrySize: E.size,
  countOffset: TABLE.header.fields[TABLE.countField].offset,
  fixedEntries: encodeLegacyRoutes(),
  msiEntry: Object.freeze({
    gsi: F.gsi.offset,
    addressLo: F.msiAddressLo.offset,
    addressHi: F.msiAddressHi.offset,
    data: F.msiData.offset,
    type: Object.freeze({ offset: F.type.offset, value: kvm.KVM_IRQ_ROUTING_MSI }),
  }),
});
