/**
 * Guest-initiated Function Level Reset on an assigned device: the guest's driver writes Initiate
 * Function Level Reset (PCI Express capability + 8, Device Control bit 15; PCIe Base
 * Specification, "Device Control Register") as Linux's pcie_flr does, a 16-bit read-modify-write.
 * Where Device Capabilities (+4) bit 28 advertises FLR and vfio has a reset, the assigned device
 * runs the same function reset as `reset()`; otherwise the write is ignored. The bit is never
 * forwarded (vfio-pci would reset the function itself, vfio.md §4) and always reads 0.
 *
 * On the model the device is built with and without FLR; on a real device the bodies check what
 * that device advertises.
 */
import { VirtError } from '@tsvmm/virt';
import { AssignedPciDevice } from '../src';
import { assign, type AssignedEnv, type AssignedTarget, describeAssignedTargets } from './support/assigned-targets';
import { driverState, logTaker, maskVector, msixDriverUp, pba } from './support/guest';

const DEVCTL = 0x08;
const FLR = 0x8000;

function pcieEnv(target: AssignedTarget, flr: boolean, extra: { resetWorks?: boolean } = {}): AssignedEnv {
  return target.create({ devices: [{ address: '0000:01:00.0', group: 7, pcie: { flr }, ...extra }] });
}

/** What Linux's pcie_flr writes: Device Control read, bit 15 set, written back as 16 bits. */
function initiateFlr(dev: AssignedPciDevice): void {
  const at = dev.pcieCapability! + DEVCTL;
  dev.configWrite(at, 2, dev.configRead(at, 2) | FLR);
}

