import { type IrqFdRoute, VirtError, isVirtError } from '@tsvmm/virt';
import { thrownBy } from '@tsvmm/virt/testing';
import { IrqFdMsixRoute, MsixEmulator } from '../src';
import { type Rig, msg, rig } from './support/setup';

// The layout a VMM author meets first: table at BAR 0 + 0x2000, PBA at BAR 0 + 0x3000, 4 vectors.
const TABLE = 0x2000;
const PBA = 0x3000;

/** Enabled, every vector programmed, 0 and 1 unmasked, 2 masked with its pending bit set. */
function live(): Rig {
  const r = rig({ vectors: 4, table: { bir: 0, offset: TABLE }, pba: { bir: 0, offset: PBA } });
  for (let v = 0; v < 4; v++) r.program(v, v, 0x30 + v);
  r.control(true, false);
  r.unmask(0);
  r.unmask(1);
  r.emu.signal(2);
  r.fake.take();
  r.fake.calls.length = 0;
  return r;
}

/** Everything an access could change: entries, held pending bits, control, route calls, deliveries. */
function state(r: Rig): string {
  const e = r.emu;
  return JSON.stringify({
    entries: [0, 1, 2, 3].map((v) => e.entry(v)),
    pending: [0, 1, 2, 3].map((v) => e.isPendingHeld(v)),
    delivering: [0, 1, 2, 3].map((v) => e.isDelivering(v)),
    enabled: e.enabled,
    functionMasked: e.functionMasked,
    calls: r.fake.calls,
    deliveries: r.fake.deliveries,
  });
}

let coerced = 0;
/** An object that records (and refuses) every coercion: the emulator must never try one. */
const hostileNumber = {
  valueOf(): number {
    coerced++;
    throw new Error('valueOf was called');
  },
  toString(): string {
    coerced++;
    throw new Error('toString was called');
  },
  [Symbol.toPrimitive](): number {
    coerced++;
    throw new Error('Symbol.toPrimitive was called');
  },
};
const trap = (): never => {
  throw new Error('a proxy trap was called');
};
const throwingProxy = new Proxy([1, 2, 3, 4], { get: trap, getPrototypeOf: trap, has: trap, ownKeys: trap, isExtensible: trap, getOwnPropertyDescriptor: trap });
const fakeUint8Array = Object.create(Uint8Array.prototype) as Uint8Array;

type Bad = readonly [label: string, value: unknown];
/** Not a number, nor anything the emulator could take as one. */
const NOT_NUMBERS: readonly Bad[] = [
  ['null', null],
  ['undefined', undefined],
  ['a string', 'abcd'],
  ['a symbol', Symbol('x')],
  ['an object with a throwing valueOf', hostileNumber],
  ['an ArrayBuffer', new ArrayBuffer(4)],
  ['a DataView', new DataView(new ArrayBuffer(4))],
  ['a number[]', [1, 2, 3, 4]],
  ['a frozen array', Object.freeze([0, 0, 0, 0])],
  ['a throwing proxy', throwingProxy],
];
const NOT_DWORDS: readonly Bad[] = [
  ...NOT_NUMBERS,
  ['a bigint above 0xFFFFFFFF', 0x1_0000_0000n],
  ['a negative bigint', -1n],
  ['a number below -2^31', -(2 ** 31) - 1],
  ['a negative fraction', -0.5],
  ['NaN', NaN],
  ['a fraction', 0.5],
  ['a number above 0xFFFFFFFF', 0x1_0000_0000],
  ['Infinity', Infinity],
];
const NOT_QWORDS: readonly Bad[] = [
  ...NOT_NUMBERS,
  ['a bigint above 2^64-1', 2n ** 64n],
  ['a negative bigint', -1n],
  ['a negative number', -1],
  ['NaN', NaN],
  ['a fraction', 0.5],
  ['a number past 2^53', 2 ** 53],
  ['Infinity', Infinity],
];
const NOT_PLACES: readonly Bad[] = [...NOT_NUMBERS, ['a bigint', BigInt(TABLE)]];
const NOT_BUFFERS: readonly Bad[] = [
  ['null', null],
  ['undefined', undefined],
  ['a string', 'abcd'],
  ['a bigint', 5n],
  ['a negative number', -1],
  ['NaN', NaN],
  ['a symbol', Symbol('x')],
  ['an object with a throwing valueOf', hostileNumber],
  ['an array-like object', { length: 4, 0: 1, 1: 2, 2: 3, 3: 4 }],
  ['a throwing proxy', throwingProxy],
  ['an object posing as a Uint8Array', fakeUint8Array],
];
const NOT_BYTE_ARRAYS: readonly Bad[] = [
  ...NOT_BUFFERS,
  ['an array holding 256', [0x45, 0, 0, 256]],
  ['an array holding -1', [0x45, 0, 0, -1]],
  ['an array holding NaN', [0x45, NaN, 0, 0]],
  ['an array holding a string', [0x45, '0', 0, 0]],
  ['an array holding a fraction', [0x45, 0.5, 0, 0]],
  ['an array holding a bigint', [0x45, 0n, 0, 0]],
  ['an array with holes', new Array<number>(4)],
];
const NOT_OUT_BUFFERS: readonly Bad[] = [...NOT_BUFFERS, ['a frozen array', Object.freeze([0, 0, 0, 0, 0, 0, 0, 0])]];

