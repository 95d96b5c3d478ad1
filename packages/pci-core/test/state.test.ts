import { isVirtError } from '@tsvmm/virt';
import { thrownBy } from '@tsvmm/virt/testing';
import { type MsixState } from '../src';
import { PBA, TABLE, msg, rig } from './support/setup';

describe('save and restore', () => {
  function programmed() {
    const r = rig({ vectors: 4 });
    r.program(0, 0, 0x40);
    r.program(1, 1, 0x41);
    r.program(2, 0, 0x42);
    r.unmask(0);
    r.unmask(2);
    r.control(true, false);
    r.fake.routes[1]!.deviceSignal(); // latched in the route (masked)
    r.emu.signal(3); // held by the emulator (masked)
    return r;
  }

  it('snapshots table, control and every pending interrupt (route-latched ones folded in)', () => {
    const r = programmed();
    const s = r.emu.save();
    expect(s.version).toBe(1);
    expect(s.enable).toBe(true);
    expect(s.functionMask).toBe(false);
    expect(s.pending).toEqual([1, 3]);
    expect(s.table.slice(4, 8)).toEqual([msg(1, 0).lo, 0, 0x41, 1]);
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });

  it('restores into a fresh emulator with one batch, delivering nothing that was not pending', () => {
    const a = programmed();
    const s = a.emu.save();
    const b = rig({ vectors: 4 });
    b.fake.routes[0]!.deviceSignal(); // a stale latch in the new route is dropped by restore
    const batches = b.fake.batches;
    b.emu.restore(s);
    expect(b.fake.batches - batches).toBe(1);
    expect(b.fake.take()).toEqual([]);
    expect(b.emu.read64(PBA.bir, PBA.offset)).toBe(0b1010n);
    expect(b.fake.routes.map((x) => x.armed)).toEqual([true, false, true, false]);
    for (let v = 0; v < 4; v++) expect(b.emu.entry(v)).toEqual(a.emu.entry(v));
    b.unmask(1);
    expect(b.fake.take()).toEqual([{ via: 'route', vector: 1, ...msg(1, 0x41) }]);
    expect(b.emu.save()).toEqual({ ...s, pending: [3], table: s.table.map((x, i) => (i === 7 ? 0 : x)) });
  });

  it('restores Function Mask and disabled states faithfully', () => {
    const r = programmed();
    r.control(true, true);
    const s = r.emu.save();
    const b = rig({ vectors: 4 });
    b.emu.restore(s);
    expect(b.emu.functionMasked).toBe(true);
    expect(b.fake.routes.every((x) => !x.armed)).toBe(true);
    b.emu.restore({ ...s, enable: false });
    expect(b.fake.routes.every((x) => x.masked && x.msi === undefined)).toBe(true);
  });

  it('rejects a snapshot that does not fit before changing anything', () => {
    const r = programmed();
    const good = r.emu.save();
    const before = r.emu.save();
    const bad: unknown[] = [
      null,
      { ...good, version: 2 },
      { ...good, vectors: 8 },
      { ...good, table: good.table.slice(1) },
      { ...good, table: good.table.map(() => -1) },
      { ...good, pending: [4] },
      { ...good, enable: 'yes' },
    ];
    for (const s of bad) {
      expect(isVirtError(thrownBy(() => r.emu.restore(s as MsixState)), 'INVALID_ARGUMENT')).toBe(true);
    }
    expect(r.emu.save()).toEqual(before);
    expect(r.emu.read32(TABLE.bir, r.at(0, 12))).toBe(0);
  });
  it('restore names the field and shows the bad value; pending must be ascending and distinct, as save writes it', () => {
    const r = programmed();
    const s = r.emu.save();
    const before = r.emu.save();
    const cases: [unknown, string][] = [
      [{ ...s, version: 3 }, 'state.version is 3 (0x3)'],
      [{ ...s, pending: [3, 1] }, 'state.pending[1] is 1 after 3'],
      [{ ...s, pending: [1, 1] }, 'state.pending[1] is 1 after 1'],
      [{ ...s, pending: [0, 1, 2, 7] }, 'state.pending[3] is 7 (0x7), not one of the 4 vectors'],
      [{ ...s, table: s.table.slice(1) }, 'state.table must be an array of 16 numbers (4 per vector), got ['],
      [{ ...s, table: [...s.table.slice(0, 5), -1, ...s.table.slice(6)] }, 'state.table[5] is -1'],
      [{ ...s, enable: 'true' }, 'state.enable must be a boolean, got "true"'],
      [{ ...s, pba: [0] }, "state has unknown key 'pba'; a version-1 snapshot has version, vectors, enable, functionMask, table, pending"],
    ];
    for (const [bad, words] of cases) {
      const thrown = thrownBy(() => r.emu.restore(bad as MsixState));
      expect(isVirtError(thrown, 'INVALID_ARGUMENT')).toBe(true);
      expect((thrown as Error).message).toContain(words);
      expect((thrown as { operation: string }).operation).toBe('MsixEmulator.restore');
    }
    expect(r.emu.save()).toEqual(before);
  });
});
