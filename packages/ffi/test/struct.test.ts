import { type StructLayout, decodeStruct, defineLayout, defineStruct, generateCCheck, packStruct, runCCheck } from '../src';

/** The offsets, widths, designators and size a layout gives, for comparing two declarations of one struct. */
const shape = (l: StructLayout<string, string>) => ({ size: l.size, fields: l.fields, bits: l.bits });

// Every C alignment case in one struct: a u8 then a u16 (1 byte of padding), an i32, a u64 after a
// gap, an array of u16, a trailing u32 (4 bytes of tail padding to the u64 alignment).
const HEADER = `#include <stdint.h>
struct mixed { uint8_t a; uint16_t b; int32_t c; uint8_t d; uint64_t e; uint16_t rsvd[3]; uint32_t f; };
`;
const MIXED = defineStruct('struct mixed', { a: 'u8', b: 'u16', c: 'i32', d: 'u8', e: 'u64', r: { type: 'u16', count: 3, c: 'rsvd' }, f: 'u32' });

describe('defineStruct derives the offsets by the C rules', () => {
  it('each member aligned to its width, the size a multiple of the widest', () => {
    expect(shape(MIXED)).toEqual(
      shape(
        defineLayout('struct mixed', 40, {
          a: { offset: 0, type: 'u8' },
          b: { offset: 2, type: 'u16' },
          c: { offset: 4, type: 'i32' },
          d: { offset: 8, type: 'u8' },
          e: { offset: 16, type: 'u64' },
          r0: { offset: 24, type: 'u16', c: 'rsvd[0]' },
          r1: { offset: 26, type: 'u16', c: 'rsvd[1]' },
          r2: { offset: 28, type: 'u16', c: 'rsvd[2]' },
          f: { offset: 32, type: 'u32' },
        }),
      ),
    );
  });

  it('the C compiler lays the header out the same (every offset, width and the size)', () => {
    const check = generateCCheck({ headers: ['mixed.h'], layouts: [MIXED], ioctls: [] });
    expect(check.expected).toHaveLength(1 + 2 * 9);
    expect(runCCheck(check, { localHeaders: { 'mixed.h': HEADER } })).toEqual(check.expected);
  });

  it('a declaration that differs from the header is caught by the C check', () => {
    // `d` declared as a u32: the offset of `d` holds, but its width does not.
    const wrongType = defineStruct('struct mixed', { a: 'u8', b: 'u16', c: 'i32', d: 'u32', e: 'u64', r: { type: 'u16', count: 3, c: 'rsvd' }, f: 'u32' });
    const c1 = generateCCheck({ headers: ['mixed.h'], layouts: [wrongType], ioctls: [] });
    expect(runCCheck(c1, { localHeaders: { 'mixed.h': HEADER } })).not.toEqual(c1.expected);
    // Two members in the wrong order: both offsets are wrong.
    const swapped = defineStruct('struct mixed', { a: 'u8', c: 'i32', b: 'u16', d: 'u8', e: 'u64', r: { type: 'u16', count: 3, c: 'rsvd' }, f: 'u32' });
    const c2 = generateCCheck({ headers: ['mixed.h'], layouts: [swapped], ioctls: [] });
    expect(runCCheck(c2, { localHeaders: { 'mixed.h': HEADER } })).not.toEqual(c2.expected);
  });

  it('an array member is one field per element, named and designated by index', () => {
    const L = defineStruct('struct cap', { cap: 'u32', flags: 'u32', arg: { type: 'u64', count: 4, c: 'args' } }, { size: 104 });
    expect(Object.entries(L.fields).map(([name, f]) => [name, f.offset, f.c])).toEqual([
      ['cap', 0, 'cap'],
      ['flags', 4, 'flags'],
      ['arg0', 8, 'args[0]'],
      ['arg1', 16, 'args[1]'],
      ['arg2', 24, 'args[2]'],
      ['arg3', 32, 'args[3]'],
    ]);
    expect(L.size).toBe(104);
    const bytes = packStruct(L, { cap: 129, arg3: 0x0102n });
    expect(decodeStruct(L, new DataView(bytes.buffer))).toEqual({ cap: 129, flags: 0, arg0: 0n, arg1: 0n, arg2: 0n, arg3: 0x0102n });
  });

  it('after a shorter alternative of an anonymous union, C may go on inside it or after the union: an offset is required, and either placement checks against C', () => {
    // struct u { uint32_t h; union { uint64_t ua; uint32_t ub; }; uint32_t after; }: after @16.
    expect(() => defineStruct('struct u', { h: 'u32', ua: { type: 'u64', offset: 8 }, ub: { type: 'u32', offset: 8 }, after: 'u32' })).toThrow(
      /struct u\.after: the member before it \(ub\) ends at 12, inside a union reaching 16: give after an offset/,
    );
    const U = defineStruct('struct u', { h: 'u32', ua: { type: 'u64', offset: 8 }, ub: { type: 'u32', offset: 8 }, after: { type: 'u32', offset: 16 } });
    expect(Object.values(U.fields).map((f) => f.offset)).toEqual([0, 8, 8, 16]);
    expect(U.size).toBe(24);
    // struct x { uint32_t h; union { uint64_t a; struct { uint32_t b; uint32_t c2; }; }; uint32_t after; }: c2 @12 (inside the alternative), after @16.
    expect(() => defineStruct('struct x', { h: 'u32', a: { type: 'u64', offset: 8 }, b: { type: 'u32', offset: 8 }, c2: 'u32', after: 'u32' })).toThrow(/struct x\.c2: .* give c2 an offset/);
    const X = defineStruct('struct x', { h: 'u32', a: { type: 'u64', offset: 8 }, b: { type: 'u32', offset: 8 }, c2: { type: 'u32', offset: 12 }, after: 'u32' });
    expect(Object.values(X.fields).map((f) => f.offset)).toEqual([0, 8, 8, 12, 16]);
    const check = generateCCheck({ headers: ['u.h'], layouts: [U, X], ioctls: [] });
    const header =
      '#include <stdint.h>\nstruct u { uint32_t h; union { uint64_t ua; uint32_t ub; }; uint32_t after; };\n' +
      'struct x { uint32_t h; union { uint64_t a; struct { uint32_t b; uint32_t c2; }; }; uint32_t after; };\n';
    expect(runCCheck(check, { localHeaders: { 'u.h': header } })).toEqual(check.expected);
  });

  it('named alternatives need no offset after the union: the designators say where each member lives', () => {
    const L = defineStruct('struct n', { h: 'u32', ua: { type: 'u64', offset: 8, c: 'u.ua' }, ub: { type: 'u32', offset: 8, c: 'u.ub' }, after: 'u32' });
    expect(Object.values(L.fields).map((f) => f.offset)).toEqual([0, 8, 8, 16]);
    const check = generateCCheck({ headers: ['n.h'], layouts: [L], ioctls: [] });
    expect(runCCheck(check, { localHeaders: { 'n.h': '#include <stdint.h>\nstruct n { uint32_t h; union { uint64_t ua; uint32_t ub; } u; uint32_t after; };\n' } })).toEqual(check.expected);
  });

  it('the first member of a union, and a top-level member after a union of structs, start after the furthest member', () => {
    const L = defineStruct('struct entry', {
      gsi: 'u32',
      type: 'u32',
      addressLo: { type: 'u32', c: 'u.msi.address_lo' },
      addressHi: { type: 'u32', c: 'u.msi.address_hi' },
      data: { type: 'u32', c: 'u.msi.data' },
      irqchip: { type: 'u32', offset: 8, c: 'u.irqchip.irqchip' },
      pin: { type: 'u32', c: 'u.irqchip.pin' },
      tail: 'u32',
    });
    expect(Object.values(L.fields).map((f) => f.offset)).toEqual([0, 4, 8, 12, 16, 8, 12, 20]);
    const header = `#include <stdint.h>
struct entry { uint32_t gsi; uint32_t type;
  union { struct { uint32_t address_lo, address_hi, data; } msi; struct { uint32_t irqchip, pin; } irqchip; } u;
  uint32_t tail; };
`;
    const check = generateCCheck({ headers: ['entry.h'], layouts: [L], ioctls: [] });
    expect(runCCheck(check, { localHeaders: { 'entry.h': header } })).toEqual(check.expected);
  });

  it('an explicitly placed member (a union member) and the members after it continue from its end', () => {
    const L = defineStruct('struct entry', {
      gsi: 'u32',
      type: 'u32',
      addressLo: { type: 'u32', offset: 8, c: 'u.msi.address_lo' },
      addressHi: { type: 'u32', c: 'u.msi.address_hi' },
      data: { type: 'u32', c: 'u.msi.data' },
      irqchip: { type: 'u32', offset: 8, c: 'u.irqchip.irqchip' },
      pin: { type: 'u32', c: 'u.irqchip.pin' },
    });
    expect(Object.values(L.fields).map((f) => f.offset)).toEqual([0, 4, 8, 12, 16, 8, 12]);
    // The size is what the furthest member reaches (the msi member), not where the last one ends.
    expect(L.size).toBe(20);
  });

  it('bitfields are given as defineLayout takes them', () => {
    const L = defineStruct('struct ctl', { word: { type: 'u64', bitfieldsOnly: true }, vector: 'u32' }, { bits: { kind: { field: 'word', bit: 0, width: 8 } } });
    expect(L.size).toBe(16);
    expect(L.bits.kind).toEqual({ field: 'word', bit: 0, width: 8, c: 'kind' });
    expect(packStruct(L, { kind: 4, vector: 0x41 })[8]).toBe(0x41);
  });

  it('refuses a size the members do not fit, a size C could not give, and a bad offset or count', () => {
    expect(() => defineStruct('struct s', { a: 'u64', b: 'u32' }, { size: 12 })).toThrow(/at least 16/);
    expect(() => defineStruct('struct s', { a: 'u64', b: 'u32' }, { size: 20 })).toThrow(/multiple of 8/);
    expect(() => defineStruct('struct s', { a: { type: 'u32', offset: -4 } })).toThrow(RangeError);
    expect(() => defineStruct('struct s', { a: { type: 'u32', offset: 1.5 } })).toThrow(RangeError);
    expect(() => defineStruct('struct s', { a: { type: 'u32', count: 0 } })).toThrow(/count/);
    expect(() => defineStruct('struct s', { a: 'u32' }, { bits: { x: { field: 'a', bit: 30, width: 4 } } })).toThrow(/fit/);
  });

  it('refuses two members that make the same field name, naming both', () => {
    expect(() => defineStruct('struct x', { a: { type: 'u32', count: 2 }, a0: 'u64' })).toThrow(new RangeError('struct x.a0: field a0 is made by both a and a0; rename one'));
    expect(() => defineStruct('struct x', { a: { type: 'u8', count: 11 }, a1: { type: 'u8', count: 1 } })).toThrow(
      new RangeError('struct x.a1: field a10 is made by both a and a1; rename one'),
    );
    expect(() => defineStruct('struct x', { a0: 'u64', a: { type: 'u32', count: 2 } })).toThrow(/field a0 is made by both a0 and a/);
  });

  it('refuses a member that is not a type or a spec, an unknown type and an unknown key, naming the member', () => {
    const bad = (members: unknown) => () => defineStruct('struct w', members as Record<string, 'u32'>);
    expect(bad({ a: 'u24' })).toThrow(new RangeError('struct w.a: type "u24" is not one of u8, u16, u32, i32, u64'));
    expect(bad({ a: { type: 'u24', offset: 0 } })).toThrow(new RangeError('struct w.a: type "u24" is not one of u8, u16, u32, i32, u64'));
    expect(bad({ a: 'u32', b: null })).toThrow(RangeError);
    expect(bad({ a: 'u32', b: null })).toThrow(/struct w\.b: null is not a member/);
    expect(bad({ a: 7 })).toThrow(/struct w\.a: 7 is not a member/);
    expect(bad({ a: { type: 'u32', cout: 4 } })).toThrow(new RangeError('struct w.a: unknown key cout; a member takes type, c, offset, count, bitfieldsOnly'));
  });

  it('a packed layout is refused: its size is not a multiple of its widest member', () => {
    expect(() => defineStruct('struct p', { a: 'u8', b: { type: 'u32', offset: 1 } }, { size: 5 })).toThrow(/multiple of 4/);
  });

  it('the snake_case default breaks words at acronyms too', () => {
    const L = defineStruct('struct n', { ioctlHTTPRequest: 'u32', numIrqs: 'u32', msiXTable: 'u32', redirtbl0: 'u32', address64Bit: 'u32', TriggerType: 'u32' });
    expect(Object.values(L.fields).map((f) => f.c)).toEqual(['ioctl_http_request', 'num_irqs', 'msi_x_table', 'redirtbl0', 'address64_bit', 'TriggerType']);
  });

  it('a count of 1000 or more still typechecks, its element names typed as name + number', () => {
    const L = defineStruct('struct big', { a: 'u32', r: { type: 'u8', count: 1500 } });
    expect(packStruct(L, { r1499: 7 })[4 + 1499]).toBe(7);
    // @ts-expect-error `q` is not a member, however long the array.
    packStruct(L, { q: 1 });
    expect(L.size).toBe(1504);
  });

  it('the C member is the name in snake_case (with the header\'s prefix), unless given', () => {
    const L = defineStruct('struct ioas', { size: 'u32', ioasId: 'u32', outIovaAlignment: 'u64', Vector: 'u32', tail: { type: 'u32', c: '__reserved' } });
    expect(Object.values(L.fields).map((f) => f.c)).toEqual(['size', 'ioas_id', 'out_iova_alignment', 'Vector', '__reserved']);
    const P = defineStruct('struct iocb', { data: 'u64', rwFlags: 'i32', opcode: { type: 'u16', c: 'aio_lio_opcode' } }, { cPrefix: 'aio_' });
    expect(Object.values(P.fields).map((f) => f.c)).toEqual(['aio_data', 'aio_rw_flags', 'aio_lio_opcode']);
  });

  it('types the field names: a name that is not a member is a compile error', () => {
    const L = defineStruct('struct s', { a: 'u32', r: { type: 'u16', count: 2 } });
    // @ts-expect-error `b` is not a member of the struct.
    packStruct(L, { b: 1 });
    // @ts-expect-error `r2` is past the end of the 2-element array.
    packStruct(L, { r2: 1 });
    expect(Object.keys(packStruct(L, { a: 1, r0: 2, r1: 3 }))).toHaveLength(8);
  });
});
