/**
 * Reading a vCPU's local APIC state out of the page a hypervisor returns for it. The page format
 * differs per hypervisor, so every reader takes the format as a parameter:
 *
 * - {@link XAPIC_REGISTER_PAGE}: the xAPIC register page (Intel SDM, "Local APIC Register Address
 *   Map"), which KVM_GET_LAPIC and WHP return: each 256-bit register (ISR, TMR, IRR) is 8 words at a
 *   16-byte stride, the APIC ID in bits 31:24 of the ID register.
 * - {@link HV_LOCAL_APIC_PAGE}: the Microsoft Hypervisor's own local APIC state (MSHV_GET_VP_STATE
 *   with type LAPIC): apic_id u32 @0, spurious @16, isr[8] @20, tmr[8] @52, irr[8] @84, contiguous
 *   words (4-byte stride), 176 bytes in all.
 */
import type { LocalApicState } from '../contract/partition';
import { invalidArgument } from '../errors';
import { checkInteger, checkObject, describeValue } from '../validate';

/** Where a page format keeps the registers a diagnostic read needs. */
export interface ApicPageFormat {
  /** For error messages, e.g. `xAPIC register page`. */
  readonly name: string;
  /** Bytes the format occupies from the start of the page. */
  readonly size: number;
  /** Byte offset of the 32-bit word holding the APIC ID (all offsets here are bytes from the start of the page). */
  readonly apicIdOffset: number;
  /** Right shift that turns that word into the APIC ID (24 on the xAPIC page, 0 where the word is the ID). */
  readonly apicIdShift: number;
  /** Offset of the spurious-interrupt vector register (bit 8 = APIC software enable). */
  readonly spuriousOffset: number;
  /** Offset of the first 32-bit word of the in-service register (ISR, vectors 0-31). */
  readonly isrOffset: number;
  /** Offset of the first 32-bit word of the trigger-mode register (TMR, vectors 0-31). */
  readonly tmrOffset: number;
  /** Offset of the first 32-bit word of the interrupt-request register (IRR, vectors 0-31). */
  readonly irrOffset: number;
  /** Bytes between consecutive 32-bit words of ISR, TMR and IRR. */
  readonly stride: number;
}

/** The xAPIC register page of KVM_GET_LAPIC (`struct kvm_lapic_state`) and WHP. */
export const XAPIC_REGISTER_PAGE: ApicPageFormat = Object.freeze({
  name: 'xAPIC register page',
  size: 0x400,
  apicIdOffset: 0x20,
  apicIdShift: 24,
  spuriousOffset: 0xf0,
  isrOffset: 0x100,
  tmrOffset: 0x180,
  irrOffset: 0x200,
  stride: 16,
});

/** The Microsoft Hypervisor's local APIC state (`hv_local_interrupt_controller_state`), as /dev/mshv returns it. */
export const HV_LOCAL_APIC_PAGE: ApicPageFormat = Object.freeze({
  name: 'Microsoft Hypervisor local APIC state',
  size: 176,
  apicIdOffset: 0,
  apicIdShift: 0,
  spuriousOffset: 16,
  isrOffset: 20,
  tmrOffset: 52,
  irrOffset: 84,
  stride: 4,
});

/** Spurious-interrupt vector register bit 8: APIC software enable. */
export const APIC_SOFTWARE_ENABLE = 0x100;

const FORMAT_FIELDS = ['size', 'apicIdOffset', 'apicIdShift', 'spuriousOffset', 'isrOffset', 'tmrOffset', 'irrOffset', 'stride'] as const;

/**
 * The page as a DataView after checking the arguments: INVALID_ARGUMENT for a format that is not an
 * {@link ApicPageFormat}, a page that is not a Uint8Array, or one shorter than the format.
 */
function checkPage(operation: string, format: ApicPageFormat, page: Uint8Array): DataView {
  const f = checkObject<Record<string, unknown>>(operation, 'format', format);
  for (const k of FORMAT_FIELDS) checkInteger(operation, `format.${k}`, f[k], 0, 1 << 16);
  if (!(page instanceof Uint8Array)) throw invalidArgument(operation, `page must be a Uint8Array, got ${describeValue(page)}`);
  if (page.byteLength < format.size) {
    throw invalidArgument(operation, `a ${String(format.name)} needs ${format.size} bytes, got ${page.byteLength}`);
  }
  return new DataView(page.buffer, page.byteOffset, page.byteLength);
}

/** Vectors set in the 256-bit register at `base` (8 words, `format.stride` bytes apart), ascending. */
export function apicVectors(format: ApicPageFormat, page: Uint8Array, base: number): number[] {
  const v = checkPage('apicVectors', format, page);
  checkInteger('apicVectors', 'base', base, 0, format.size - 7 * format.stride - 4);
  const out: number[] = [];
  for (let w = 0; w < 8; w++) {
    const bits = v.getUint32(base + w * format.stride, true);
    if (bits === 0) continue;
    for (let b = 0; b < 32; b++) if ((bits >>> b) & 1) out.push(w * 32 + b);
  }
  return out;
}

/** The diagnostic view of a page: APIC ID, IRR and ISR vectors, software enable. INVALID_ARGUMENT for a short page. */
export function readApicPage(format: ApicPageFormat, page: Uint8Array): LocalApicState {
  const v = checkPage('readApicPage', format, page);
  return Object.freeze({
    apicId: v.getUint32(format.apicIdOffset, true) >>> format.apicIdShift,
    irr: Object.freeze(apicVectors(format, page, format.irrOffset)),
    isr: Object.freeze(apicVectors(format, page, format.isrOffset)),
    softwareEnabled: (v.getUint32(format.spuriousOffset, true) & APIC_SOFTWARE_ENABLE) !== 0,
  });
}

/** Clears every IRR bit in the page (write it back to the hypervisor to take effect). */
export function clearApicIrr(format: ApicPageFormat, page: Uint8Array): void {
  const v = checkPage('clearApicIrr', format, page);
  for (let w = 0; w < 8; w++) v.setUint32(format.irrOffset + w * format.stride, 0, true);
}

/**
 * Sets the spurious-interrupt vector register to `spurious` with the software-enable bit
 * (default 0x1FF: vector 0xFF, enabled), so fixed interrupts are accepted.
 */
export function softwareEnableApic(format: ApicPageFormat, page: Uint8Array, spurious = 0xff): void {
  const v = checkPage('softwareEnableApic', format, page);
  checkInteger('softwareEnableApic', 'spurious', spurious, 0, 0xff);
  const old = v.getUint32(format.spuriousOffset, true);
  v.setUint32(format.spuriousOffset, ((old & ~0x1ff) | (spurious & 0xff) | APIC_SOFTWARE_ENABLE) >>> 0, true);
}
