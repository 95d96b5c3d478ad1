import { decodeBits, decodeStruct, defineLayout, defineTable, embedLayout, encodeBits, generateCCheck, packStruct, runCCheck } from '../src';

// A 16-byte control word with C bitfields, as WHP's WHV_INTERRUPT_CONTROL: Type 0-7,
// DestinationMode 8-11, TriggerMode 12-15, TargetVtl 16-23, then two u32 members.
const CONTROL = defineLayout(
  'struct ctl',
  16,
  {
    word: { offset: 0, type: 'u64', bitfieldsOnly: true },
    Destination: { offset: 8, type: 'u32' },
    Vector: { offset: 12, type: 'u32' },
  },
  {
    Type: { field: 'word', bit: 0, width: 8 },
    DestinationMode: { field: 'word', bit: 8, width: 4 },
    TriggerMode: { field: 'word', bit: 12, width: 4 },
    TargetVtl: { field: 'word', bit: 16, width: 8 },
  },
);
const inner = embedLayout('Interrupt', CONTROL, 8);
const OUTER = defineLayout('struct outer', 32, { Kind: { offset: 0, type: 'u32' }, Reserved: { offset: 4, type: 'u32' }, ...inner.fields }, inner.bits);

describe('bitfields', () => {
  test('encode places each value at its bits; decode reads it back', () => {
    let w = 0n;
    w = encodeBits(w, { bit: 8, width: 4 }, 1);
    w = encodeBits(w, { bit: 12, width: 4 }, 1);
    w = encodeBits(w, { bit: 0, width: 8 }, 4);
    expect(w).toBe(0x1104n);
    expect(decodeBits(w, { bit: 8, width: 4 })).toBe(1);
    expect(decodeBits(w, { bit: 0, width: 8 })).toBe(4);
    expect(decodeBits(0xffff_ffff_ffff_ffffn, { bit: 16, width: 8 })).toBe(0xff);
  });

  test('a value wider than its field is refused, never truncated', () => {
    expect(() => encodeBits(0n, { bit: 8, width: 4 }, 16)).toThrow(RangeError);
    expect(() => encodeBits(0n, { bit: 8, width: 4 }, -1)).toThrow(RangeError);
    expect(() => packStruct(CONTROL, { DestinationMode: 0x10 })).toThrow(RangeError);
  });

  test('packStruct writes bitfields into their word, little-endian, everything else zero', () => {
    const bytes = packStruct(CONTROL, { Type: 1, DestinationMode: 1, TriggerMode: 1, Destination: 0x12, Vector: 0x41 });
    expect(Array.from(bytes)).toEqual([0x01, 0x11, 0, 0, 0, 0, 0, 0, 0x12, 0, 0, 0, 0x41, 0, 0, 0]);
    expect(decodeStruct(CONTROL, new DataView(bytes.buffer))).toEqual({
      word: 0x1101n,
      Destination: 0x12,
      Vector: 0x41,
      Type: 1,
      DestinationMode: 1,
      TriggerMode: 1,
      TargetVtl: 0,
    });
  });

  test('definitions that overlap or overflow their word are refused', () => {
    const w = { word: { offset: 0, type: 'u32' as const } };
    expect(() => defineLayout('struct a', 4, w, { A: { field: 'word', bit: 0, width: 8 }, B: { field: 'word', bit: 7, width: 2 } })).toThrow(/overlap/);
    expect(() => defineLayout('struct a', 4, w, { A: { field: 'word', bit: 30, width: 4 } })).toThrow(/fit/);
    expect(() => defineLayout('struct a', 4, w, { A: { field: 'word', bit: 0, width: 0 } })).toThrow(RangeError);
  });
});

describe('embedded layouts', () => {
  test('the inner layout lands at its offset, with prefixed names and C designators', () => {
    expect(OUTER.fields['Interrupt.Destination']).toEqual({ offset: 16, type: 'u32', c: 'Interrupt.Destination', bitfieldsOnly: false });
    expect(OUTER.fields['Interrupt.word'].offset).toBe(8);
    expect(OUTER.bits['Interrupt.TriggerMode']).toEqual({ field: 'Interrupt.word', bit: 12, width: 4, c: 'Interrupt.TriggerMode' });
    const bytes = packStruct(OUTER, { Kind: 0, 'Interrupt.Type': 4, 'Interrupt.TriggerMode': 1, 'Interrupt.Destination': 3, 'Interrupt.Vector': 0x22 });
    const expected = new Uint8Array(32);
    expected.set([0x04, 0x10], 8);
    expected[16] = 3;
    expected[20] = 0x22;
    expect(Array.from(bytes)).toEqual(Array.from(expected));
  });

  test('an embedded layout that does not fit the outer size is refused', () => {
    const e = embedLayout('X', CONTROL, 24);
    expect(() => defineLayout('struct small', 32, e.fields, e.bits)).toThrow(RangeError);
  });
});

