/**
 * Layouts byte for byte against vectors written by hand from the reference (WinHvPlatformDefs.h:
 * WHV_INTERRUPT_CONTROL is 16 bytes, a u64 bitfield word with Type bits 0-7, DestinationMode 8-11,
 * TriggerMode 12-15, TargetVtl 16-23, then Destination u32 @8 and Vector u32 @12;
 * WHV_TRIGGER_PARAMETERS is 32 bytes, TriggerType u32 @0, Reserved u32 @4, the union @8), and the
 * C check compiled against a header that declares them as WinHvPlatformDefs.h does.
 */
import { decodeStruct, generateCCheck, runCCheck } from '@tsvmm/ffi';
import { abi, interruptControl, triggerParameters, whpX2apicMsiPolicy } from '../src/implement';
import { WHP_MSI_POLICY } from '../src/encode';
import { parseMsi } from '@tsvmm/virt';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('sizes are the ones the header asserts', () => {
  expect(abi.WHV_INTERRUPT_CONTROL.size).toBe(16);
  expect(abi.WHV_TRIGGER_PARAMETERS.size).toBe(32);
});

test('a fixed, physical, edge MSI to APIC 3 vector 0x41', () => {
  const m = parseMsi('t', 0xfee03000, 0x0041, WHP_MSI_POLICY);
  // word0 = 0 (Fixed, Physical, Edge); Destination 3; Vector 0x41
  expect(hex(interruptControl(m))).toBe('0000000000000000' + '03000000' + '41000000');
});

test('a lowest-priority, logical, level MSI to destination 0x0F vector 0xEF', () => {
  // address: 0xFEE0F004 (dest 0x0F, DM bit 2); data: level (bit 15), mode 1 (bits 10:8), vector 0xEF
  const m = parseMsi('t', 0xfee0f004, 0x81ef, WHP_MSI_POLICY);
  // word0 = Type 1 | DestinationMode 1 << 8 | TriggerMode 1 << 12 = 0x1101 → bytes 01 11 00 ..
  expect(hex(interruptControl(m))).toBe('0111000000000000' + '0f000000' + 'ef000000');
});

test('a fixed, logical, edge MSI: DestinationMode and TriggerMode are distinct nibbles', () => {
  const m = parseMsi('t', 0xfee0f004, 0x01ef, WHP_MSI_POLICY); // lowest priority, logical, edge
  expect(hex(interruptControl(m))).toBe('0101000000000000' + '0f000000' + 'ef000000');
  const l = parseMsi('t', 0xfee02000, 0x8041, WHP_MSI_POLICY); // fixed, physical, level
  expect(hex(interruptControl(l))).toBe('0010000000000000' + '02000000' + '41000000');
});

test('an NMI to APIC 0xFE', () => {
  const m = parseMsi('t', 0xfeefe000, 0x0400, WHP_MSI_POLICY);
  expect(hex(interruptControl(m))).toBe('0400000000000000' + 'fe000000' + '00000000');
});

test('x2APIC: the 32-bit Destination takes address bits 19:12 as bits 7:0 and the upper address bits 31:8 above them, in the control and the trigger alike', () => {
  const policy = whpX2apicMsiPolicy(0x7fffffff);
  const m = parseMsi('t', 0x0001_2300_fee4_5000n, 0x0041, policy); // APIC ID 0x12345, fixed, physical, edge
  expect(hex(interruptControl(m))).toBe('0000000000000000' + '45230100' + '41000000');
  expect(hex(triggerParameters(m))).toBe('00000000' + '00000000' + '0000000000000000' + '45230100' + '41000000' + '0000000000000000');
  // An extended destination ID (APIC ID bits 14:8 in address bits 11:5) lands in the same field.
  const ext = parseMsi('t', 0xfee45000 + (0x23 << 5), 0x0041, policy);
  expect(hex(interruptControl(ext))).toBe('0000000000000000' + '45230000' + '41000000');
  // The x2APIC broadcast ID is all 32 bits.
  const all = parseMsi('t', 0xffff_ff00_feef_f000n, 0x0041, policy);
  expect(hex(interruptControl(all))).toBe('0000000000000000' + 'ffffffff' + '41000000');
});

test('WHV_TRIGGER_PARAMETERS: Interrupt type 0, Reserved 0, the control at byte 8, zero to byte 32', () => {
  const m = parseMsi('t', 0xfee01004, 0x8155, WHP_MSI_POLICY); // logical dest 1, lowest priority, level, vector 0x55
  expect(hex(triggerParameters(m))).toBe('00000000' + '00000000' + '0111000000000000' + '01000000' + '55000000' + '0000000000000000');
  const d = decodeStruct(abi.WHV_TRIGGER_PARAMETERS, new DataView(triggerParameters(m).buffer));
  expect(d).toMatchObject({ TriggerType: 0, 'Interrupt.Type': 1, 'Interrupt.DestinationMode': 1, 'Interrupt.TriggerMode': 1, 'Interrupt.TargetVtl': 0, 'Interrupt.Vector': 0x55 });
});

test('the C check: offsets, sizes and bitfield positions as a compiler lays out the header declarations', () => {
  const header = `
#include <stdint.h>
typedef uint64_t UINT64; typedef uint32_t UINT32; typedef uint16_t UINT16; typedef uint8_t UINT8;
typedef struct WHV_INTERRUPT_CONTROL {
  UINT64 Type : 8; UINT64 DestinationMode : 4; UINT64 TriggerMode : 4; UINT64 TargetVtl : 8; UINT64 Reserved : 40;
  UINT32 Destination; UINT32 Vector;
} WHV_INTERRUPT_CONTROL;
typedef struct WHV_SYNIC_EVENT_PARAMETERS { UINT32 VpIndex; UINT8 TargetSint; UINT8 TargetVtl; UINT16 FlagNumber; } WHV_SYNIC_EVENT_PARAMETERS;
typedef struct WHV_TRIGGER_PARAMETERS {
  UINT32 TriggerType; UINT32 Reserved;
  union {
    WHV_INTERRUPT_CONTROL Interrupt;
    WHV_SYNIC_EVENT_PARAMETERS SynicEvent;
    struct { UINT64 LogicalDeviceId; UINT64 MsiAddress; UINT32 MsiData; UINT32 Reserved; } DeviceInterrupt;
  };
} WHV_TRIGGER_PARAMETERS;
_Static_assert(sizeof(WHV_INTERRUPT_CONTROL) == 16, "16");
_Static_assert(sizeof(WHV_TRIGGER_PARAMETERS) == 32, "32");
`;
  const c = generateCCheck({ headers: ['whp.h'], layouts: [abi.WHV_INTERRUPT_CONTROL, abi.WHV_TRIGGER_PARAMETERS], ioctls: [] });
  const lines = runCCheck(c, { localHeaders: { 'whp.h': header } });
  expect(c.expected.filter((e) => !lines.includes(e))).toEqual([]);
  expect(c.expected).toEqual(expect.arrayContaining(['bits WHV_TRIGGER_PARAMETERS Interrupt.TriggerMode f000', 'offsetof WHV_TRIGGER_PARAMETERS Interrupt.Vector 20']));
});
