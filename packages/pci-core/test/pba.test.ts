import { MsixEmulator } from '../src';
import { PBA, TABLE, rig } from './support/setup';

describe('pending-bit array', () => {
  it('shows a bit per vector (QWORD v/64, bit v%64), bits beyond the last vector reading 0', () => {
    const { emu, control } = rig({ vectors: 70 });
    control(true, false);
    for (const v of [0, 5, 31, 32, 63, 64, 69]) emu.signal(v);
    expect(emu.read64(PBA.bir, PBA.offset)).toBe((1n << 0n) | (1n << 5n) | (1n << 31n) | (1n << 32n) | (1n << 63n));
    expect(emu.read64(PBA.bir, PBA.offset + 8)).toBe((1n << 0n) | (1n << 5n));
    expect(emu.read32(PBA.bir, PBA.offset + 4)).toBe(0x80000001);
    const out = new Uint8Array(3);
    emu.read(PBA.bir, PBA.offset + 7, out);
    expect([...out]).toEqual([0x80, 0x21, 0]);
    expect(emu.read32(PBA.bir, PBA.offset + 16)).toBe(0);
  });

  it('is read-only: writes of any size are dropped', () => {
    const { emu } = rig({ vectors: 8 });
    emu.signal(3);
    emu.write32(PBA.bir, PBA.offset, 0);
    emu.write64(PBA.bir, PBA.offset, 0xffn);
    emu.write(PBA.bir, PBA.offset, new Uint8Array(8).fill(0xff));
    expect(emu.read64(PBA.bir, PBA.offset)).toBe(8n);
  });

  it('works in its own BAR and right after the table in the same BAR', () => {
    for (const pba of [{ bir: 2, offset: 0x18 }, { bir: TABLE.bir, offset: 0x2000 + 16 * 3 + 8 }]) {
      const e = new MsixEmulator({ vectors: 3, table: { bir: TABLE.bir, offset: 0x2000 }, pba });
      e.signal(2);
      expect(e.read32(pba.bir, pba.offset)).toBe(4);
      expect(e.region(pba.bir, pba.offset)).toBe('pba');
    }
  });

  it('a read that spans table and PBA in one BAR gets both', () => {
    const e = new MsixEmulator({ vectors: 1, table: { bir: 0, offset: 0 }, pba: { bir: 0, offset: 16 } });
    e.signal(0);
    expect(e.read64(0, 12)).toBe(0x1_00000001n);
  });
});
