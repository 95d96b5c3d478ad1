/**
 * Reading the xAPIC register page that WHvGetVirtualProcessorState returns for
 * InterruptControllerState2: register at MMIO offset X at byte X, 32 bits per 16-byte row (IRR
 * vector v is bit v%32 of the u32 at 0x200 + 16*(v/32)), the layout KVM_GET_LAPIC also uses.
 */
import type { LocalApicState } from '@tsvmm/virt';
import { LAPIC_ID, LAPIC_IRR, LAPIC_ISR, LAPIC_SVR, LAPIC_SVR_ENABLE } from './abi';

function u32(page: Uint8Array, offset: number): number {
  return new DataView(page.buffer, page.byteOffset, page.byteLength).getUint32(offset, true);
}

/** Vectors whose bit is set in the 256-bit register starting at `base`, ascending. */
export function vectorsAt(page: Uint8Array, base: number): number[] {
  const out: number[] = [];
  for (let row = 0; row < 8; row++) {
    const w = u32(page, base + 16 * row);
    for (let b = 0; b < 32; b++) if (w & (1 << b)) out.push(row * 32 + b);
  }
  return out;
}

/**
 * The diagnostic view of an InterruptControllerState2 page: APIC ID (at 0x20: bits 31:24 in an
 * xAPIC partition; with `x2apic`, the whole 32-bit x2APIC ID, as the x2APIC ID register holds it),
 * IRR and ISR vectors ascending, and SVR bit 8 (software enable). `page` is the 4096-byte page
 * WHvGetVirtualProcessorState wrote; one shorter than 0x274 bytes throws a RangeError. How WHP
 * writes the ID register of an X2Apic-mode partition is not documented: only a Windows run shows it.
 */
export function decodeLapicPage(page: Uint8Array, x2apic = false): LocalApicState {
  const id = u32(page, LAPIC_ID);
  return {
    apicId: x2apic ? id : id >>> 24,
    irr: vectorsAt(page, LAPIC_IRR),
    isr: vectorsAt(page, LAPIC_ISR),
    softwareEnabled: (u32(page, LAPIC_SVR) & LAPIC_SVR_ENABLE) !== 0,
  };
}

/** The page with every IRR row zeroed. */
export function withIrrCleared(page: Uint8Array): Uint8Array {
  const out = page.slice();
  const v = new DataView(out.buffer);
  for (let row = 0; row < 8; row++) v.setUint32(LAPIC_IRR + 16 * row, 0, true);
  return out;
}

/** The page with the APIC software-enabled (SVR 0x1FF: enabled, spurious vector 0xFF). */
export function withApicEnabled(page: Uint8Array): Uint8Array {
  const out = page.slice();
  const v = new DataView(out.buffer);
  v.setUint32(LAPIC_SVR, (v.getUint32(LAPIC_SVR, true) & ~0x1ff) | 0x1ff, true);
  return out;
}
