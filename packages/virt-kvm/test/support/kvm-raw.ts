/**
 * KVM's ioctl numbers and argument bytes as the model tests (../model) write them: by hand from
 * the UAPI header (include/uapi/linux/kvm.h), never through the backend's encoders, so the model
 * cannot drift into agreeing with the backend.
 */
import type { IoctlDef } from '@tsvmm/linux-sys';

/** open(2) flag. */
export const O_RDWR = 2;
const handWritten: IoctlDef[] = [];
const req = (name: string, request: number): IoctlDef => {
  const io = { name, request };
  handWritten.push(io);
  return io;
};
export const CREATE_VM = req('KVM_CREATE_VM', 0xae01);
export const CHECK_EXTENSION = req('KVM_CHECK_EXTENSION', 0xae03);
export const CREATE_IRQCHIP = req('KVM_CREATE_IRQCHIP', 0xae60);
export const CREATE_VCPU = req('KVM_CREATE_VCPU', 0xae41);
export const SET_GSI_ROUTING = req('KVM_SET_GSI_ROUTING', 0x4008ae6a);
export const IRQFD = req('KVM_IRQFD', 0x4020ae76);
export const SIGNAL_MSI = req('KVM_SIGNAL_MSI', 0x4020aea5);
export const GET_LAPIC = req('KVM_GET_LAPIC', 0x8400ae8e);
export const SET_LAPIC = req('KVM_SET_LAPIC', 0x4400ae8f);
export const ENABLE_CAP = req('KVM_ENABLE_CAP', 0x4068aea3);
export const SET_CPUID2 = req('KVM_SET_CPUID2', 0x4008ae90);
export const GET_MSRS = req('KVM_GET_MSRS', 0xc008ae88);
export const SET_MSRS = req('KVM_SET_MSRS', 0x4008ae89);
export const SET_IRQCHIP = req('KVM_SET_IRQCHIP', 0x8208ae63);
export const GET_SUPPORTED_CPUID = req('KVM_GET_SUPPORTED_CPUID', 0xc008ae05);
/** Every request above: what ../c-abi-check.test compares the backend's numbers with. */
export const HAND_WRITTEN_IOCTLS: readonly IoctlDef[] = handWritten;

/**
 * `struct kvm_irq_routing`: nr @0, flags @4, then 48-byte entries: gsi @0, type @4 (1 irqchip,
 * 2 MSI), flags @8, then the union at @16 (`a`, `b`, `c` its first three u32: irqchip/pin, or
 * address_lo/address_hi/data).
 */
export function routingTable(entries: Array<{ gsi: number; type: number; flags?: number; a: number; b?: number; c?: number }>, headerFlags = 0): Uint8Array {
  const b = new Uint8Array(8 + 48 * entries.length);
  const v = new DataView(b.buffer);
  v.setUint32(0, entries.length, true);
  v.setUint32(4, headerFlags, true);
  entries.forEach((e, i) => {
    const at = 8 + 48 * i;
    v.setUint32(at, e.gsi, true);
    v.setUint32(at + 4, e.type, true);
    v.setUint32(at + 8, e.flags ?? 0, true);
    v.setUint32(at + 16, e.a, true);
    v.setUint32(at + 20, e.b ?? 0, true);
    v.setUint32(at + 24, e.c ?? 0, true);
  });
  return b;
}

/** A routing table with one MSI entry (type 2) for `gsi`. */
export function msiRoutingTable(gsi: number, addressLo: number, data: number): Uint8Array {
  return routingTable([{ gsi, type: 2, a: addressLo, c: data }]);
}

/** `size` zeroed bytes with little-endian u32 words at the given offsets (`[offset, value]`). */
function words(size: number, ...at: Array<[number, number]>): Uint8Array {
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  for (const [offset, value] of at) v.setUint32(offset, value, true);
  return b;
}

/** `struct kvm_irqfd` (32 bytes): fd @0, gsi @4, flags @8 (DEASSIGN 1). */
export function irqfdArg(fd: number, gsi: number, flags = 0): Uint8Array {
  return words(32, [0, fd], [4, gsi], [8, flags]);
}

/** `struct kvm_msi` (32 bytes): address_lo @0, address_hi @4, data @8. */
export function signalMsiArg(addressLo: number, addressHi: number, data: number): Uint8Array {
  return words(32, [0, addressLo], [4, addressHi], [8, data]);
}

/** `struct kvm_enable_cap` (104 bytes): cap @0, flags @4, args[0] u64 @8. */
export function enableCapArg(cap: number, args0: bigint, flags = 0): Uint8Array {
  const b = words(104, [0, cap], [4, flags]);
  new DataView(b.buffer).setBigUint64(8, args0, true);
  return b;
}

/** `struct kvm_cpuid2` with `nent` 40-byte entries, the first for function 1 with `ecx` @20 of the entry. */
export function cpuidArg(ecx: number, nent = 1): Uint8Array {
  return words(8 + 40 * Math.max(nent, 1), [0, nent], [8, 1], [8 + 20, ecx]);
}

/** `struct kvm_msrs` with `n` 16-byte entries, the first: index @8, data u64 @16. */
export function msrsArg(index: number, data: bigint, n = 1): Uint8Array {
  const b = words(8 + 16 * Math.max(n, 1), [0, n], [8, index]);
  new DataView(b.buffer).setBigUint64(16, data, true);
  return b;
}

/** `struct kvm_irqchip` (520 bytes) for the IOAPIC (chip 2 @0): redirection entry of `pin` (u64 @8 + 24 + pin * 8), every other pin masked. */
export function ioapicArg(pin: number, entry: bigint): Uint8Array {
  const b = words(520, [0, 2]);
  const v = new DataView(b.buffer);
  for (let p = 0; p < 24; p++) v.setBigUint64(8 + 24 + p * 8, p === pin ? entry : 1n << 16n, true);
  return b;
}

/** `struct kvm_irqfd` with KVM_IRQFD_FLAG_RESAMPLE (2) and `resamplefd` @12. */
export function resampleIrqfdArg(fd: number, gsi: number, resamplefd: number): Uint8Array {
  return words(32, [0, fd], [4, gsi], [8, 2], [12, resamplefd]);
}
