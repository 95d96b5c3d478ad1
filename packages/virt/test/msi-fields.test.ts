/** An MSI written into a struct as data: the one encoder the relay threads run, and its checks. */
import { type MsiFieldName, decodeMsi, encodeMsi, isVirtError } from '../src';
import { MSI_BITS } from '../src/implement';
import { checkMsiStructFields, encodeMsiFields, msiBits } from '../src/implement';
import { thrownBy } from '../src/testing';

function encode(size: number, fields: unknown, lo: number, hi: number, data: number): DataView {
  const view = new DataView(new ArrayBuffer(size));
  encodeMsiFields(view, checkMsiStructFields('test', 'fields', fields, size), lo, hi, data);
  return view;
}

describe('encodeMsiFields', () => {
  it('words, the 64-bit address and constants, little-endian, in u8, u16, u32 and u64 fields', () => {
    const v = encode(
      40,
      [
        { offset: 0, type: 'u32', value: 'addressLo' },
        { offset: 4, type: 'u32', value: 'addressHi' },
        { offset: 8, type: 'u32', value: 'data' },
        { offset: 16, type: 'u64', value: 'address' },
        { offset: 24, type: 'u64', value: 0x1_2345_6789 },
        { offset: 32, type: 'u16', value: 0xbeef },
        { offset: 34, type: 'u8', value: 0x7f },
      ],
      0xfee01004,
      0xabcd0000,
      0x8041,
    );
    expect([v.getUint32(0, true), v.getUint32(4, true), v.getUint32(8, true)]).toEqual([0xfee01004, 0xabcd0000, 0x8041]);
    expect(v.getBigUint64(16, true)).toBe(0xabcd0000_fee01004n);
    expect(v.getBigUint64(24, true)).toBe(0x1_2345_6789n);
    expect([v.getUint16(32, true), v.getUint8(34)]).toEqual([0xbeef, 0x7f]);
  });

  it('bits land where `at` says, also across and above bit 32 of a u64', () => {
    const v = encode(
      8,
      [
        {
          offset: 0,
          type: 'u64',
          value: {
            bits: [
              { from: 'data', shift: 0, width: 8, at: 28 }, // straddles the two halves
              { from: 'data', shift: 15, width: 1, at: 40 },
              { from: 'addressLo', shift: 2, width: 1, at: 63 },
            ],
          },
        },
      ],
      0xfee00004,
      0,
      0x80a5,
    );
    expect(v.getBigUint64(0, true)).toBe((0xa5n << 28n) | (1n << 40n) | (1n << 63n));
  });

  it.each(Object.keys(MSI_BITS) as MsiFieldName[])('msiBits(%s) reads what decodeMsi reads', (name) => {
    const messages = [
      encodeMsi({ destinationId: 0xa5, vector: 0x5a, deliveryMode: 'nmi', destinationMode: 'logical', triggerMode: 'level', redirectionHint: true, levelAssert: true }),
      encodeMsi({ destinationId: 3, vector: 0xff, deliveryMode: 'extint' }),
      { addressLo: 0xfee00ff0, addressHi: 0, data: 0x4700 },
    ];
    for (const m of messages) {
      const v = encode(4, [{ offset: 0, type: 'u32', value: { bits: [msiBits(name)] } }], m.addressLo, m.addressHi, m.data);
      const f = decodeMsi(m);
      const expected: Record<MsiFieldName, number> = {
        destinationMode: f.destinationMode === 'logical' ? 1 : 0,
        redirectionHint: f.redirectionHint ? 1 : 0,
        remappable: f.remappable ? 1 : 0,
        extendedDestinationId: f.extendedDestinationId,
        destinationId: f.destinationId & 0xff,
        vector: f.vector,
        deliveryMode: f.deliveryModeCode,
        levelAssert: f.levelAssert ? 1 : 0,
        triggerMode: f.triggerMode === 'level' ? 1 : 0,
      };
      expect(v.getUint32(0, true)).toBe(expected[name]);
    }
  });
});

describe('checkMsiStructFields', () => {
  it.each([
    ['a field past the end', [{ offset: 6, type: 'u32', value: 'data' }]],
    ['an unknown type', [{ offset: 0, type: 'i32', value: 'data' }]],
    ['a word in a u16', [{ offset: 0, type: 'u16', value: 'data' }]],
    ['a constant too wide', [{ offset: 0, type: 'u8', value: 256 }]],
    ['a negative constant', [{ offset: 0, type: 'u32', value: -1 }]],
    ['bits past the field', [{ offset: 0, type: 'u32', value: { bits: [{ from: 'data', shift: 0, width: 8, at: 25 }] } }]],
    ['bits past the word', [{ offset: 0, type: 'u64', value: { bits: [{ from: 'data', shift: 30, width: 4, at: 0 }] } }]],
    ['an unknown word', [{ offset: 0, type: 'u32', value: { bits: [{ from: 'address', shift: 0, width: 1, at: 0 }] } }]],
    ['no bits', [{ offset: 0, type: 'u32', value: { bits: [] } }]],
    ['no fields', []],
  ])('%s is INVALID_ARGUMENT', (_name, fields) => {
    expect(isVirtError(thrownBy(() => checkMsiStructFields('test', 'fields', fields, 8)), 'INVALID_ARGUMENT')).toBe(true);
  });
});
