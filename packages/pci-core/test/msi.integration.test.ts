/**
 * Plain MSI end to end, one body per behaviour on every target (software backend, KVM model, real
 * /dev/kvm where present): a guest programs a 4-message block the way Linux does, the device
 * raises vectors on their irqfd events (as VFIO would) and through `signal`, and every interrupt
 * must land once in the IRR of the vCPU its message names, at the vector it names. On the models
 * the local APICs also count deliveries, so a second delivery onto a set IRR bit is caught.
 */
import { type LocalApicAccess, type Partition, encodeMsi } from '@tsvmm/virt';
import { MsiEmulator, createIrqFdMsiRoutes, partitionInjector } from '../src';
import { type MsiTarget, describeMsiTargets } from './support/msi-targets';

type Vm = Partition & LocalApicAccess;

/** Capability offsets of the 64-bit layout with per-vector masking (PCI 3.0, section 6.8.1). */
const CONTROL = 2;
const ADDRESS = 4;
const UPPER = 8;
const DATA = 12;
const MASK = 16;
const PENDING = 20;

function irrOf(vm: Vm): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let c = 0; c < vm.vcpuCount; c++) for (const vec of vm.readLocalApic(c).irr) out.push([c, vec]);
  return out;
}

/**
 * Waits (polling, bounded) until every `[vcpu, vector]` of `want` is in an IRR, then requires the
 * IRRs to hold exactly those, the APIC model to have accepted exactly that many, and clears them.
 */
async function expectDelivered(t: MsiTarget, vm: Vm, want: Array<[number, number]>, acceptedBefore: { n: number }): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const seen = irrOf(vm);
    if (want.every(([c, v]) => seen.some(([sc, sv]) => sc === c && sv === v))) break;
    await t.settle(vm);
  }
  await t.settle(vm);
  expect(irrOf(vm)).toEqual([...want].sort((a, b) => a[0] - b[0] || a[1] - b[1]));
  const accepted = t.accepted(vm);
  if (accepted !== undefined) {
    expect(accepted - acceptedBefore.n).toBe(want.length);
    acceptedBefore.n = accepted;
  }
  for (let c = 0; c < vm.vcpuCount; c++) vm.clearIrr(c);
}