describe('header followed by N entries', () => {
  const HEADER = defineLayout('struct hdr', 8, { nr: { offset: 0, type: 'u32' }, flags: { offset: 4, type: 'u32' } });
  const ENTRY = defineLayout('struct ent', 16, { gsi: { offset: 0, type: 'u32' }, address: { offset: 8, type: 'u64' } });
  const TABLE = defineTable({ header: HEADER, entry: ENTRY, countField: 'nr' });

  test('pack writes the count itself and each entry at header.size + i * entry.size', () => {
    expect(TABLE.sizeFor(2)).toBe(40);
    const bytes = TABLE.pack({ flags: 7 }, [{ gsi: 24, address: 0xfee00000n }, { gsi: 25 }]);
    expect(bytes.length).toBe(40);
    const v = new DataView(bytes.buffer);
    expect(v.getUint32(0, true)).toBe(2);
    expect(v.getUint32(4, true)).toBe(7);
    expect(v.getUint32(8, true)).toBe(24);
    expect(v.getBigUint64(16, true)).toBe(0xfee00000n);
    expect(v.getUint32(24, true)).toBe(25);
    expect(TABLE.decode(bytes)).toEqual({ header: { nr: 2, flags: 7 }, entries: [{ gsi: 24, address: 0xfee00000n }, { gsi: 25, address: 0n }] });
  });

  test('encodeHeader writes the count over any value given for it, the other fields as given, and refuses a bad count', () => {
    const view = new DataView(new Uint8Array(8).fill(0xff).buffer);
    TABLE.encodeHeader(view, 3, { nr: 9, flags: 5 });
    expect(view.getUint32(0, true)).toBe(3);
    expect(view.getUint32(4, true)).toBe(5);
    TABLE.encodeHeader(view, 0);
    expect(view.getUint32(4, true)).toBe(0);
    expect(() => TABLE.encodeHeader(view, -1)).toThrow(RangeError);
  });

  test('decode refuses a count the buffer cannot hold; entries can start past an aligned header', () => {
    const bytes = TABLE.pack({}, [{ gsi: 1 }]);
    new DataView(bytes.buffer).setUint32(0, 3, true);
    expect(() => TABLE.decode(bytes)).toThrow(/3 entries/);
    const aligned = defineTable({ header: HEADER, entry: ENTRY, countField: 'nr', entriesOffset: 16 });
    expect(aligned.sizeFor(1)).toBe(32);
    expect(new DataView(aligned.pack({}, [{ gsi: 9 }]).buffer).getUint32(16, true)).toBe(9);
    expect(() => defineTable({ header: HEADER, entry: ENTRY, countField: 'nr', entriesOffset: 4 })).toThrow(RangeError);
  });
});

describe('the C check covers bitfields and embedded members', () => {
  const header = `
#include <stdint.h>
struct ctl { uint64_t Type : 8; uint64_t DestinationMode : 4; uint64_t TriggerMode : 4; uint64_t TargetVtl : 8; uint64_t Reserved : 40; uint32_t Destination; uint32_t Vector; };
struct outer { uint32_t Kind; uint32_t Reserved; union { struct ctl Interrupt; uint8_t raw[24]; }; };
`;
  const run = (hdr: string): string[] => {
    const c = generateCCheck({ headers: ['layout.h'], layouts: [CONTROL, OUTER], ioctls: [] });
    const lines = runCCheck(c, { localHeaders: { 'layout.h': hdr } });
    return c.expected.filter((e) => !lines.includes(e));
  };

  test('every expected line matches what the compiler says', () => {
    expect(run(header)).toEqual([]);
  });

  test('a header with a bitfield moved is caught', () => {
    const broken = header.replace('uint64_t DestinationMode : 4; uint64_t TriggerMode : 4;', 'uint64_t TriggerMode : 4; uint64_t DestinationMode : 4;');
    expect(run(broken)).toEqual(expect.arrayContaining(['bits struct ctl DestinationMode f00', 'bits struct outer Interrupt.TriggerMode f000']));
  });
});
