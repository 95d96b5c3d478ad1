import { MsixEmulator } from '../src';
import { TABLE, msg, rig } from './support/setup';

function bytes(...b: number[]): Uint8Array {
  return Uint8Array.from(b);
}

describe('MSI-X table', () => {
  it('resets to every vector masked, address and data 0', () => {
    const { emu, at } = rig({ vectors: 4 });
    for (let v = 0; v < 4; v++) {
      expect(emu.read32(TABLE.bir, at(v, 0))).toBe(0);
      expect(emu.read32(TABLE.bir, at(v, 4))).toBe(0);
      expect(emu.read32(TABLE.bir, at(v, 8))).toBe(0);
      expect(emu.read32(TABLE.bir, at(v, 12))).toBe(1);
    }
  });

  it('stores each DWORD field; address bits 1:0 and control bits 31:1 read 0', () => {
    const { emu, at } = rig({ vectors: 4 });
    emu.write32(TABLE.bir, at(2, 0), 0xfee01007);
    emu.write32(TABLE.bir, at(2, 4), 0xdeadbeef);
    emu.write32(TABLE.bir, at(2, 8), 0xcafef00d);
    emu.write32(TABLE.bir, at(2, 12), 0xfffffffe);
    expect(emu.read32(TABLE.bir, at(2, 0))).toBe(0xfee01004);
    expect(emu.read32(TABLE.bir, at(2, 4))).toBe(0xdeadbeef);
    expect(emu.read32(TABLE.bir, at(2, 8))).toBe(0xcafef00d);
    expect(emu.read32(TABLE.bir, at(2, 12))).toBe(0);
    emu.write32(TABLE.bir, at(2, 12), 0xffffffff);
    expect(emu.read32(TABLE.bir, at(2, 12))).toBe(1);
    expect(emu.entry(2)).toEqual({ addressLo: 0xfee01004, addressHi: 0xdeadbeef, data: 0xcafef00d, masked: true });
    // Neighbours untouched.
    expect(emu.read32(TABLE.bir, at(1, 8))).toBe(0);
    expect(emu.read32(TABLE.bir, at(3, 0))).toBe(0);
  });

  it('aligned QWORD reads and writes cover address low+high and data+control', () => {
    const { emu, at } = rig({ vectors: 2 });
    emu.write64(TABLE.bir, at(1, 0), 0x1234_5678_fee0_2000n);
    emu.write64(TABLE.bir, at(1, 8), 0x0000_0000_0000_4041n);
    expect(emu.read64(TABLE.bir, at(1, 0))).toBe(0x1234_5678_fee0_2000n);
    expect(emu.read64(TABLE.bir, at(1, 8))).toBe(0x4041n);
    emu.write64Halves(TABLE.bir, at(0, 8), 0x31, 1);
    expect(emu.read64(TABLE.bir, at(0, 8))).toBe(0x1_0000_0031n);
    emu.write64(TABLE.bir, at(0, 0), 0xffff_ffff_ffff_ffffn);
    expect(emu.read64(TABLE.bir, at(0, 0))).toBe(0xffff_ffff_ffff_fffcn);
  });

  it('merges sub-DWORD writes byte by byte into the field', () => {
    const { emu, at } = rig({ vectors: 2 });
    emu.write32(TABLE.bir, at(0, 8), 0x11223344);
    emu.write(TABLE.bir, at(0, 9), bytes(0xaa));
    expect(emu.read32(TABLE.bir, at(0, 8))).toBe(0x1122aa44);
    emu.write(TABLE.bir, at(0, 10), bytes(0xbb, 0xcc));
    expect(emu.read32(TABLE.bir, at(0, 8))).toBe(0xccbbaa44);
    emu.write(TABLE.bir, at(0, 12), bytes(0x00));
    expect(emu.entry(0).masked).toBe(false);
    emu.write(TABLE.bir, at(0, 13), bytes(0xff, 0xff, 0xff));
    expect(emu.read32(TABLE.bir, at(0, 12))).toBe(0);
  });

  it('reads any size and offset as the little-endian bytes of the table', () => {
    const { emu, at } = rig({ vectors: 2 });
    emu.write32(TABLE.bir, at(0, 8), 0x44332211);
    emu.write32(TABLE.bir, at(1, 0), 0xfee00000);
    const out = new Uint8Array(6);
    expect(emu.read(TABLE.bir, at(0, 10), out)).toBe(true);
    expect([...out]).toEqual([0x33, 0x44, 0x01, 0x00, 0x00, 0x00]);
    expect(emu.read32(TABLE.bir, at(0, 9))).toBe(0x01443322);
    expect(emu.read64(TABLE.bir, at(0, 12))).toBe(0xfee00000_00000001n);
  });

  it('an unaligned QWORD write spanning two entries updates both, each at once', () => {
    const { emu, at } = rig({ vectors: 2 });
    emu.write64Halves(TABLE.bir, at(0, 12), 0, 0xfee00000);
    expect(emu.entry(0).masked).toBe(false);
    expect(emu.entry(1).addressLo).toBe(0xfee00000);
  });

  it('ignores the bytes beyond the table and leaves them untouched in the read buffer', () => {
    const { emu, at } = rig({ vectors: 2 });
    const end = at(2, 0);
    const out = new Uint8Array(8).fill(0xee);
    emu.write32(TABLE.bir, at(1, 12), 0);
    expect(emu.read(TABLE.bir, end - 2, out)).toBe(true);
    expect([...out]).toEqual([0, 0, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee]);
    expect(emu.read(TABLE.bir, end, out)).toBe(false);
    expect(emu.write(TABLE.bir, end, bytes(0, 0, 0, 0))).toBe(false);
    expect(emu.read32(TABLE.bir, end)).toBe(0);
    expect(emu.read32(TABLE.bir, TABLE.offset - 4)).toBe(0);
    // Straddling the start: only the table byte is taken.
    emu.write(TABLE.bir, TABLE.offset - 3, bytes(1, 2, 3, 0x04));
    expect(emu.read32(TABLE.bir, TABLE.offset)).toBe(0x04);
  });

  it('never throws and touches nothing for absurd accesses', () => {
    const { emu, at } = rig({ vectors: 2 });
    const before = [0, 1].map((v) => emu.entry(v));
    for (const off of [NaN, Infinity, -Infinity, -1, 1.5, at(0, 0) + 0.5, 2 ** 60, Number.MAX_SAFE_INTEGER]) {
      expect(() => emu.write32(TABLE.bir, off, 0)).not.toThrow();
      expect(() => emu.write64Halves(TABLE.bir, off, 0, 0)).not.toThrow();
      expect(() => emu.write(TABLE.bir, off, new Uint8Array(40))).not.toThrow();
      expect(() => emu.read32(TABLE.bir, off)).not.toThrow();
      expect(() => emu.read(TABLE.bir, off, new Uint8Array(3))).not.toThrow();
    }
    for (const bar of [-1, 6, 7, NaN, 1.5]) expect(emu.write(bar, at(0, 12), bytes(0))).toBe(false);
    expect(emu.write(TABLE.bir, at(0, 12), new Uint8Array(0))).toBe(false);
    expect([0, 1].map((v) => emu.entry(v))).toEqual(before);
    // A huge write over everything is still confined to the table.
    emu.write(TABLE.bir, at(0, 0) - 64, new Uint8Array(4096).fill(0xff));
    expect(emu.entry(1)).toEqual({ addressLo: 0xfffffffc, addressHi: 0xffffffff, data: 0xffffffff, masked: true });
  });

  it('places the table at any BIR and offset, sharing a BAR with the PBA or not', () => {
    for (const [table, pba] of [
      [{ bir: 0, offset: 0 }, { bir: 0, offset: 0x80 }],
      [{ bir: 3, offset: 0x1000 }, { bir: 3, offset: 0x8 }],
      [{ bir: 1, offset: 0xfff0_0000 }, { bir: 5, offset: 0 }],
    ] as const) {
      const e = new MsixEmulator({ vectors: 8, table, pba });
      e.write32(table.bir, table.offset + 7 * 16 + 8, 0x99);
      expect(e.read32(table.bir, table.offset + 7 * 16 + 8)).toBe(0x99);
      expect(e.entry(7).data).toBe(0x99);
      expect(e.configRead(4, 4)).toBe((table.offset | table.bir) >>> 0);
      expect(e.configRead(8, 4)).toBe((pba.offset | pba.bir) >>> 0);
    }
  });

  it('writes to a masked vector never touch its route', () => {
    const { emu, fake, at } = rig({ vectors: 2 });
    fake.calls.length = 0;
    const m = msg(0, 0x40);
    emu.write32(TABLE.bir, at(1, 0), m.lo);
    emu.write32(TABLE.bir, at(1, 8), m.data);
    emu.write64Halves(TABLE.bir, at(1, 0), m.lo, 0);
    emu.write32(TABLE.bir, at(1, 12), 1);
    expect(fake.calls).toEqual([]);
  });
});