describeAssignedTargets('assigned device: guest-initiated Function Level Reset', (target) => {
  for (const flr of [true, false]) {
    it(`${flr ? 'with' : 'without'} FLR on the model device: Initiate FLR reads 0; a write of 1 is ${flr ? 'the function reset' : 'ignored'} (the device ${flr ? 'advertises' : 'does not advertise'} FLR)`, () => {
      using env = pcieEnv(target, flr);
      const errors: Error[] = [];
      using dev = assign(env, errors);
      if (dev.pcieCapability === undefined) throw new Error('the device has no PCI Express capability: Initiate Function Level Reset does not exist on it');
      const L = logTaker(env);
      if (env.model) expect(dev.functionLevelReset).toBe(flr);
      const cap = dev.pcieCapability;
      const devctlBefore = dev.configRead(cap + DEVCTL, 2);
      expect(devctlBefore & FLR).toBe(0);
      driverState(env, dev);
      env.ack();
      L.vfio();
      L.kvm();
      const resets = env.model?.vfio.device().resets ?? 0;

      initiateFlr(dev);

      expect(dev.configRead(cap + DEVCTL, 2)).toBe(devctlBefore); // bit 15 reads 0, the others as written
      if (env.model) expect(env.model.vfio.device().kernelFlrs).toBe(0); // never forwarded to vfio-pci
      if (dev.functionLevelReset) {
        // The same sequence as reset(): vfio's MSI-X off first, then VFIO_DEVICE_RESET; routes lose their messages.
        expect(L.vfio()).toEqual(env.model ? ['SET_IRQS MSIX start=0 none count=0', 'DEVICE_RESET'] : undefined);
        expect(L.kvm()).toEqual(env.model ? ['KVM_SET_GSI_ROUTING n=40'] : undefined);
        if (env.model) expect(env.model.vfio.device().resets).toBe(resets + 1);
        expect(dev.msix!.enabled).toBe(false);
        expect(dev.configRead(0x10, 4)).toBe(0);
        expect(dev.msixRoutes.every((r) => r.masked && r.msi === undefined)).toBe(true);
        if (env.model) expect(env.model.vfio.device().irq.mode).toBe('none');
        // The guest sets MSI-X up again: the interrupt pending before the reset never arrives.
        msixDriverUp(dev, 0, 0, 0x41);
        expect(pba(dev)).toBe(0);
        expect(env.irr()).toEqual([]);
        env.raiseMsix(0);
        expect(env.irr()).toEqual(['0:65']);
      } else {
        // Nothing reset: no VFIO or KVM call, MSI-X and the pending interrupt as they were.
        expect(L.vfio()).toEqual(env.model ? [] : undefined);
        expect(L.kvm()).toEqual(env.model ? [] : undefined);
        if (env.model) expect(env.model.vfio.device().resets).toBe(resets);
        expect(dev.msix!.enabled).toBe(true);
        expect(dev.configRead(0x10, 4)).toBe(0xfebf0000);
        expect(pba(dev)).toBe(1);
        maskVector(dev, 0, false);
        expect(env.irr()).toEqual(['0:65']);
      }
      expect(errors).toEqual([]);
    });
  }

  it('INTx on the irqfd path: disabled in vfio before VFIO_DEVICE_RESET and enabled again after it, as reset() does', () => {
    using env = pcieEnv(target, true);
    const errors: Error[] = [];
    using dev = assign(env, errors, { intx: { mode: 'irqfd', gsi: 10 } });
    if (!dev.functionLevelReset || dev.intxMode !== 'irqfd') throw new Error('the device advertises no FLR or has no INTx: the body cannot show this');
    const L = logTaker(env);
    L.vfio(); // INTx enabled at create
    const resets = env.model?.vfio.device().resets ?? 0;
    const before = dev.intxRoute;
    initiateFlr(dev);
    const after = dev.intxRoute!;
    expect(after).not.toBe(before);
    expect(L.vfio()).toEqual(
      env.model
        ? ['SET_IRQS INTX start=0 none count=0', 'DEVICE_RESET', `SET_IRQS INTX start=0 [${after.event.fd}]`, 'SET_IRQS INTX mask start=0 none count=1', `SET_IRQS INTX unmask start=0 [${after.resample.fd}]`, 'SET_IRQS INTX unmask start=0 none count=1']
        : undefined,
    );
    if (env.model) expect(env.model.vfio.device().resets).toBe(resets + 1);
    expect(errors).toEqual([]);
  });

  it('no VFIO_DEVICE_FLAGS_RESET: the write is ignored even with FLR advertised', () => {
    using env = pcieEnv(target, true, { resetWorks: false });
    const errors: Error[] = [];
    using dev = assign(env, errors);
    if (env.model) expect(dev.functionLevelReset).toBe(false);
    if (dev.functionLevelReset) throw new Error('the device has a function reset: the body cannot show its absence');
    const L = logTaker(env);
    driverState(env, dev);
    L.vfio();
    initiateFlr(dev);
    expect(L.vfio()).toEqual(env.model ? [] : undefined);
    expect(dev.msix!.enabled).toBe(true);
    expect(pba(dev)).toBe(1);
    expect(errors).toEqual([]);
  });

  (target.real ? it.skip : it)('a reset the kernel refuses (EAGAIN: device lock busy) goes to onError; nothing is thrown and vfio and the emulators agree (model only: a real device lock cannot be held on demand)', () => {
    using env = pcieEnv(target, true);
    const errors: [Error, string][] = [];
    using dev = AssignedPciDevice.create({ device: env.device, irqfd: env.vm.irqfd()!, onError: (e, op) => errors.push([e, op]) });
    const m = env.model!;
    driverState(env, dev);
    const L = logTaker(env);
    L.vfio();
    const resets = m.vfio.device().resets;
    m.vfio.device().resetBusy = true;
    expect(() => initiateFlr(dev)).not.toThrow();
    expect(L.vfio()).toEqual(['SET_IRQS MSIX start=0 none count=0', 'DEVICE_RESET']);
    expect(m.vfio.device().resets).toBe(resets);
    expect(errors).toHaveLength(1);
    const [e, op] = errors[0]!;
    expect(e).toBeInstanceOf(VirtError);
    expect({ code: (e as VirtError).code, errno: (e as VirtError).errno, op }).toEqual({ code: 'SYSCALL', errno: 11, op: 'AssignedPciDevice.configWrite (Initiate Function Level Reset)' });
    // Nobody retries a guest's write: the error says where things stand and names reset(), not "try again".
    expect((e as VirtError).hint).not.toMatch(/try again/i);
    expect((e as VirtError).hint).toContain('reset()');
    expect((e as VirtError).detail).toContain('at power-on; the device itself keeps its state');
    // vfio has no interrupt enabled and the emulators are at power-on: nothing stale can arrive.
    expect(m.vfio.device().irq.mode).toBe('none');
    expect(dev.msix!.enabled).toBe(false);
    env.raiseMsix(0);
    expect(env.irr()).toEqual([]);
    // The lock is free again: a second FLR resets.
    m.vfio.device().resetBusy = false;
    initiateFlr(dev);
    expect(m.vfio.device().resets).toBe(resets + 1);
    expect(errors).toHaveLength(1);
  });

  (target.real ? it.skip : it)('hostile accesses of every size and offset overlapping Device Control: bit 15 never reads 1, each write carrying it resets exactly once, others never (model only: a real device would be reset hundreds of times)', () => {
    for (const flr of [true, false]) {
      using env = pcieEnv(target, flr);
      const errors: Error[] = [];
      using dev = assign(env, errors);
      const m = env.model!;
      const cap = dev.pcieCapability!;
      const flrByte = cap + DEVCTL + 1;
      for (const size of [1, 2, 4]) {
        for (let offset = flrByte - size + 1; offset <= flrByte; offset++) {
          const r = dev.configRead(offset, size);
          expect({ offset, size, bit: (r >>> ((flrByte - offset) * 8)) & 0x80 }).toEqual({ offset, size, bit: 0 });
          for (const value of [0xffffffff, 0x80808080, 0x7f7f7f7f, 0, 0x12345678]) {
            const carries = ((value >>> ((flrByte - offset) * 8)) & 0x80) !== 0;
            const before = m.vfio.device().resets;
            expect(() => dev.configWrite(offset, size, value)).not.toThrow();
            expect({ offset, size, value, resets: m.vfio.device().resets - before }).toEqual({ offset, size, value, resets: carries && flr ? 1 : 0 });
            expect(m.vfio.device().kernelFlrs).toBe(0);
            expect(dev.configRead(cap + DEVCTL, 2) & FLR).toBe(0);
          }
        }
      }
      // Out-of-range and malformed accesses near the register are dropped.
      for (const [offset, size, value] of [[flrByte, 3, 0x80], [flrByte + 0.5, 1, 0x80], [flrByte, 1, Number.NaN], [flrByte, 1, -1]] as const) {
        const before = m.vfio.device().resets;
        dev.configWrite(offset, size, value);
        expect(m.vfio.device().resets - before).toBe(value === -1 && flr ? 1 : 0); // -1 is a valid all-ones write
      }
      expect(errors).toEqual([]);
      dev.dispose();
      expect(m.vfio.hazards).toEqual([]);
    }
  });
});
