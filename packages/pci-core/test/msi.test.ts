/**
 * MsiEmulator's registers, layouts and setup checks, one behaviour per test, with in-memory
 * routes that follow the irqfd contract. Offsets and bits are those of Linux
 * include/uapi/linux/pci_regs.h (PCI_MSI_*), written out here as numbers on purpose.
 */
import { VirtError } from '@tsvmm/virt';
import { thrownBy } from '@tsvmm/virt/testing';
import { SoftwarePartition } from '@tsvmm/virt-software';
import { MsiEmulator, type MsiEmulatorOptions, checkMsiLayout, createIrqFdMsiRoutes, msiCapabilitySize } from '../src';
import { FakeRouteSet } from './support/fake-routes';

function make(o: Partial<MsiEmulatorOptions> = {}) {
  const vectors = o.vectors ?? 4;
  const fake = new FakeRouteSet(vectors);
  const errors: { error: VirtError; vector: number; operation: string }[] = [];
  const emu = new MsiEmulator({ vectors, address64: true, perVectorMasking: true, onError: (error, vector, operation) => errors.push({ error: error as VirtError, vector, operation }), ...o });
  emu.setRoutes(fake.routes, { batch: fake.batch });
  return { emu, fake, errors };
}

const image = (emu: MsiEmulator) => Array.from({ length: emu.size }, (_, i) => emu.configRead(i, 1));

describe('layouts (PCI 3.0 section 6.8.1; pci_regs.h PCI_MSI_*)', () => {
  it.each([
    [false, false, 0x0a, 0x08, -1],
    [true, false, 0x0e, 0x0c, -1],
    [false, true, 0x14, 0x08, 0x0c],
    [true, true, 0x18, 0x0c, 0x10],
  ])('64-bit %s, masking %s: %i bytes, Data at %i, Mask Bits at %i', (address64, masking, size, data, mask) => {
    const l = checkMsiLayout('test', { vectors: 8, address64, perVectorMasking: masking });
    expect([l.size, l.dataOffset, l.maskOffset, l.pendingOffset]).toEqual([size, data, mask, mask < 0 ? -1 : mask + 4]);
    expect(msiCapabilitySize(address64, masking)).toBe(size);
    const emu = new MsiEmulator({ vectors: 8, address64, perVectorMasking: masking, nextPointer: 0x70 });
    expect(emu.size).toBe(size);
    // ID 05h, next pointer, Control: MMC = 3 (8 vectors) in bits 3:1, bit 7 64-bit, bit 8 masking.
    expect(emu.configRead(0, 4)).toBe((0x05 | (0x70 << 8) | (((3 << 1) | (address64 ? 0x80 : 0) | (masking ? 0x100 : 0)) << 16)) >>> 0);
    expect(emu.configRead(size, 4)).toBe(0);
  });

  it('every register in the 64-bit masking layout: Address bits 1:0 read 0, Data is 16 bits, Mask Bits of requested vectors only, Pending read-only', () => {
    const { emu } = make({ vectors: 4 });
    emu.configWrite(4, 4, 0xfee0_1003);
    emu.configWrite(8, 4, 0x1234_5678);
    emu.configWrite(12, 4, 0xabcd_4041); // Data is the low 16 bits; the upper half is reserved
    emu.configWrite(16, 4, 0xffff_ffff);
    emu.configWrite(20, 4, 0xffff_ffff);
    expect([emu.configRead(4, 4), emu.configRead(8, 4), emu.configRead(12, 4), emu.configRead(16, 4), emu.configRead(20, 4)]).toEqual([0xfee0_1000, 0x1234_5678, 0x4041, 0xf, 0]);
  });

  it('Control: only Enable and MME are writable; MME is clamped to MMC; reserved bits 15:9 read 0', () => {
    const { emu } = make({ vectors: 4 });
    emu.configWrite(2, 2, 0xffff);
    expect(emu.configRead(2, 2)).toBe(1 | (2 << 1) | (2 << 4) | 0x80 | 0x100);
    expect([emu.enabled, emu.multipleMessageEnable, emu.liveVectors]).toEqual([true, 2, 4]);
    emu.configWrite(2, 1, 0x10);
    expect([emu.enabled, emu.liveVectors]).toEqual([false, 2]);
  });

  it('a 32-bit layout has no Upper Address: the DWORD at +08 is Data and 2 reserved bytes', () => {
    const { emu } = make({ address64: false, perVectorMasking: false });
    emu.configWrite(8, 4, 0xffff_4041);
    expect(emu.configRead(8, 4)).toBe(0x4041);
    expect(emu.configRead(12, 4)).toBe(0);
  });

  it('vector k of a block sends Data with its low log2(N) bits replaced by k, whatever software wrote there', () => {
    const { emu } = make({ vectors: 8 });
    emu.configWrite(12, 2, 0x4047);
    emu.configWrite(2, 2, 3 << 4);
    expect([0, 1, 5, 7].map((v) => emu.message(v).data)).toEqual([0x4040, 0x4041, 0x4045, 0x4047]);
    emu.configWrite(2, 2, 1 << 4);
    expect([0, 1].map((v) => emu.message(v).data)).toEqual([0x4046, 0x4047]);
  });
});

