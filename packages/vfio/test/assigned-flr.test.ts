/**
 * Guest-initiated Function Level Reset on an assigned device, through either register that has an
 * Initiate FLR bit:
 * - PCI Express Device Control (capability + 8, bit 15; PCIe Base Specification, "Device Control
 *   Register"), written as Linux's pcie_flr does, a 16-bit read-modify-write; meaningful where
 *   Device Capabilities (+4) bit 28 advertises FLR;
 * - AF Control (Advanced Features capability + 4, bit 0; pci_regs.h PCI_AF_CTRL_FLR) of a
 *   conventional function, written as Linux's pci_af_flr does, one byte; meaningful where AF
 *   Capabilities (+3) has TP and FLR (the condition of vfio-pci's vfio_af_config_write).
 * Where the register is meaningful and vfio has a reset, the assigned device runs the same function
 * reset as `reset()`; otherwise the write is ignored. The bit is never forwarded (vfio-pci would
 * reset the function itself, docs/interfaces/vfio.md, "Regions") and always reads 0.
 *
 * On the model the device is built with and without FLR; on a real device the PCI Express bodies
 * check what that device advertises (the Advanced Features ones are model only).
 */
import { VirtError } from '@tsvmm/virt';
import type { ModelDeviceSpec } from '../src/testing';
import { AssignedPciDevice } from '../src';
import { assign, type AssignedEnv, type AssignedTarget, describeAssignedTargets } from './support/assigned-targets';
import { driverState, logTaker, maskVector, msixDriverUp, pba } from './support/guest';
import { modelOnly } from './support/model-only';

/** A register with an Initiate Function Level Reset bit, and how Linux's driver sets it. */
interface FlrRegister {
  readonly name: string;
  /** The model device's option that gives it the register, advertising FLR or not. */
  spec(flr: boolean): Partial<ModelDeviceSpec>;
  /** The capability that holds the register, or undefined when the function has none. */
  capability(dev: AssignedPciDevice): number | undefined;
  /** The byte holding the bit, from the capability's start, and the bit in it. */
  readonly byte: number;
  readonly bit: number;
  /** What Linux writes to initiate the reset. */
  initiate(dev: AssignedPciDevice, cap: number): void;
  /** Real devices are PCI Express functions: the other register's bodies run on the model only. */
  readonly modelOnly?: string;
}

const FLR_REGISTERS: readonly FlrRegister[] = [
  {
    name: 'PCI Express Device Control',
    spec: (flr) => ({ pcie: { flr } }),
    capability: (dev) => dev.pcieCapability,
    byte: 0x09,
    bit: 0x80,
    // pcie_flr: Device Control read, bit 15 set, written back as 16 bits.
    initiate: (dev, cap) => dev.configWrite(cap + 0x08, 2, dev.configRead(cap + 0x08, 2) | 0x8000),
  },
  {
    name: 'Advanced Features AF Control',
    spec: (flr) => ({ advancedFeatures: { flr } }),
    capability: (dev) => dev.advancedFeaturesCapability,
    byte: 0x04,
    bit: 0x01,
    // pci_af_flr: one byte write of PCI_AF_CTRL_FLR.
    initiate: (dev, cap) => dev.configWrite(cap + 0x04, 1, 0x01),
    modelOnly: 'a conventional PCI function with an Advanced Features capability; assigned devices are PCI Express',
  },
];

function flrEnv(target: AssignedTarget, reg: FlrRegister, flr: boolean, extra: Partial<ModelDeviceSpec> = {}): AssignedEnv {
  return target.create({ devices: [{ address: '0000:01:00.0', group: 7, ...reg.spec(flr), ...extra }] });
}

function capabilityOf(reg: FlrRegister, dev: AssignedPciDevice): number {
  const cap = reg.capability(dev);
  if (cap === undefined) throw new Error(`the device has no ${reg.name} register: its Initiate Function Level Reset does not exist on it`);
  return cap;
}

