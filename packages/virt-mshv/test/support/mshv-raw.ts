/**
 * mshv's ioctl numbers and argument bytes as the model tests (../model) write them: by hand from
 * the UAPI header (include/uapi/linux/mshv.h), never through the backend's encoders, so the model cannot drift into agreeing with the backend.
 */
import type { IoctlDef } from '@tsvmm/linux-sys';

const handWritten: IoctlDef[] = [];
const io = (name: string, request: number): IoctlDef => {
  const def = { name, request };
  handWritten.push(def);
  return def;
};
export const CREATE_PARTITION = io('MSHV_CREATE_PARTITION', 0x4010b800);
export const INITIALIZE_PARTITION = io('MSHV_INITIALIZE_PARTITION', 0xb800);
export const CREATE_VP = io('MSHV_CREATE_VP', 0x4004b801);
export const SET_GUEST_MEMORY = io('MSHV_SET_GUEST_MEMORY', 0x4020b802);
export const IRQFD = io('MSHV_IRQFD', 0x4010b803);
export const IOEVENTFD = io('MSHV_IOEVENTFD', 0x4020b804);
export const SET_MSI_ROUTING = io('MSHV_SET_MSI_ROUTING', 0x4008b805);
export const ROOT_HVCALL = io('MSHV_ROOT_HVCALL', 0xc020b807);
export const RUN_VP = io('MSHV_RUN_VP', 0x8100b800);
export const GET_VP_STATE = io('MSHV_GET_VP_STATE', 0xc010b801);
export const SET_VP_STATE = io('MSHV_SET_VP_STATE', 0xc010b802);
/** Every request above: what ../abi.test compares the backend's numbers with, as the whole set. */
export const HAND_WRITTEN_IOCTLS: readonly IoctlDef[] = handWritten;

/** A little-endian buffer builder: `[offset, type, value]` words written into `size` zeroed bytes. */
export function le(...words: Array<[number, 'u8' | 'u16' | 'u32' | 'i32' | 'u64', number | bigint]>): (size: number) => Uint8Array {
  return (size) => {
    const b = new Uint8Array(size);
    const v = new DataView(b.buffer);
    for (const [at, t, x] of words) {
      if (t === 'u8') v.setUint8(at, Number(x));
      else if (t === 'u16') v.setUint16(at, Number(x), true);
      else if (t === 'u32') v.setUint32(at, Number(x), true);
      else if (t === 'i32') v.setInt32(at, Number(x), true);
      else v.setBigUint64(at, BigInt(x), true);
    }
    return b;
  };
}
/** `struct mshv_create_partition` (16 bytes): pt_flags u64 @0, pt_isolation u64 @8. */
export const createPartitionArg = (flags: bigint, isolation = 0n): Uint8Array => le([0, 'u64', flags], [8, 'u64', isolation])(16);
/** `struct mshv_create_vp` (4 bytes): vp_index u32 @0. */
export const vpArg = (index: number): Uint8Array => le([0, 'u32', index])(4);
/** `struct mshv_user_irqfd` (16 bytes): fd s32 @0, resamplefd s32 @4, gsi u32 @8, flags u32 @12 (DEASSIGN 1, RESAMPLE 2). */
export const irqfdArg = (fd: number, gsi: number, flags = 0, resamplefd = -1): Uint8Array =>
  le([0, 'i32', fd], [4, 'i32', resamplefd], [8, 'u32', gsi], [12, 'u32', flags])(16);
/**
 * `struct mshv_user_irq_table`: nr u32 @0, rsvd u32 @4, then 16-byte entries (gsi, address_lo,
 * address_hi, data); `nr` and `rsvd` overridable, `cut` bytes taken off the end.
 */
export function table(entries: Array<[gsi: number, lo: number, hi: number, data: number]>, opts: { nr?: number; rsvd?: number; cut?: number } = {}): Uint8Array {
  const b = new Uint8Array(8 + 16 * entries.length - (opts.cut ?? 0));
  const v = new DataView(b.buffer);
  v.setUint32(0, opts.nr ?? entries.length, true);
  v.setUint32(4, opts.rsvd ?? 0, true);
  entries.forEach(([g, lo, hi, d], k) => {
    if (8 + 16 * k + 16 > b.byteLength) return;
    v.setUint32(8 + 16 * k, g, true);
    v.setUint32(12 + 16 * k, lo, true);
    v.setUint32(16 + 16 * k, hi, true);
    v.setUint32(20 + 16 * k, d, true);
  });
  return b;
}
