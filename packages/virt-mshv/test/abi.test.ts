/**
 * /dev/mshv is not on these machines and Debian's headers predate its UAPI, so every ioctl number,
 * size and encoder output is compared with literal values from the UAPI header's definitions
 * (include/uapi/linux/mshv.h), written out by hand here and in ./support/mshv-raw, never computed by
 * the package's encoders.
 */
import { packStruct } from '@tsvmm/ffi';
import { requestNumbers } from '@tsvmm/ffi/testing';
import * as abi from '../src/abi';
import { HAND_WRITTEN_IOCTLS } from './support/mshv-raw';
import {
  encodeAssertVirtualInterrupt,
  encodeCreatePartition,
  encodeCreateVp,
  encodeRootHvcall,
  encodeVpState,
} from '../src/calls';

const bytes = (u: Uint8Array): number[] => Array.from(u);

test('ioctl numbers are the upstream ABI', () => {
  expect(requestNumbers(abi.MSHV_IOCTLS)).toEqual(requestNumbers(HAND_WRITTEN_IOCTLS));
  // Not the old out-of-tree numbers.
  const requests = abi.MSHV_IOCTLS.map((i) => i.request);
  expect(requests).not.toContain(0x4010b80e);
  expect(requests).not.toContain(0x4008b811);
  expect(requests).not.toContain(0x4030b801);
  expect(abi.MSHV_IOCTLS.map((i) => i.name)).toEqual(expect.arrayContaining(['MSHV_IRQFD', 'MSHV_SET_MSI_ROUTING', 'MSHV_ROOT_HVCALL']));
});

test('struct sizes', () => {
  expect(abi.MSHV_LAYOUTS.map((l) => [l.cType, l.size])).toEqual([
    ['struct mshv_create_partition', 16],
    ['struct mshv_create_vp', 4],
    ['struct mshv_user_irqfd', 16],
    ['struct mshv_user_irq_table', 8],
    ['struct mshv_user_irq_entry', 16],
    ['struct mshv_root_hvcall', 32],
    ['struct mshv_get_set_vp_state', 16],
    ['struct hv_input_assert_virtual_interrupt', 32],
  ]);
});

test('mshv_create_partition: pt_flags u64 @0 (LAPIC bit 0), pt_isolation u64 @8', () => {
  expect(bytes(encodeCreatePartition(abi.MSHV_PT_BIT_LAPIC))).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  expect(bytes(encodeCreatePartition(abi.MSHV_PT_BIT_LAPIC | abi.MSHV_PT_BIT_X2APIC | abi.MSHV_PT_BIT_GPA_SUPER_PAGES, 0x0102n))).toEqual([
    7, 0, 0, 0, 0, 0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0,
  ]);
});

test('mshv_create_vp: vp_index u32 @0', () => {
  expect(bytes(encodeCreateVp(0x1234))).toEqual([0x34, 0x12, 0, 0]);
});

test('mshv_user_irqfd: fd @0, resamplefd @4, gsi @8, flags @12, no padding', () => {
  expect(bytes(packStruct(abi.MSHV_USER_IRQFD_LAYOUT, { fd: 7, resamplefd: -1, gsi: 0x123, flags: abi.MSHV_IRQFD_FLAG_DEASSIGN }))).toEqual([
    7, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x23, 0x01, 0, 0, 1, 0, 0, 0,
  ]);
  expect(bytes(packStruct(abi.MSHV_USER_IRQFD_LAYOUT, { fd: 0x0a0b, resamplefd: 9, gsi: 4095, flags: abi.MSHV_IRQFD_FLAG_RESAMPLE }))).toEqual([
    0x0b, 0x0a, 0, 0, 9, 0, 0, 0, 0xff, 0x0f, 0, 0, 2, 0, 0, 0,
  ]);
});

