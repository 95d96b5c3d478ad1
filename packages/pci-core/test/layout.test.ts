import { isVirtError } from '@tsvmm/virt';
import { thrownBy } from '@tsvmm/virt/testing';
import { MsixEmulator, checkLayout, pbaSizeFor, tableSizeFor } from '../src';

const ok = { vectors: 8, table: { bir: 0, offset: 0 }, pba: { bir: 0, offset: 0x800 } };

function invalid(fn: () => unknown): void {
  expect(isVirtError(thrownBy(fn), 'INVALID_ARGUMENT')).toBe(true);
}

describe('layout', () => {
  it('sizes the table at 16 bytes per vector and the PBA in whole QWORDs', () => {
    expect(tableSizeFor(1)).toBe(16);
    expect(tableSizeFor(2048)).toBe(32768);
    expect(pbaSizeFor(1)).toBe(8);
    expect(pbaSizeFor(64)).toBe(8);
    expect(pbaSizeFor(65)).toBe(16);
    expect(pbaSizeFor(2048)).toBe(256);
  });

  it('accepts every vector count from 1 to 2048 and rejects the rest', () => {
    for (const n of [1, 2, 63, 64, 65, 1000, 2047, 2048]) expect(checkLayout('t', { ...ok, vectors: n, pba: { bir: 1, offset: 0 } }).vectors).toBe(n);
    for (const n of [0, -1, 2049, 1.5, NaN, '8'] as unknown[]) invalid(() => checkLayout('t', { ...ok, vectors: n as number }));
  });

  it('rejects reserved BIRs 6 and 7, unaligned and out-of-range offsets', () => {
    invalid(() => checkLayout('t', { ...ok, table: { bir: 6, offset: 0 } }));
    invalid(() => checkLayout('t', { ...ok, pba: { bir: 7, offset: 0x800 } }));
    invalid(() => checkLayout('t', { ...ok, table: { bir: 0, offset: 4 } }));
    invalid(() => checkLayout('t', { ...ok, pba: { bir: 0, offset: 0x804 } }));
    invalid(() => checkLayout('t', { ...ok, pba: { bir: 1, offset: 0x1_0000_0000 } }));
    invalid(() => checkLayout('t', { ...ok, pba: undefined as never }));
  });

  it('rejects a table and PBA that overlap in one BAR, and accepts them adjacent, apart, or in different BARs', () => {
    invalid(() => checkLayout('t', { ...ok, pba: { bir: 0, offset: 0x78 } }));
    invalid(() => checkLayout('t', { ...ok, table: { bir: 2, offset: 0x100 }, pba: { bir: 2, offset: 0x178 } }));
    expect(checkLayout('t', { ...ok, pba: { bir: 0, offset: 0x80 } }).pbaOffset).toBe(0x80);
    expect(checkLayout('t', { ...ok, table: { bir: 0, offset: 0x1000 }, pba: { bir: 0, offset: 0 } }).tableOffset).toBe(0x1000);
    expect(checkLayout('t', { ...ok, table: { bir: 4, offset: 0 }, pba: { bir: 2, offset: 0 } }).pbaBir).toBe(2);
  });

  it('answers which structure owns a BAR offset, for a device sharing the BAR with other registers', () => {
    const emu = new MsixEmulator({ vectors: 3, table: { bir: 2, offset: 0x100 }, pba: { bir: 2, offset: 0x40 } });
    expect(emu.region(2, 0x0)).toBeUndefined();
    expect(emu.region(2, 0x3f)).toBeUndefined();
    expect(emu.region(2, 0x40)).toBe('pba');
    expect(emu.region(2, 0x47)).toBe('pba');
    expect(emu.region(2, 0x48)).toBeUndefined();
    expect(emu.region(2, 0xff)).toBeUndefined();
    expect(emu.region(2, 0x100)).toBe('table');
    expect(emu.region(2, 0x12f)).toBe('table');
    expect(emu.region(2, 0x130)).toBeUndefined();
    expect(emu.region(0, 0x100)).toBeUndefined();
    expect(emu.claims(2, 0xfc, 8)).toBe(true);
    expect(emu.claims(2, 0xf0, 16)).toBe(false);
    expect(emu.claims(2, 0x130, 4)).toBe(false);
    expect(emu.claims(2, 0x3c, 4)).toBe(false);
    expect(emu.claims(2, 0x3c, 5)).toBe(true);
    expect(emu.claims(2, 0x100, 0)).toBe(false);
    // Offsets read()/write() ignore are nobody's, so dispatch and access agree.
    expect(emu.region(2, 0x100 + 0.5)).toBeUndefined();
    expect(emu.claims(2, 0x100 + 0.5, 4)).toBe(false);
    expect(emu.claims(2, NaN, 4)).toBe(false);
  });

  it('rejects bad constructor options before creating anything', () => {
    invalid(() => new MsixEmulator({ ...ok, nextPointer: 0x100 }));
    invalid(() => new MsixEmulator({ ...ok, requestMsi: 5 as never }));
    invalid(() => new MsixEmulator({ ...ok, onError: 'x' as never }));
    invalid(() => new MsixEmulator({ ...ok, policy: { addressHi: 'zero' } as never }));
    invalid(() => new MsixEmulator(null as never));
  });
});
