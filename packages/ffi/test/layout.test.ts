import { decodeStruct, defineLayout, defineStruct, encodeStruct, generateCCheck, packStruct } from '../src';

const S = defineLayout('struct s', 16, {
  a: { offset: 0, type: 'u8' },
  b: { offset: 2, type: 'u16' },
  c: { offset: 4, type: 'i32' },
  d: { offset: 8, type: 'u64', c: 'u.d' },
});

test('encodes little-endian at the declared offsets, padding zero, and decodes back', () => {
  const bytes = packStruct(S, { a: 0x11, b: 0x2233, c: -2, d: 0x0102030405060708n });
  expect(Array.from(bytes)).toEqual([0x11, 0, 0x33, 0x22, 0xfe, 0xff, 0xff, 0xff, 8, 7, 6, 5, 4, 3, 2, 1]);
  expect(decodeStruct(S, new DataView(bytes.buffer))).toEqual({ a: 0x11, b: 0x2233, c: -2, d: 0x0102030405060708n });
});

test('refuses a field that does not fit the struct', () => {
  expect(() => defineLayout('struct t', 4, { x: { offset: 2, type: 'u32' } })).toThrow(RangeError);
});

test('the C check prints size, offsets and widths, with the C member designator', () => {
  const c = generateCCheck({ headers: ['x.h'], layouts: [S], ioctls: [{ name: 'REQ', request: 7 }] });
  expect(c.source).toContain('#include <x.h>');
  expect(c.expected).toEqual(
    expect.arrayContaining(['sizeof struct s 16', 'offsetof struct s u.d 8', 'width struct s u.d 8', 'width struct s c 4', 'ioctl REQ 7']),
  );
});

test('refuses a type that is not a FieldType and a field that is not an object, naming the field', () => {
  const bad = (fields: unknown) => () => defineLayout('struct t', 8, fields as Record<string, { offset: number; type: 'u32' }>);
  expect(bad({ x: { offset: 0, type: 'u24' } })).toThrow(new RangeError('struct t.x: type "u24" is not one of u8, u16, u32, i32, u64'));
  expect(bad({ x: null })).toThrow(new RangeError('struct t.x: null is not a field ({ offset, type })'));
});

test('refuses, by name, what a typo or a hostile name would otherwise turn into a silently wrong layout or C source', () => {
  const u32 = { offset: 0, type: 'u32' } as const;
  const widhtTypo: unknown = { lo: { field: 'a', bit: 0, widht: 4 } };
  const cases: [() => unknown, RegExp][] = [
    [() => defineLayout('struct x', 8, { a: { ...u32, cout: 4 } as never }), /struct x\.a: unknown key cout; a field takes offset, type, c, bitfieldsOnly/],
    [() => defineLayout('struct x', 8, { a: { ...u32, bitfieldOnly: true } as never }), /struct x\.a: unknown key bitfieldOnly/],
    [() => defineLayout('struct x', 8, { a: u32, b: { offset: 4, type: 'u32' } }, { b: { field: 'a', bit: 0, width: 4 } }), /struct x\.b: a bitfield named like a field/],
    [() => defineLayout('struct x', 8, { a: u32 }, widhtTypo as never), /struct x\.lo: unknown key widht; a bitfield takes field, bit, width, c/],
    [() => defineLayout('struct x', 8, JSON.parse('{"__proto__": {"offset": 0, "type": "u32"}}') as never), /struct x\.__proto__: the name __proto__ cannot be/],
    [() => defineLayout('struct x"); system("id', 8, { a: u32 }), /is not a C type name/],
    [() => defineStruct('struct x', { a: 'u32', b: 'u32' }, { bits: { b: { field: 'a', bit: 0, width: 4 } } }), /struct x\.b: a bitfield named like a field/],
    [() => defineStruct('struct x', JSON.parse('{"__proto__": "u32", "b": "u32"}') as Record<string, 'u32'>), /struct x\.__proto__: the name __proto__ cannot be a member name/],
    [() => defineStruct('struct x', { a: 'u32' }, { sise: 16 } as never), /struct x: unknown option sise; defineStruct takes size, bits, cPrefix/],
  ];
  for (const [make, message] of cases) expect(make).toThrow(message);
  // What stays valid: C type names with and without a tag, a bitfield beside its word.
  expect(defineLayout('WHV_X', 8, { a: u32 }, { lo: { field: 'a', bit: 0, width: 4 } }).bits.lo.width).toBe(4);
  expect(defineLayout('union y', 4, { a: u32 }).cType).toBe('union y');
});

describe('a member value that does not fit its type is a RangeError naming the member, never truncated', () => {
  const W = defineLayout('struct w', 24, {
    a: { offset: 0, type: 'u32' },
    b: { offset: 8, type: 'u64' },
    c: { offset: 16, type: 'u16' },
  });
  it.each([
    ['a u32 above 32 bits', { a: 2 ** 33 }, /struct w: 8589934592 does not fit a \(u32\)/],
    ['a fractional u32', { a: 1.5 }, /does not fit a \(u32\)/],
    ['a u32 below -2^31', { a: -(2 ** 31) - 1 }, /does not fit a \(u32\)/],
    ['a string', { a: '7' as never }, /does not fit a \(u32\)/],
    ['NaN', { a: NaN }, /does not fit a \(u32\)/],
    ['a u64 above 64 bits', { b: 2n ** 65n }, /does not fit b \(u64\)/],
    ['a u64 of 2^64 as a number', { b: 2 ** 64 }, /does not fit b \(u64\)/],
    ['a u16 above 16 bits', { c: 0x10000 }, /does not fit c \(u16\)/],
  ])('%s', (_label, values, message) => {
    expect(() => packStruct(W, values)).toThrow(RangeError);
    expect(() => packStruct(W, values)).toThrow(message);
  });

  it('a string is shown as one, and a refusal leaves the caller\'s bytes as they were', () => {
    expect(() => packStruct(W, { a: '7' as never })).toThrow('struct w: "7" does not fit a (u32)');
    const bytes = new Uint8Array(24).fill(0xaa);
    expect(() => encodeStruct(W, new DataView(bytes.buffer), 0, { a: 5, c: 0x10000 })).toThrow(RangeError);
    expect(bytes.every((x) => x === 0xaa)).toBe(true);
  });

  const B = defineLayout('struct bits', 4, { word: { offset: 0, type: 'u32' } }, { type: { field: 'word', bit: 0, width: 8 } });
  it.each([
    ['a string', '7'],
    ['a boolean', true],
    ['a value past its width', 300],
    ['a fraction', 1.5],
    ['a negative value', -1],
  ])('a bitfield given %s is a RangeError naming the struct and the bitfield', (_label, value) => {
    expect(() => packStruct(B, { type: value as never })).toThrow(/^struct bits: .* does not fit type \(8-bit field\)$/);
  });

  it('every bound that fits is encoded: the unsigned maximum and the signed minimum of each width', () => {
    expect(decodeStruct(W, new DataView(packStruct(W, { a: 0xffffffff, b: 2n ** 64n - 1n, c: 0xffff }).buffer))).toEqual({ a: 0xffffffff, b: 2n ** 64n - 1n, c: 0xffff });
    expect(decodeStruct(W, new DataView(packStruct(W, { a: 1 << 31, b: -1n, c: -1 }).buffer))).toEqual({ a: 0x80000000, b: 2n ** 64n - 1n, c: 0xffff });
    expect(decodeStruct(W, new DataView(packStruct(W, { b: 2 ** 53 }).buffer)).b).toBe(2n ** 53n);
  });
});