describeAssignedTargets('assigned device: guest-initiated Function Level Reset', (target) => {
  for (const reg of FLR_REGISTERS) {
    const it = reg.modelOnly ? modelOnly(target, reg.modelOnly) : globalThis.it;
    const initiateFlr = (dev: AssignedPciDevice): void => reg.initiate(dev, capabilityOf(reg, dev));
    const flrBit = (dev: AssignedPciDevice): number => dev.configRead(capabilityOf(reg, dev) + reg.byte, 1) & reg.bit;
    for (const flr of [true, false]) {
      it(`${reg.name}, ${flr ? 'with' : 'without'} FLR on the model device: Initiate FLR reads 0; a write of 1 is ${flr ? 'the function reset' : 'ignored'} (the device ${flr ? 'advertises' : 'does not advertise'} FLR)`, () => {
        using env = flrEnv(target, reg, flr);
        const errors: Error[] = [];
        using dev = assign(env, errors);
        const cap = capabilityOf(reg, dev);
        const L = logTaker(env);
        if (env.model) expect(dev.functionLevelReset).toBe(flr);
        const registerBefore = dev.configRead(cap + (reg.byte & ~1), 2);
        expect(flrBit(dev)).toBe(0);
        driverState(env, dev);
        env.ack();
        L.vfio();
        L.kvm();
        const resets = env.model?.vfio.device().resets ?? 0;

        initiateFlr(dev);

        expect(dev.configRead(cap + (reg.byte & ~1), 2)).toBe(registerBefore); // the bit reads 0, the others as they were
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

    it(`${reg.name}: INTx on the irqfd path: disabled in vfio before VFIO_DEVICE_RESET and enabled again after it, as reset() does`, () => {
      using env = flrEnv(target, reg, true);
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

    it(`${reg.name}: no VFIO_DEVICE_FLAGS_RESET: the write is ignored even with FLR advertised`, () => {
      using env = flrEnv(target, reg, true, { resetWorks: false });
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

    (target.real ? globalThis.it.skip : it)(`${reg.name}: a reset the kernel refuses (EAGAIN: device lock busy) goes to onError; nothing is thrown and vfio and the emulators agree (model only: a real device lock cannot be held on demand)`, () => {
      using env = flrEnv(target, reg, true);
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

    (target.real ? globalThis.it.skip : it)(`${reg.name}: hostile accesses of every size and offset overlapping the register: the bit never reads 1, each write carrying it resets exactly once, others never (model only: a real device would be reset hundreds of times)`, () => {
      for (const flr of [true, false]) {
        using env = flrEnv(target, reg, flr);
        const errors: Error[] = [];
        using dev = assign(env, errors);
        const m = env.model!;
        const cap = capabilityOf(reg, dev);
        const flrByte = cap + reg.byte;
        for (const size of [1, 2, 4]) {
          for (let offset = flrByte - size + 1; offset <= flrByte; offset++) {
            const r = dev.configRead(offset, size);
            expect({ offset, size, bit: (r >>> ((flrByte - offset) * 8)) & reg.bit }).toEqual({ offset, size, bit: 0 });
            for (const value of [0xffffffff, 0x80808080, 0x7f7f7f7f, 0x01010101, 0xfefefefe, 0, 0x12345678]) {
              const carries = ((value >>> ((flrByte - offset) * 8)) & reg.bit) !== 0;
              const before = m.vfio.device().resets;
              expect(() => dev.configWrite(offset, size, value)).not.toThrow();
              expect({ offset, size, value, resets: m.vfio.device().resets - before }).toEqual({ offset, size, value, resets: carries && flr ? 1 : 0 });
              expect(m.vfio.device().kernelFlrs).toBe(0);
              expect(flrBit(dev)).toBe(0);
            }
          }
        }
        // Out-of-range and malformed accesses near the register are dropped.
        for (const [offset, size, value] of [[flrByte, 3, reg.bit], [flrByte + 0.5, 1, reg.bit], [flrByte, 1, Number.NaN], [flrByte, 1, -1]] as const) {
          const before = m.vfio.device().resets;
          dev.configWrite(offset, size, value);
          expect(m.vfio.device().resets - before).toBe(value === -1 && flr ? 1 : 0); // -1 is a valid all-ones write
        }
        expect(errors).toEqual([]);
        dev.dispose();
        expect(m.vfio.hazards).toEqual([]);
      }
    });
  }

  modelOnly(target, 'the model device is built without TP')('Advanced Features with FLR but without TP: vfio-pci would not reset on it (vfio_af_config_write tests both bits), and neither does the assigned device; the bit still reads 0', () => {
    using env = target.create({ devices: [{ address: '0000:01:00.0', group: 7, advancedFeatures: { flr: true, tp: false } }] });
    const errors: Error[] = [];
    using dev = assign(env, errors);
    const m = env.model!;
    expect(dev.advancedFeaturesCapability).toBeDefined();
    expect(dev.functionLevelReset).toBe(false);
    const cap = dev.advancedFeaturesCapability!;
    expect(dev.configRead(cap + 3, 1)).toBe(0x02); // AF Capabilities: FLR, no TP
    driverState(env, dev);
    const resets = m.vfio.device().resets;
    dev.configWrite(cap + 4, 1, 0x01);
    expect(dev.configRead(cap + 4, 1)).toBe(0);
    expect({ resets: m.vfio.device().resets - resets, kernelFlrs: m.vfio.device().kernelFlrs }).toEqual({ resets: 0, kernelFlrs: 0 });
    expect(dev.msix!.enabled).toBe(true);
    expect(errors).toEqual([]);
  });

  modelOnly(target, 'the model device carries both capabilities')('a function with both registers: each resets only on its own capability (Device Capabilities bit 28; AF Capabilities TP and FLR), as vfio-pci decides per register', () => {
    const cases = [
      { pcie: { flr: false }, advancedFeatures: { flr: true, tp: true }, resets: { 'PCI Express Device Control': 0, 'Advanced Features AF Control': 1 } },
      { pcie: { flr: true }, advancedFeatures: { flr: true, tp: false }, resets: { 'PCI Express Device Control': 1, 'Advanced Features AF Control': 0 } },
    ] as const;
    for (const c of cases) {
      for (const reg of FLR_REGISTERS) {
        using env = target.create({ devices: [{ address: '0000:01:00.0', group: 7, pcie: c.pcie, advancedFeatures: c.advancedFeatures }] });
        const errors: Error[] = [];
        using dev = assign(env, errors);
        const m = env.model!;
        expect(dev.functionLevelReset).toBe(true);
        const cap = capabilityOf(reg, dev);
        const resets = m.vfio.device().resets;
        reg.initiate(dev, cap);
        expect({ c, register: reg.name, resets: m.vfio.device().resets - resets, kernelFlrs: m.vfio.device().kernelFlrs, bit: dev.configRead(cap + reg.byte, 1) & reg.bit }).toEqual({
          c,
          register: reg.name,
          resets: c.resets[reg.name as keyof typeof c.resets],
          kernelFlrs: 0,
          bit: 0,
        });
        expect(errors).toEqual([]);
      }
    }
  });
});
