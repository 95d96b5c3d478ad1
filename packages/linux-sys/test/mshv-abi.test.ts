/**
 * /dev/mshv is not on these machines and Debian's headers predate its UAPI, so the definitions
 * are checked against the literal numbers and byte offsets of ../shared/reference/mshv.md
 * (copied here as the reference states them, not computed by our encoders).
 */
import { mshv } from '../src';
import { packStruct } from '@tsvmm/ffi';

test('ioctl numbers are the upstream ABI', () => {
  expect(mshv.MSHV_CREATE_PARTITION.request).toBe(0x4010b800);
  expect(mshv.MSHV_INITIALIZE_PARTITION.request).toBe(0xb800);
  expect(mshv.MSHV_CREATE_VP.request).toBe(0x4004b801);
  expect(mshv.MSHV_IRQFD.request).toBe(0x4010b803);
  expect(mshv.MSHV_SET_MSI_ROUTING.request).toBe(0x4008b805);
  expect(mshv.MSHV_ROOT_HVCALL.request).toBe(0xc020b807);
  // Not the old out-of-tree numbers.
  expect(mshv.MSHV_IOCTLS.map((i) => i.request)).not.toContain(0x4010b80e);
  expect(mshv.MSHV_IOCTLS.map((i) => i.request)).not.toContain(0x4008b811);
});

test('struct mshv_user_irqfd: fd @0, resamplefd @4, gsi @8, flags @12, 16 bytes, no padding', () => {
  const bytes = packStruct(mshv.MSHV_USER_IRQFD, { fd: 7, resamplefd: -1, gsi: 0x123, flags: mshv.MSHV_IRQFD_FLAG_DEASSIGN });
  expect(Array.from(bytes)).toEqual([7, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x23, 0x01, 0, 0, 1, 0, 0, 0]);
});

test('struct mshv_user_irq_table and entries: 8-byte header, 16-byte entries (gsi, address lo, hi, data)', () => {
  expect(mshv.MSHV_USER_IRQ_TABLE.size).toBe(8);
  const e = packStruct(mshv.MSHV_USER_IRQ_ENTRY, { gsi: 24, addressLo: 0xfee01000, addressHi: 0, data: 0x41 });
  expect(Array.from(e)).toEqual([24, 0, 0, 0, 0x00, 0x10, 0xe0, 0xfe, 0, 0, 0, 0, 0x41, 0, 0, 0]);
});

test('struct mshv_create_partition: pt_flags u64 @0, pt_isolation u64 @8; mshv_create_vp: vp_index @0', () => {
  const p = packStruct(mshv.MSHV_CREATE_PARTITION_LAYOUT, { ptFlags: mshv.MSHV_PT_BIT_LAPIC | mshv.MSHV_PT_BIT_X2APIC, ptIsolation: 0n });
  expect(Array.from(p)).toEqual([3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  expect(Array.from(packStruct(mshv.MSHV_CREATE_VP_LAYOUT, { vpIndex: 5 }))).toEqual([5, 0, 0, 0]);
});