interface Case {
  readonly method: string;
  readonly argument: string;
  readonly bad: readonly Bad[];
  /** The access with `x` in place of the argument under test (the others good, aimed at live registers). */
  readonly call: (e: MsixEmulator, x: unknown) => unknown;
  /** What the method returns when it refuses (an access of nobody's bytes). */
  readonly refused: unknown;
  /** True when the same access with a good argument changes the state (so "unchanged" means something). */
  readonly writes: boolean;
  readonly good: unknown;
}

const u = (x: unknown) => x as never;
const CASES: Case[] = [
  { method: 'read32', argument: 'bar', bad: NOT_PLACES, call: (e, x) => e.read32(u(x), TABLE), refused: 0, writes: false, good: 0 },
  { method: 'read32', argument: 'offset', bad: NOT_PLACES, call: (e, x) => e.read32(0, u(x)), refused: 0, writes: false, good: TABLE },
  { method: 'read64', argument: 'bar', bad: NOT_PLACES, call: (e, x) => e.read64(u(x), TABLE), refused: 0n, writes: false, good: 0 },
  { method: 'read64', argument: 'offset', bad: NOT_PLACES, call: (e, x) => e.read64(0, u(x)), refused: 0n, writes: false, good: TABLE },
  { method: 'write32', argument: 'bar', bad: NOT_PLACES, call: (e, x) => e.write32(u(x), TABLE + 0x18, 0x45), refused: undefined, writes: true, good: 0 },
  { method: 'write32', argument: 'offset', bad: NOT_PLACES, call: (e, x) => e.write32(0, u(x), 0x45), refused: undefined, writes: true, good: TABLE + 0x18 },
  { method: 'write32', argument: 'value', bad: NOT_DWORDS, call: (e, x) => e.write32(0, TABLE + 0x18, u(x)), refused: undefined, writes: true, good: 0x45 },
  { method: 'write64', argument: 'bar', bad: NOT_PLACES, call: (e, x) => e.write64(u(x), TABLE + 0x10, 0xfee03000n), refused: undefined, writes: true, good: 0 },
  { method: 'write64', argument: 'offset', bad: NOT_PLACES, call: (e, x) => e.write64(0, u(x), 0xfee03000n), refused: undefined, writes: true, good: TABLE + 0x10 },
  { method: 'write64', argument: 'value', bad: NOT_QWORDS, call: (e, x) => e.write64(0, TABLE + 0x10, u(x)), refused: undefined, writes: true, good: 0xfee03000n },
  { method: 'write64Halves', argument: 'offset', bad: NOT_PLACES, call: (e, x) => e.write64Halves(0, u(x), 0xfee03000, 0), refused: undefined, writes: true, good: TABLE + 0x10 },
  { method: 'write64Halves', argument: 'lo', bad: NOT_DWORDS, call: (e, x) => e.write64Halves(0, TABLE + 0x10, u(x), 0), refused: undefined, writes: true, good: 0xfee03000 },
  { method: 'write64Halves', argument: 'hi', bad: NOT_DWORDS, call: (e, x) => e.write64Halves(0, TABLE + 0x10, 0xfee03000, u(x)), refused: undefined, writes: true, good: 0 },
  { method: 'read', argument: 'offset', bad: NOT_PLACES, call: (e, x) => e.read(0, u(x), new Uint8Array(8)), refused: false, writes: false, good: TABLE },
  { method: 'read', argument: 'out', bad: NOT_OUT_BUFFERS, call: (e, x) => e.read(0, TABLE + 0x10, u(x)), refused: false, writes: false, good: new Uint8Array(8) },
  { method: 'write', argument: 'bar', bad: NOT_PLACES, call: (e, x) => e.write(u(x), TABLE + 0x18, new Uint8Array([0x45, 0, 0, 0])), refused: false, writes: true, good: 0 },
  { method: 'write', argument: 'data', bad: NOT_BYTE_ARRAYS, call: (e, x) => e.write(0, TABLE + 0x18, u(x)), refused: false, writes: true, good: new Uint8Array([0x45, 0, 0, 0]) },
  { method: 'configRead', argument: 'offset', bad: NOT_PLACES, call: (e, x) => e.configRead(u(x), 4), refused: 0, writes: false, good: 0 },
  { method: 'configRead', argument: 'size', bad: NOT_PLACES, call: (e, x) => e.configRead(0, u(x)), refused: 0, writes: false, good: 4 },
  { method: 'configWrite', argument: 'offset', bad: NOT_PLACES, call: (e, x) => e.configWrite(u(x), 2, 0xc003), refused: undefined, writes: true, good: 2 },
  { method: 'configWrite', argument: 'size', bad: NOT_PLACES, call: (e, x) => e.configWrite(2, u(x), 0xc003), refused: undefined, writes: true, good: 2 },
  { method: 'configWrite', argument: 'value', bad: NOT_DWORDS, call: (e, x) => e.configWrite(2, 2, u(x)), refused: undefined, writes: true, good: 0xc003 },
];

