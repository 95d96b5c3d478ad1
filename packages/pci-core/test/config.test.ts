import { MsixEmulator } from '../src';

function emu(vectors = 8): MsixEmulator {
  return new MsixEmulator({ vectors, table: { bir: 4, offset: 0x2000 }, pba: { bir: 5, offset: 0x1008 }, nextPointer: 0x70 });
}

describe('MSI-X capability in config space', () => {
  it('reads ID 0x11, the caller-supplied next pointer, Table Size N-1, BIRs and offsets', () => {
    const e = emu(8);
    expect(e.configRead(0, 4)).toBe(0x0007_7011);
    expect(e.configRead(4, 4)).toBe(0x2000 | 4);
    expect(e.configRead(8, 4)).toBe(0x1008 | 5);
    expect(e.configRead(0, 1)).toBe(0x11);
    expect(e.configRead(1, 1)).toBe(0x70);
    expect(e.configRead(2, 2)).toBe(7);
    e.nextPointer = 0x90;
    expect(e.configRead(1, 1)).toBe(0x90);
    expect(emu(2048).configRead(2, 2)).toBe(2047);
    expect(emu(1).configRead(2, 2)).toBe(0);
  });

  it('reads any 1-4 byte window at any offset, bytes beyond the 12-byte capability reading 0', () => {
    const e = emu(8);
    const image = [0x11, 0x70, 0x07, 0x00, 0x04, 0x20, 0x00, 0x00, 0x0d, 0x10, 0x00, 0x00];
    for (let off = -3; off < 15; off++) {
      for (const size of [1, 2, 3, 4]) {
        let expected = 0;
        for (let i = 0; i < size; i++) expected |= (image[off + i] ?? 0) << (8 * i);
        expect(e.configRead(off, size)).toBe(expected >>> 0);
      }
    }
    expect(e.configRead(0, 8)).toBe(0);
    expect(e.configRead(0, 0)).toBe(0);
    expect(e.configRead(0.5, 1)).toBe(0);
  });

  it('Enable and Function Mask are RW through 1-, 2- and 4-byte writes; nothing else changes', () => {
    const e = emu(8);
    e.configWrite(3, 1, 0x80);
    expect(e.enabled).toBe(true);
    expect(e.functionMasked).toBe(false);
    expect(e.configRead(2, 2)).toBe(0x8007);
    e.configWrite(2, 2, 0x4000 | 0x3ff);
    expect(e.enabled).toBe(false);
    expect(e.functionMasked).toBe(true);
    expect(e.configRead(2, 2)).toBe(0x4007);
    e.configWrite(0, 4, 0xc0ff_ffff);
    expect(e.configRead(0, 4)).toBe(0xc007_7011);
    e.configWrite(0, 4, 0);
    expect(e.configRead(0, 4)).toBe(0x0007_7011);
    // A 2-byte write at +3 reaches byte 3 through its low byte.
    e.configWrite(3, 2, 0xff80);
    expect(e.enabled).toBe(true);
    // A 4-byte write at +1 puts byte 3 in bits 23:16.
    e.configWrite(1, 4, 0x00400000);
    expect(e.enabled).toBe(false);
    expect(e.functionMasked).toBe(true);
  });

  it('drops writes to read-only fields: ID, next pointer, Table Size, reserved bits, BIR/offsets', () => {
    const e = emu(8);
    e.configWrite(0, 1, 0xff);
    e.configWrite(1, 1, 0xff);
    e.configWrite(2, 1, 0xff);
    e.configWrite(3, 1, 0x3f); // reserved bits 13:11 and Table Size bits 10:8
    e.configWrite(4, 4, 0xffffffff);
    e.configWrite(8, 4, 0xffffffff);
    e.configWrite(12, 4, 0xffffffff);
    e.configWrite(-1, 4, 0x3fffffff); // covers -1..+2: never byte 3
    expect(e.configRead(4, 4)).toBe(0x2004);
    expect(e.configRead(8, 4)).toBe(0x100d);
    expect(e.configRead(0, 2)).toBe(0x7011);
    expect(e.configRead(2, 2) & 0x3fff).toBe(7);
  });

  it('ignores writes with sizes other than 1-4 or non-integer offsets', () => {
    const e = emu(8);
    e.configWrite(3, 0, 0x80);
    e.configWrite(3, 5, 0x80);
    e.configWrite(3.5, 1, 0x80);
    e.configWrite(NaN, 1, 0x80);
    expect(e.enabled).toBe(false);
  });
});