describe('routes', () => {
  it('Enable arms the granted unmasked vectors in one batch; vectors beyond MME stay masked without a message', () => {
    const { emu, fake } = make({ vectors: 8 });
    emu.configWrite(4, 4, 0xfee0_0000);
    emu.configWrite(12, 2, 0x40);
    emu.configWrite(16, 4, 0b10);
    const batches = fake.batches;
    emu.configWrite(2, 2, 1 | (2 << 4));
    expect(fake.batches - batches).toBe(1);
    expect(fake.routes.map((r) => r.armed)).toEqual([true, false, true, true, false, false, false, false]);
    expect(fake.routes[1]!.msi).toEqual({ lo: 0xfee0_0000, hi: 0, data: 0x41 }); // preloaded while masked
    expect(fake.routes.slice(4).every((r) => r.masked && r.msi === undefined)).toBe(true);
  });

  it('reset: power-on registers, every route masked without a message, pending dropped', () => {
    const { emu, fake } = make();
    emu.configWrite(4, 4, 0xfee0_0000);
    emu.configWrite(12, 2, 0x40);
    emu.configWrite(16, 4, 1);
    emu.configWrite(2, 2, 1 | (2 << 4));
    emu.signal(0);
    expect(emu.isPendingHeld(0)).toBe(true);
    emu.reset();
    expect(image(emu)).toEqual(image(new MsiEmulator({ vectors: 4, address64: true, perVectorMasking: true })));
    expect(fake.routes.every((r) => r.masked && r.msi === undefined && !r.latched)).toBe(true);
    expect(emu.isPendingHeld(0)).toBe(false);
  });

  it('onControl hears each Enable and MME change after it took effect; what it throws goes to onError', () => {
    const seen: string[] = [];
    const { emu, errors } = make({
      onControl: (enabled, n) => {
        seen.push(`${enabled}/${n}/${emu.enabled}`);
        throw new Error('device refused');
      },
    });
    emu.configWrite(2, 2, 1);
    emu.configWrite(2, 2, 1); // no change
    emu.configWrite(2, 2, 1 | (2 << 4));
    emu.reset();
    expect(seen).toEqual(['true/1/true', 'true/4/true', 'false/1/false']);
    expect(errors.filter((e) => e.operation === 'onControl').map((e) => [e.error.code, e.vector])).toEqual([
      ['INTERNAL', -1],
      ['INTERNAL', -1],
      ['INTERNAL', -1],
    ]);
    expect(errors.filter((e) => e.operation !== 'onControl').every((e) => e.error.code === 'INVALID_MSI')).toBe(true); // data 0: vector 0 is not deliverable
  });

  it('restore tells onControl when the restored Enable or vectors granted differ from the emulator\'s, with the restored values, and stays silent when they match', () => {
    const seen: string[] = [];
    const { emu, errors } = make({ onControl: (enabled, n) => void seen.push(`${enabled}/${n}/${emu.enabled}/${emu.liveVectors}`) });
    const donor = new MsiEmulator({ vectors: 4, address64: true, perVectorMasking: true });
    const off = donor.save();
    donor.configWrite(2, 2, 1 | (2 << 4));
    const on4 = donor.save();
    donor.configWrite(2, 2, 1 | (1 << 4));
    const on2 = donor.save();
    donor.configWrite(2, 2, 1 << 4);
    const off2 = donor.save();
    emu.restore(off); // power-on to disabled/1: no change
    emu.restore(on4); // disabled/1 -> enabled/4
    emu.restore(on4); // same
    emu.restore(on2); // enabled/4 -> enabled/2
    emu.restore(off2); // enabled/2 -> disabled/2
    emu.restore(off); // disabled/2 -> disabled/1
    expect(seen).toEqual(['true/4/true/4', 'true/2/true/2', 'false/2/false/2', 'false/1/false/1']);
    expect(errors.filter((e) => e.operation === 'onControl')).toEqual([]);
  });

  it('what onControl throws during restore goes to onError; the restore itself completes', () => {
    const { emu, errors } = make({
      onControl: () => {
        throw new Error('device refused');
      },
    });
    const donor = new MsiEmulator({ vectors: 4, address64: true, perVectorMasking: true });
    donor.configWrite(2, 2, 1 | (2 << 4));
    expect(() => emu.restore(donor.save())).not.toThrow();
    expect(emu.enabled).toBe(true);
    expect(emu.liveVectors).toBe(4);
    expect(errors.filter((e) => e.operation === 'onControl').map((e) => [e.error.code, e.vector])).toEqual([['INTERNAL', -1]]);
  });

  it('rewriting a register with its own value changes nothing and reports nothing again', () => {
    const { emu, fake, errors } = make();
    emu.configWrite(2, 2, 1); // Enable with an all-zero message: vector 0 cannot deliver (reported)
    const reports = errors.length;
    const calls = fake.calls.length;
    emu.configWrite(2, 2, 1);
    emu.configWrite(16, 4, 0);
    emu.configWrite(12, 2, 0);
    expect([errors.length, fake.calls.length]).toEqual([reports, calls]);
    expect(reports).toBe(1);
  });

  it('createIrqFdMsiRoutes makes one irqfd route per vector; other counts are refused before any route is made', () => {
    using vm = SoftwarePartition.create({ vcpus: 1 });
    const irqfd = vm.irqfd()!;
    for (const bad of [0, 3, 64, 1.5, NaN, '4']) {
      expect(() => createIrqFdMsiRoutes(irqfd, bad as number)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    expect(irqfd.routeCount).toBe(0);
    using routes = createIrqFdMsiRoutes(irqfd, 8);
    expect([routes.routes.length, irqfd.routeCount]).toEqual([8, 8]);
    routes.dispose();
    routes.dispose();
    expect(irqfd.routeCount).toBe(0);
  });
});

describe('typed errors, before any change', () => {
  it.each([
    [{ vectors: 3, address64: true, perVectorMasking: true }, 'vectors must be 1, 2, 4, 8, 16 or 32'],
    [{ vectors: 64, address64: true, perVectorMasking: true }, 'vectors must be'],
    [{ vectors: 4, perVectorMasking: true }, 'address64'],
    [{ vectors: 4, address64: true, perVectorMasking: 1 }, 'perVectorMasking'],
    [{ vectors: 4, address64: true, perVectorMasking: true, nextPointer: 256 }, 'nextPointer'],
    [{ vectors: 4, address64: true, perVectorMasking: true, requestMsi: 1 }, 'requestMsi'],
    [{ vectors: 4, address64: true, perVectorMasking: true, onControl: 'x' }, 'onControl'],
    [{ vectors: 4, address64: true, perVectorMasking: true, policy: {} }, 'policy'],
    [{ vectors: 4, address64: true, perVectorMasking: true, tableSize: 4 }, 'tableSize'],
  ])('new MsiEmulator(%j) is INVALID_ARGUMENT naming the field', (options, words) => {
    const thrown = thrownBy(() => new MsiEmulator(options as unknown as MsiEmulatorOptions));
    expect(thrown).toBeInstanceOf(VirtError);
    expect((thrown as VirtError).code).toBe('INVALID_ARGUMENT');
    expect((thrown as VirtError).message).toContain(words);
  });

  it('restore refuses a snapshot of another layout, or with bad fields, and changes nothing', () => {
    const { emu, fake } = make();
    emu.configWrite(4, 4, 0xfee0_0000);
    emu.configWrite(2, 2, 1);
    const good = emu.save();
    const img = image(emu);
    const calls = fake.calls.length;
    for (const bad of [
      null,
      { ...good, version: 2 },
      { ...good, vectors: 8 },
      { ...good, address64: false },
      { ...good, multipleMessageEnable: 3 },
      { ...good, addressLo: 0xfee0_0001 },
      { ...good, data: 0x10000 },
      { ...good, mask: 0x10 },
      { ...good, pending: [1] }, // MME 0: only vector 0 is granted
    ]) {
      expect(() => emu.restore(bad as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    expect(fake.calls.length).toBe(calls);
    expect(image(emu)).toEqual(img);
  });

  it('restore names the field and shows the bad value; pending must be ascending and distinct', () => {
    const { emu, fake } = make({ vectors: 4 });
    emu.configWrite(4, 4, 0xfee0_0000);
    emu.configWrite(2, 2, 0x21); // MME 2: four vectors granted, enabled
    const good = emu.save();
    const img = image(emu);
    const calls = fake.calls.length;
    const cases: [unknown, string][] = [
      [{ ...good, version: 2 }, 'state.version is 2 (0x2)'],
      [{ ...good, pending: [0, 0] }, 'state.pending[1] is 0 after 0'],
      [{ ...good, pending: [1, 0] }, 'state.pending[1] is 0 after 1'],
      [{ ...good, pending: [0, 1, 2, 9] }, 'state.pending[3] is 9 (0x9)'],
      [{ ...good, pending: '0' }, 'state.pending must be an array of vector numbers, got "0"'],
      [{ ...good, multipleMessageEnable: 5 }, 'state.multipleMessageEnable must be an integer from 0 to 2, got 5 (0x5)'],
      [[], 'state must be a save() snapshot (an object), got []'],
      [{ ...good, address64: false }, 'state.address64 false'],
      [{ ...good, maskBits: 0, extra: 1 }, "state has unknown keys 'maskBits', 'extra'"],
    ];
    for (const [bad, words] of cases) {
      const thrown = thrownBy(() => emu.restore(bad as never));
      expect(thrown).toBeInstanceOf(VirtError);
      expect((thrown as VirtError).operation).toBe('MsiEmulator.restore');
      expect((thrown as VirtError).message).toContain(words);
    }
    expect(fake.calls.length).toBe(calls);
    expect(image(emu)).toEqual(img);
  });

  it('setRoutes refuses a wrong length or a route given twice before detaching anything', () => {
    const { emu, fake } = make();
    const calls = fake.calls.length;
    expect(() => emu.setRoutes(fake.routes.slice(1))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => emu.setRoutes([fake.routes[0]!, fake.routes[0]!, undefined, undefined])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(fake.calls.length).toBe(calls);
  });

  it('diagnostics refuse vectors that do not exist; guest-facing methods report refused arguments instead of throwing', () => {
    const { emu, errors } = make();
    expect(() => emu.message(4)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => emu.isMasked(-1)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => (emu.nextPointer = 0x100)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    emu.configWrite(2, 2, 'x' as never);
    expect(emu.configRead('0' as never, 4)).toBe(0);
    expect(errors.map((e) => [e.error.code, e.vector, e.operation])).toEqual([
      ['INVALID_ARGUMENT', -1, 'MsiEmulator.configWrite'],
      ['INVALID_ARGUMENT', -1, 'MsiEmulator.configRead'],
    ]);
  });
});