describeMsiTargets('plain MSI end to end', (t) => {
  it('Linux-style setup, device raises, mask/pending/unmask, live retarget, disable, reset and save/restore: each interrupt once', async () => {
    using vm = t.create();
    const irqfd = vm.irqfd()!;
    using routes = createIrqFdMsiRoutes(irqfd, 4);
    const errors: Error[] = [];
    const controls: string[] = [];
    const emu = new MsiEmulator({
      vectors: 4,
      address64: true,
      perVectorMasking: true,
      requestMsi: partitionInjector(vm),
      onError: (e) => errors.push(e),
      onControl: (enabled, n) => controls.push(`${enabled}/${n}`),
    });
    emu.setRoutes(routes.routes, { batch: routes.batch });
    const count = { n: t.accepted(vm) ?? 0 };
    const apic = [vm.readLocalApic(0).apicId, vm.readLocalApic(1).apicId];
    const raise = (v: number) => routes.irqfdRoutes[v]!.event.signal();

    // msi_capability_init: read Control, Enable off, mask all, MME = 2 (4 vectors), message, Enable, unmask each.
    const control = emu.configRead(CONTROL, 2);
    expect(control).toBe((2 << 1) | 0x80 | 0x100); // MMC 4 vectors, 64-bit, per-vector masking
    emu.configWrite(CONTROL, 2, control & ~1);
    emu.configWrite(MASK, 4, 0xf);
    emu.configWrite(CONTROL, 2, (emu.configRead(CONTROL, 2) & ~0x70) | (2 << 4));
    const m = encodeMsi({ destinationId: apic[1]!, vector: 0x40 });
    emu.configWrite(ADDRESS, 4, m.addressLo);
    emu.configWrite(UPPER, 4, m.addressHi);
    emu.configWrite(DATA, 2, m.data);
    emu.configRead(CONTROL, 2);
    const commits = irqfd.commitCount;
    emu.configWrite(CONTROL, 2, emu.configRead(CONTROL, 2) | 1);
    for (let v = 0; v < 4; v++) emu.configWrite(MASK, 4, 0xf & ~((1 << (v + 1)) - 1));
    // Enable preloads every masked route in one commit, so the four unmasks cost none.
    expect(irqfd.commitCount - commits).toBe(irqfd.capabilities.routingTable ? 1 : 0);
    expect(controls).toEqual(['false/4', 'true/4']);
    await expectDelivered(t, vm, [], count);

    // Each vector of the block: data 0x40 with its low 2 bits replaced by the vector number.
    for (let v = 0; v < 4; v++) {
      raise(v);
      await expectDelivered(t, vm, [[1, 0x40 + v]], count);
    }
    expect(emu.signal(2)).toBe(true); // the user-space path reaches the same place
    await expectDelivered(t, vm, [[1, 0x42]], count);

    // Masked: two raises on the event and one through signal set the Pending bit only; unmask delivers once.
    emu.configWrite(MASK, 4, 1 << 2);
    raise(2);
    raise(2);
    await t.settle(vm);
    expect(emu.signal(2)).toBe(false);
    expect(emu.configRead(PENDING, 4)).toBe(1 << 2);
    await expectDelivered(t, vm, [], count);
    expect(emu.configRead(PENDING, 4)).toBe(1 << 2); // stays set until delivered
    emu.configWrite(MASK, 4, 0);
    await expectDelivered(t, vm, [[1, 0x42]], count);
    expect(emu.configRead(PENDING, 4)).toBe(0);
    emu.configWrite(MASK, 4, 1 << 2); // nothing new: mask and unmask deliver nothing stale
    emu.configWrite(MASK, 4, 0);
    await expectDelivered(t, vm, [], count);

    // Retarget while enabled and unmasked, in Linux's order, with the device raising in the middle:
    // the interrupt goes to the complete old message; after the Data write, to the new one.
    const n = encodeMsi({ destinationId: apic[0]!, vector: 0x80 });
    const before = irqfd.commitCount;
    emu.configWrite(ADDRESS, 4, n.addressLo);
    emu.configWrite(UPPER, 4, n.addressHi);
    raise(1);
    await expectDelivered(t, vm, [[1, 0x41]], count);
    emu.configWrite(DATA, 2, n.data);
    expect(irqfd.commitCount - before).toBe(irqfd.capabilities.routingTable ? 1 : 0); // 4 routes, one commit
    raise(1);
    raise(3);
    await expectDelivered(t, vm, [[0, 0x81], [0, 0x83]], count);

    // MSI Enable off: raises are held; Enable delivers each once.
    emu.configWrite(CONTROL, 2, emu.configRead(CONTROL, 2) & ~1);
    raise(3);
    expect(emu.signal(0)).toBe(false);
    await expectDelivered(t, vm, [], count);
    emu.configWrite(CONTROL, 2, emu.configRead(CONTROL, 2) | 1);
    await expectDelivered(t, vm, [[0, 0x80], [0, 0x83]], count);

    // Save/restore with a masked, pending vector: delivered once after restore and unmask.
    emu.configWrite(MASK, 4, 1 << 1);
    raise(1);
    await t.settle(vm);
    const state = JSON.parse(JSON.stringify(emu.save())) as ReturnType<MsiEmulator['save']>;
    expect(state.pending).toEqual([1]);
    emu.restore(state);
    await expectDelivered(t, vm, [], count);
    emu.configWrite(MASK, 4, 0);
    await expectDelivered(t, vm, [[0, 0x81]], count);

    // Function reset with an interrupt pending: power-on state, every route masked, nothing stale later.
    emu.configWrite(MASK, 4, 1 << 0);
    raise(0);
    await t.settle(vm);
    emu.reset();
    expect(emu.configRead(CONTROL, 2)).toBe((2 << 1) | 0x80 | 0x100);
    expect([emu.configRead(ADDRESS, 4), emu.configRead(UPPER, 4), emu.configRead(DATA, 2), emu.configRead(MASK, 4), emu.configRead(PENDING, 4)]).toEqual([0, 0, 0, 0, 0]);
    expect(routes.irqfdRoutes.every((r) => r.masked)).toBe(true);
    emu.configWrite(ADDRESS, 4, n.addressLo);
    emu.configWrite(DATA, 2, n.data);
    emu.configWrite(CONTROL, 2, 1); // one vector this time
    await expectDelivered(t, vm, [], count);
    raise(0);
    await expectDelivered(t, vm, [[0, 0x80]], count);

    expect(errors).toEqual([]);
    emu.clearRoutes();
  });

  it('without per-vector masking and with a 32-bit address: Enable is the only switch, vectors beyond the grant never send', async () => {
    using vm = t.create();
    using routes = createIrqFdMsiRoutes(vm.irqfd()!, 2);
    const errors: Error[] = [];
    const emu = new MsiEmulator({ vectors: 2, address64: false, perVectorMasking: false, onError: (e) => errors.push(e) });
    emu.setRoutes(routes.routes, { batch: routes.batch });
    const count = { n: t.accepted(vm) ?? 0 };
    const m = encodeMsi({ destinationId: vm.readLocalApic(0).apicId, vector: 0x60 });
    emu.configWrite(4, 4, m.addressLo);
    emu.configWrite(8, 2, m.data);
    emu.configWrite(2, 2, 1); // Enable, MME 0: one vector granted
    routes.irqfdRoutes[0]!.event.signal();
    routes.irqfdRoutes[1]!.event.signal(); // not granted: the function may not send it
    expect(emu.signal(1)).toBe(false);
    await expectDelivered(t, vm, [[0, 0x60]], count);
    emu.configWrite(2, 2, 1 | (1 << 4)); // MME 1: two vectors; what vector 1 raised before is gone
    await expectDelivered(t, vm, [], count);
    routes.irqfdRoutes[1]!.event.signal();
    await expectDelivered(t, vm, [[0, 0x61]], count);
    expect(emu.configRead(0x0c, 4)).toBe(0); // no Mask Bits in this layout: reads past the end are 0
    expect(errors).toEqual([]);
    emu.clearRoutes();
  });
});
