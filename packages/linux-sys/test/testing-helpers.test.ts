// The small helpers of @tsvmm/linux-sys/testing that the backends' tests build on refuse what they
// cannot honour, instead of answering something a test would then trust.
import { isVirtError } from '@tsvmm/virt';
import { thrownBy } from '@tsvmm/virt/testing';
import { EFAULT } from '../src';
import { modelStruct, msiTo } from '../src/testing';

describe('modelStruct refuses a malformed struct when it is defined (RangeError)', () => {
  it.each([
    ['a NaN size', () => modelStruct(NaN, { a: [0, 'u32'] })],
    ['a negative size', () => modelStruct(-4, {})],
    ['an unknown type', () => modelStruct(16, { a: [0, 'u128' as never] })],
    ['a field that is not [offset, type]', () => modelStruct(16, { a: 4 as never })],
    ['a field past the size', () => modelStruct(8, { a: [4, 'u64'] })],
    ['a field named view', () => modelStruct(8, { view: [0, 'u32'] })],
  ])('%s', (_label, define) => {
    expect(define).toThrow(RangeError);
  });

  it('a well-formed struct reads each field at its offset', () => {
    const s = modelStruct(16, { a: [0, 'u32'], b: [4, 'i32'], c: [8, 'u64'] });
    const bytes = new Uint8Array(16);
    const v = new DataView(bytes.buffer);
    v.setUint32(0, 7, true);
    v.setInt32(4, -2, true);
    v.setBigUint64(8, 2n ** 40n, true);
    const r = s.read(bytes);
    expect(typeof r === 'number' ? r : [r.a, r.b, r.c]).toEqual([7, -2, 2n ** 40n]);
  });
});

describe('ModelStruct.entry reads one entry of an array that follows a header', () => {
  const E = modelStruct(8, { gsi: [0, 'u32'], data: [4, 'u32'] });
  const bytes = new Uint8Array(8 + 2 * 8);
  const v = new DataView(bytes.buffer);
  v.setUint32(8 + 8, 5, true);
  v.setUint32(8 + 12, 0x41, true);

  it('entry i at start + i * size, its view over that entry only', () => {
    const e = E.entry(v, 8, 1);
    expect(typeof e === 'number' ? e : [e.gsi, e.data, e.view.byteOffset, e.view.byteLength]).toEqual([5, 0x41, 16, 8]);
  });

  it('an entry past the end, or before the start, is -EFAULT, never a throw', () => {
    expect(E.entry(v, 8, 2)).toBe(-EFAULT);
    expect(E.entry(v, 8, -2)).toBe(-EFAULT);
  });
});

describe('msiTo', () => {
  it('gives the low address and data of an xAPIC message', () => {
    const m = msiTo(3, 0x41);
    expect([m.address, m.data, m.msi.addressHi]).toEqual([0xfee03000, 0x41, 0]);
  });

  it('refuses an APIC ID that needs the upper address, which its address would drop', () => {
    const e = thrownBy(() => msiTo(256, 0x41));
    expect(isVirtError(e) && [e.code, e.operation]).toEqual(['INVALID_ARGUMENT', 'msiTo']);
  });

  it('keeps its own destination and vector whatever extra carries', () => {
    const m = msiTo(2, 0x42, { destinationId: 9, vector: 0x99 } as never);
    expect([m.msi.addressLo, m.data & 0xff]).toEqual([0xfee02000, 0x42]);
  });
});