describe('access arguments the VMM passes', () => {
  describe.each(CASES.map((c) => [`${c.method} ${c.argument}`, c] as const))('%s', (_name, c) => {
    it('the good argument works (and, for a write, changes the state)', () => {
      const r = live();
      const before = state(r);
      expect(() => c.call(r.emu, c.good)).not.toThrow();
      expect(r.errors).toEqual([]);
      if (c.writes) expect(state(r)).not.toBe(before);
    });

    it.each(c.bad.map((b) => [b[0], b[1]] as const))('refuses %s: never throws, changes nothing, one INVALID_ARGUMENT to onError', (_label, value) => {
      const r = live();
      const before = state(r);
      coerced = 0;
      let result: unknown = 'not returned';
      expect(() => {
        result = c.call(r.emu, value);
      }).not.toThrow();
      expect(result).toEqual(c.refused);
      expect(coerced).toBe(0);
      expect(state(r)).toBe(before);
      expect(r.errors).toHaveLength(1);
      const { error, vector, operation } = r.errors[0]!;
      expect(isVirtError(error, 'INVALID_ARGUMENT')).toBe(true);
      expect(operation).toBe(`MsixEmulator.${c.method}`);
      expect((error as VirtError).operation).toBe(`MsixEmulator.${c.method}`);
      expect(vector).toBe(-1);
      expect((error as VirtError).detail).toMatch(new RegExp(`^${c.argument} `));
      expect(r.emu.errorCount).toBe(1);
      expect(r.emu.lastError).toBe(error);
    });
  });

  it('a refused read leaves the caller buffer as it was', () => {
    const r = live();
    const out = Object.freeze([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(r.emu.read(0, TABLE, out as never)).toBe(false);
    expect(out).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
});

describe('every accepted form behaves exactly like the Uint8Array and number forms', () => {
  /** The same bytes as `bytes`, in each accepted buffer form. */
  const forms = (bytes: number[]): [string, unknown][] => {
    const big = new ArrayBuffer(bytes.length + 6);
    new Uint8Array(big, 3, bytes.length).set(bytes);
    const u16 = new Uint16Array(bytes.length / 2);
    new Uint8Array(u16.buffer).set(bytes);
    return [
      ['ArrayBuffer', new Uint8Array(bytes).buffer],
      ['DataView at an offset of a larger buffer', new DataView(big, 3, bytes.length)],
      ['Uint8Array at an offset of a larger buffer', new Uint8Array(big, 3, bytes.length)],
      ['Uint16Array', u16],
      ['Buffer', Buffer.from(bytes)],
      ['number[]', [...bytes]],
      ['frozen number[]', Object.freeze([...bytes])],
    ];
  };

  // Six bytes over vector 1's data and half its vector control: the route is reprogrammed.
  const data = [0x46, 0, 0, 0, 0, 0];
  it.each(forms(data))('write with %s', (_name, form) => {
    const want = live();
    expect(want.emu.write(0, TABLE + 0x18, new Uint8Array(data))).toBe(true);
    const got = live();
    expect(got.emu.write(0, TABLE + 0x18, form as never)).toBe(true);
    expect(got.errors).toEqual([]);
    expect(state(got)).toBe(state(want));
    expect(state(got)).not.toBe(state(live()));
  });

  // Windows: the end of the table and beyond; the start of the PBA from before it; both at once
  // (the bytes between them are not the emulator's and must be left alone).
  it.each([
    ['the end of the table', TABLE + 0x3c, 8],
    ['the PBA from before it', PBA - 4, 12],
    ['the table, the gap and the PBA', TABLE + 0x30, PBA + 8 - (TABLE + 0x30) + 4],
  ])('read of %s into every form', (_where, offset, length) => {
    const sentinel = new Array<number>(length).fill(0xaa);
    const want = live();
    const wantBytes = new Uint8Array(sentinel);
    expect(want.emu.read(0, offset, wantBytes)).toBe(true);
    expect([...wantBytes].some((b) => b !== 0xaa)).toBe(true);
    for (const [name, form] of forms(sentinel).filter(([n]) => n !== 'frozen number[]' && n !== 'Uint16Array')) {
      const got = live();
      expect([name, got.emu.read(0, offset, form as never)]).toEqual([name, true]);
      const bytes =
        form instanceof ArrayBuffer
          ? [...new Uint8Array(form)]
          : ArrayBuffer.isView(form)
            ? [...new Uint8Array(form.buffer, form.byteOffset, form.byteLength)]
            : (form as number[]);
      expect([name, bytes]).toEqual([name, [...wantBytes]]);
      expect(got.errors).toEqual([]);
      expect(state(got)).toBe(state(want));
    }
  });

  it('read into a Uint32Array sees the DWORD the guest wrote', () => {
    const r = live();
    const out = new Uint32Array(1);
    expect(r.emu.read(0, TABLE + 0x18, out)).toBe(true);
    expect(out[0]).toBe(msg(1, 0x31).data);
  });

  it.each([
    ['write32 with a bigint', (e: MsixEmulator) => e.write32(0, TABLE + 0x18, 0x46n), (e: MsixEmulator) => e.write32(0, TABLE + 0x18, 0x46)],
    ['write32 with 0xFFFFFFFF as a bigint', (e: MsixEmulator) => e.write32(0, TABLE + 0x1c, 0xffff_ffffn), (e: MsixEmulator) => e.write32(0, TABLE + 0x1c, 0xffff_ffff)],
    ['write64 with a number', (e: MsixEmulator) => e.write64(0, TABLE + 0x10, 0xfee03000), (e: MsixEmulator) => e.write64(0, TABLE + 0x10, 0xfee03000n)],
    ['write64 with a number above 2^32', (e: MsixEmulator) => e.write64(0, TABLE + 0x18, 0x1_0000_0046), (e: MsixEmulator) => e.write64(0, TABLE + 0x18, 0x1_0000_0046n)],
    ['write64 with the largest safe integer', (e: MsixEmulator) => e.write64(0, TABLE + 0x30, 2 ** 53 - 1), (e: MsixEmulator) => e.write64(0, TABLE + 0x30, 2n ** 53n - 1n)],
    ['write64Halves with bigints', (e: MsixEmulator) => e.write64Halves(0, TABLE + 0x10, 0xfee03000n, 0n), (e: MsixEmulator) => e.write64Halves(0, TABLE + 0x10, 0xfee03000, 0)],
    ['write32 with a negative int32 (the same 32 bits)', (e: MsixEmulator) => e.write32(0, TABLE + 0x10, (0xfe << 24) | 0xe03000), (e: MsixEmulator) => e.write32(0, TABLE + 0x10, 0xfee03000)],
    ['configWrite with a negative int32', (e: MsixEmulator) => e.configWrite(0, 4, 0xc0 << 24), (e: MsixEmulator) => e.configWrite(0, 4, 0xc000_0000)],
    ['configWrite with a bigint', (e: MsixEmulator) => e.configWrite(2, 2, 0xc003n), (e: MsixEmulator) => e.configWrite(2, 2, 0xc003)],
  ])('%s', (_name, alternative, reference) => {
    const want = live();
    reference(want.emu);
    const got = live();
    alternative(got.emu);
    expect(got.errors).toEqual([]);
    expect(state(got)).toBe(state(want));
    expect(state(got)).not.toBe(state(live()));
  });

  it('write64 of 2^64-1 as a bigint sets every writable bit', () => {
    const r = live();
    r.emu.write64(0, TABLE + 0x30, 0xffff_ffff_ffff_ffffn);
    expect(r.emu.read64(0, TABLE + 0x30)).toBe(0xffff_ffff_ffff_fffcn);
    expect(r.errors).toEqual([]);
  });
});

describe('user callbacks that throw reach onError as a VirtError', () => {
  /** An emulator of `vectors` vectors whose requestMsi throws `thrown`, vector 0 programmed and MSI-X enabled; every onError call in `seen`. */
  function throwingRequestMsi(thrown: unknown, vectors: number) {
    const seen: { error: Error; vector: number; operation: string }[] = [];
    const emu = new MsixEmulator({
      vectors,
      table: { bir: 0, offset: TABLE },
      pba: { bir: 0, offset: PBA },
      requestMsi: () => {
        throw thrown;
      },
      onError: (error, vector, operation) => seen.push({ error, vector, operation }),
    });
    const m = msg(0, 0x30);
    emu.write64Halves(0, TABLE, m.lo, m.hi);
    emu.write64Halves(0, TABLE + 8, m.data, 0);
    emu.configWrite(3, 1, 0x80);
    return { emu, seen };
  }

  it.each([
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'x')")],
    ['a string', 'broken'],
  ])('requestMsi throwing %s: INTERNAL with the original as cause', (_name, thrown) => {
    const { emu, seen } = throwingRequestMsi(thrown, 4);
    expect(emu.signal(0)).toBe(false);
    expect(seen).toHaveLength(1);
    const { error, vector, operation } = seen[0]!;
    expect(isVirtError(error, 'INTERNAL')).toBe(true);
    expect(error.cause).toBe(thrown);
    expect((error as VirtError).operation).toBe('requestMsi');
    expect([vector, operation]).toEqual([0, 'requestMsi']);
    expect(emu.isPendingHeld(0)).toBe(true);
  });

  it('a VirtError from requestMsi passes through as it is', () => {
    const thrown = new VirtError('DISPOSED', { operation: 'Partition.requestMsi', detail: 'gone' });
    const { emu, seen } = throwingRequestMsi(thrown, 1);
    emu.signal(0);
    expect(seen.map((e) => e.error)).toEqual([thrown]);
    expect(seen[0]!.error).toBe(thrown);
  });
});

describe('new IrqFdMsixRoute', () => {
  const methods = { setMsi() {}, clearMsi() {}, mask() {}, unmask() {}, consumePending: () => false, event: { signal() {} } };
  const without = (key: string) => Object.fromEntries(Object.entries(methods).filter(([k]) => k !== key));
  it.each([
    ['null', null],
    ['undefined', undefined],
    ['a number', 5],
    ['an empty object', {}],
    ['no setMsi', without('setMsi')],
    ['no consumePending', without('consumePending')],
    ['no event', without('event')],
    ['setMsi not a function', { ...methods, setMsi: 1 }],
    ['a proxy whose lookups throw', new Proxy({}, { get: trap, has: trap })],
  ])('throws INVALID_ARGUMENT for %s', (_name, route) => {
    const thrown = thrownBy(() => new IrqFdMsixRoute(route as unknown as IrqFdRoute));
    expect(isVirtError(thrown, 'INVALID_ARGUMENT')).toBe(true);
    expect((thrown as VirtError).operation).toBe('new IrqFdMsixRoute');
  });

  it('takes an object with the route methods and an event', () => {
    const route = methods as unknown as IrqFdRoute;
    expect(new IrqFdMsixRoute(route).route).toBe(route);
  });
});