test('mshv_user_irq_table: nr @0, rsvd @4 = 0, then 16-byte entries (gsi, address_lo, address_hi, data)', () => {
  const t = abi.MSHV_USER_IRQ_TABLE.pack({}, [
    { gsi: 1, addressLo: 0xfee01000, addressHi: 0, data: 0x41 },
    { gsi: 0x0203, addressLo: 0xfee0200c, addressHi: 0, data: 0x80f1 },
  ]);
  expect(bytes(t)).toEqual([
    2, 0, 0, 0, 0, 0, 0, 0,
    1, 0, 0, 0, 0x00, 0x10, 0xe0, 0xfe, 0, 0, 0, 0, 0x41, 0, 0, 0,
    3, 2, 0, 0, 0x0c, 0x20, 0xe0, 0xfe, 0, 0, 0, 0, 0xf1, 0x80, 0, 0,
  ]);
  expect(bytes(abi.MSHV_USER_IRQ_TABLE.pack({}, []))).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  expect(abi.MSHV_USER_IRQ_TABLE.sizeFor(3)).toBe(8 + 48);
});

test('mshv_root_hvcall: code u16 @0, reps @2, in_sz @4, out_sz @6, status @8 = 0, rsvd @10, in_ptr u64 @16, out_ptr u64 @24', () => {
  expect(bytes(encodeRootHvcall({ code: 0x94, inSz: 32, outSz: 0, inPtr: 0x1122334455667788n }))).toEqual([
    0x94, 0, 0, 0, 32, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0, 0, 0, 0, 0, 0, 0, 0,
  ]);
  expect(bytes(encodeRootHvcall({ code: 0x0102, reps: 3, inSz: 0x0405, outSz: 0x0607, inPtr: 1n, outPtr: 0x0a0bn }))).toEqual([
    2, 1, 3, 0, 5, 4, 7, 6, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x0b, 0x0a, 0, 0, 0, 0, 0, 0,
  ]);
});

test('mshv_get_set_vp_state: type u8 @0 (LAPIC 0), rsvd @1..3, buf_sz u32 @4, buf_ptr u64 @8', () => {
  expect(bytes(encodeVpState(abi.MSHV_VP_STATE_LAPIC, 4096, 0x7f0000003000n))).toEqual([
    0, 0, 0, 0, 0x00, 0x10, 0, 0, 0x00, 0x30, 0, 0, 0x00, 0x7f, 0, 0,
  ]);
});

test('HVCALL_ASSERT_VIRTUAL_INTERRUPT input: partition_id @0 = 0, control @8, destination @16, vector @24, target_vtl @28, reserved', () => {
  const out = new Uint8Array(32).fill(0xee);
  encodeAssertVirtualInterrupt({ control: BigInt(abi.HV_INTERRUPT_TYPE.NMI) | abi.HV_INTERRUPT_CONTROL_LEVEL | abi.HV_INTERRUPT_CONTROL_LOGICAL, destination: 5, vector: 0x41 }, out);
  expect(bytes(out)).toEqual([
    0, 0, 0, 0, 0, 0, 0, 0,
    4, 0, 0, 0, 3, 0, 0, 0,
    5, 0, 0, 0, 0, 0, 0, 0,
    0x41, 0, 0, 0, 0, 0, 0, 0,
  ]);
  expect(abi.HVCALL_ASSERT_VIRTUAL_INTERRUPT).toBe(0x94);
});

test('constants', () => {
  expect([abi.MSHV_IRQFD_FLAG_DEASSIGN, abi.MSHV_IRQFD_FLAG_RESAMPLE]).toEqual([1, 2]);
  expect([abi.MSHV_MAX_MSI_ROUTES, abi.MSHV_MAX_VPS, abi.MSHV_VP_STATE_PAGE]).toEqual([4096, 256, 4096]);
  expect(abi.HV_INTERRUPT_TYPE).toEqual({ FIXED: 0, LOWEST_PRIORITY: 1, SMI: 2, REMOTE_READ: 3, NMI: 4, INIT: 5, SIPI: 6, EXTINT: 7 });
  expect(abi.MSHV_VP_REGISTER_PAGE_INTERRUPT_VECTORS).toBe(688);
  expect(abi.hvStatusName(0xb)).toBe('HV_STATUS_INSUFFICIENT_MEMORY');
  expect(abi.hvStatusName(0x1234)).toBe('hypervisor status 0x1234');
});
