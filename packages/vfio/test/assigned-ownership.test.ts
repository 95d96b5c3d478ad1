/**
 * One owner per VfioDevice, a disposed VfioDevice under an assigned device, and restore that
 * either is carried out or says what it could not do: checked before any change where the counts
 * are known, thrown after the kernel refused part of it, with the device object and vfio in
 * agreement and the refused vectors asked for again at the guest's next unmask.
 */
import { readdirSync } from 'node:fs';
import { isVirtError } from '@tsvmm/virt';
import { virtErrorThrownBy } from '@tsvmm/virt/testing';
import { AssignedPciDevice, type AssignedPciDeviceState } from '../src';
import { type AssignedEnv, assign, type AssignedTarget, describeAssignedTargets } from './support/assigned-targets';
import { logTaker, maskVector, msixControl, msixDriverUp, programVector } from './support/guest';
import { modelOnly } from './support/model-only';

/** MSI-X enabled with vector 0 (APIC 1) and vector 5 (APIC 0) unmasked: a snapshot needing vectors 0-5. */
function snapshotWithVectors0And5(target: AssignedTarget): AssignedPciDeviceState {
  using env = target.create();
  using dev = assign(env);
  msixDriverUp(dev, 0, 1, 0x45);
  programVector(dev, 5, 0, 0x50);
  expect(dev.boundMsixVectors).toEqual([0, 5]);
  return JSON.parse(JSON.stringify(dev.save())) as AssignedPciDeviceState;
}

describeAssignedTargets('assigned device: one owner per VfioDevice', (target) => {
  it('a second create on the same VfioDevice is BUSY and changes nothing; after dispose the device can be assigned again', () => {
    using env = target.create();
    const errors: Error[] = [];
    const first = assign(env, errors);
    msixDriverUp(first, 0, 1, 0x45);
    const L = logTaker(env);
    L.vfio();
    const routes = env.vm.irqfd()!.routeCount;
    const e = virtErrorThrownBy(() => assign(env));
    expect(e.code).toBe('BUSY');
    expect(e.operation).toBe('AssignedPciDevice.create');
    expect(e.detail).toContain('already assigned');
    expect(L.vfio() ?? []).toEqual([]);
    expect(env.vm.irqfd()!.routeCount).toBe(routes);
    // The first still delivers.
    expect(first.boundMsixVectors).toEqual([0]);
    env.raiseMsix(0);
    expect(env.irr()).toEqual(['1:69']);
    env.ack();
    expect(errors).toEqual([]);
    first.dispose();
    using second = assign(env, errors);
    msixDriverUp(second, 0, 0, 0x46);
    env.raiseMsix(0);
    expect(env.irr()).toEqual(['0:70']);
    expect(errors).toEqual([]);
  });

  it('a create that fails releases its claim', () => {
    using env = target.create();
    // A DMA range over the x86 MSI window is refused by the IOMMU after the claim was taken.
    const bad = () => AssignedPciDevice.create({ device: env.device, irqfd: env.vm.irqfd()!, dma: [{ guestAddress: 0xfee0_0000, hostAddress: 0x7f20_0000_0000n, size: 0x1000 }] });
    expect(isVirtError(virtErrorThrownBy(bad), 'SYSCALL')).toBe(true);
    using dev = assign(env);
    expect(dev.isDisposed).toBe(false);
  });
});

/** Open fds: the models' tables on the model, this process's /proc/self/fd on a real device. */
function openFds(env: AssignedEnv): { vfio: number; kvm: number } | { process: number } {
  const m = env.model;
  return m ? { vfio: m.vfio.openFds, kvm: m.kvm.openFds } : { process: readdirSync('/proc/self/fd').length };
}

/** The hazards both models recorded (empty on a real device, which keeps none). */
function hazards(env: AssignedEnv): string[] {
  return env.model ? [...env.model.vfio.hazards, ...env.model.kvm.hazards] : [];
}

const GUEST_RAM = [{ guestAddress: 0, hostAddress: 0x7f30_0000_0000n, size: 0x10_0000 }];

describeAssignedTargets('assigned device: its VfioDevice disposed under it', (target) => {
  const orders = ['assigned, then device', 'device, then assigned', 'device only', 'device twice, then assigned twice'] as const;
  for (const order of orders) {
    for (const dma of [false, true]) {
      it(`every dispose order releases each eventfd binding and mapping once: ${order}, ${dma ? 'with' : 'without'} DMA`, () => {
        const env = target.create();
        const before = openFds(env);
        const errors: Error[] = [];
        const dev = assign(env, errors, { intx: { mode: 'irqfd', gsi: 10 }, ...(dma ? { dma: GUEST_RAM } : {}) });
        msixDriverUp(dev, 0, 1, 0x45);
        expect(dev.boundMsixVectors).toEqual([0]);
        if (env.model && dma) expect(env.model.vfio.mappings(env.device.iommuFd)).toHaveLength(1);
        const L = logTaker(env);
        L.vfio();
        L.kvm();
        if (order === 'assigned, then device') {
          dev.dispose();
          env.device.dispose();
        } else {
          env.device.dispose();
          // The assigned device was disposed first, while the fds were open: MSI-X disabled, then the DMA unmapped.
          expect(L.vfio()).toEqual(env.model ? ['SET_IRQS MSIX start=0 none count=0', ...(dma ? ['IOMMU_UNMAP_DMA'] : [])] : undefined);
          expect(dev.isDisposed).toBe(true);
          expect(env.vm.irqfd()!.routeCount).toBe(0);
          L.kvm();
          if (order === 'device twice, then assigned twice') env.device.dispose();
          if (order !== 'device only') dev.dispose();
          if (order === 'device twice, then assigned twice') dev.dispose();
          // Nothing more reaches the kernel: no call on the closed fds.
          expect(L.vfio() ?? []).toEqual([]);
          expect(L.kvm() ?? []).toEqual([]);
        }
        expect(hazards(env)).toEqual([]);
        env.model?.bridge.dispose();
        expect(openFds(env)).toEqual(env.model ? { vfio: 0, kvm: (before as { kvm: number }).kvm } : { process: (before as { process: number }).process - (env.device.path === 'legacy' ? 3 : 2) });
        env.vm.dispose();
        expect(errors).toEqual([]);
        expect(hazards(env)).toEqual([]);
      });
    }
  }

  it('VMM calls are DISPOSED (never SYSCALL EBADF), guest accesses are master aborts, and the assigned device\'s own dispose makes no call', () => {
    using env = target.create();
    const errors: Error[] = [];
    const dev = assign(env, errors);
    msixDriverUp(dev, 0, 1, 0x45);
    const snap = dev.save();
    expect(snap.command).toBe(0x0006);
    const L = logTaker(env);
    L.vfio();
    env.device.dispose();
    L.vfio();
    for (const [name, call] of [
      ['save', () => dev.save()],
      ['restore', () => dev.restore(snap)],
      ['reset', () => dev.reset()],
    ] as const) {
      const e = virtErrorThrownBy(call);
      expect({ name, code: e.code, operation: e.operation }).toEqual({ name, code: 'DISPOSED', operation: `AssignedPciDevice.${name}` });
      expect(e.detail).toContain('VfioDevice');
    }
    expect(dev.configRead(0x04, 2)).toBe(0xffff);
    dev.configWrite(0x04, 2, 0);
    const out = new Uint8Array(4);
    dev.barRead(0, 0, out);
    expect(Array.from(out)).toEqual([0xff, 0xff, 0xff, 0xff]);
    expect(dev.pollIntx()).toBe(false);
    dev.dispose();
    expect(L.vfio() ?? []).toEqual([]);
    expect(errors).toEqual([]);
    expect(env.vm.irqfd()!.routeCount).toBe(0);
  });

  modelOnly(target, 'a failing config read is the model\'s')('save reads Command through a path that throws typed: a failed pread is SYSCALL with the errno, never a recorded all-ones', () => {
    using env = target.create();
    using dev = assign(env);
    dev.configWrite(0x04, 2, 0x0006);
    const bridge = env.model!.bridge as unknown as { pread: (fd: number, buf: Uint8Array, offset: number | bigint) => number };
    const original = bridge.pread.bind(bridge);
    bridge.pread = () => -5; // EIO
    try {
      const e = virtErrorThrownBy(() => dev.save());
      expect({ code: e.code, errno: e.errno, operation: e.operation }).toEqual({ code: 'SYSCALL', errno: 5, operation: 'AssignedPciDevice.save' });
    } finally {
      bridge.pread = original;
    }
    expect(dev.save().command).toBe(0x0006);
  });
});

describeAssignedTargets('assigned device: restore that cannot be carried out', (target) => {
  modelOnly(target, "the IRQ_INFO count is set on the model's device")('more MSI-X vectors than VFIO_DEVICE_GET_IRQ_INFO counts: EXHAUSTED naming both counts, nothing changed', () => {
    const snap = snapshotWithVectors0And5(target);
    using env = target.create();
    // vfio reporting 4 MSI-X interrupts for a table of 8, as read at create.
    (env.model!.vfio.device() as { msixVectors: number }).msixVectors = 4;
    using dev = assign(env);
    const before = dev.save();
    const L = logTaker(env);
    L.vfio();
    const e = virtErrorThrownBy(() => dev.restore(snap));
    expect({ code: e.code, operation: e.operation }).toEqual({ code: 'EXHAUSTED', operation: 'AssignedPciDevice.restore' });
    expect(e.detail).toContain('MSI-X vectors 0-5 bound (6), the device has 4');
    expect(L.vfio()).toEqual([]);
    expect(dev.save()).toEqual(before);
  });

  modelOnly(target, "the host's vector limit is the model's hostVectors")('the host has too few vectors: restore throws EXHAUSTED with the emulator and vfio in agreement, and the guest\'s next unmask asks again', () => {
    const snap = snapshotWithVectors0And5(target);
    using env = target.create({ devices: [{ address: '0000:01:00.0', group: 7, hostVectors: 2 }] });
    const errors: Error[] = [];
    using dev = assign(env, errors);
    const e = virtErrorThrownBy(() => dev.restore(snap));
    expect({ code: e.code, operation: e.operation }).toEqual({ code: 'EXHAUSTED', operation: 'AssignedPciDevice.restore' });
    expect(e.detail).toContain('Bound in vfio now: MSI-X vectors []');
    expect(errors).toEqual([]); // thrown, not (also) reported
    // The guest sees the snapshot; vfio has nothing bound and the device object says so.
    expect(dev.msix!.enabled).toBe(true);
    expect(dev.boundMsixVectors).toEqual([]);
    expect(env.model!.vfio.device().irq.mode).toBe('none');
    // The host frees vectors; the guest masks and unmasks vector 0: vfio is asked again.
    (env.model!.vfio.device() as { hostVectors: number }).hostVectors = 2048;
    maskVector(dev, 0, true);
    maskVector(dev, 0, false);
    expect(errors).toEqual([]);
    expect(dev.boundMsixVectors).toEqual([0, 5]);
    env.raiseMsix(0);
    env.raiseMsix(5);
    expect(env.irr()).toEqual(['0:80', '1:69']);
  });

  /**
   * A device whose host has 2 vectors, and a guest that programs the MSI block 0-3 at APIC 1, vector
   * 0x60 (64-bit layout: Data at +0xC), then sets Enable with MME = 2: vfio refuses the enable.
   */
  function msiEnableRefused(): { env: AssignedEnv; dev: AssignedPciDevice; errors: Error[]; vfio: { hostVectors: number; irq: { mode: string } }; cap: number; L: ReturnType<typeof logTaker> } {
    const env = target.create({ devices: [{ address: '0000:01:00.0', group: 7, hostVectors: 2 }] });
    const errors: Error[] = [];
    const dev = assign(env, errors);
    const vfio = env.model!.vfio.device() as { hostVectors: number; irq: { mode: string } };
    const cap = dev.msiCapability!;
    dev.configWrite(0x04, 2, 0x0006);
    dev.configWrite(cap + 4, 4, 0xfee01000);
    dev.configWrite(cap + 8, 4, 0);
    dev.configWrite(cap + 0xc, 2, 0x60);
    const L = logTaker(env);
    L.vfio();
    dev.configWrite(cap + 2, 2, 0x0021);
    expect(errors.map((e) => isVirtError(e) && e.code)).toEqual(['EXHAUSTED']);
    expect(vfio.irq.mode).not.toBe('msi');
    return { env, dev, errors, vfio, cap, L };
  }

  modelOnly(target, "the host's vector limit is the model's hostVectors")('MSI with too few host vectors, at the guest\'s MSI Enable and at restore: refused, then asked for again at the guest\'s next write to the MSI capability (no Enable change needed)', () => {
    const { env, dev, errors, vfio, cap, L } = msiEnableRefused();
    using _env = env;
    using _dev = dev;
    const snap = dev.save();
    // Still short: a write that changes nothing asks again, and is refused again.
    dev.configWrite(cap + 0xc, 2, 0x60);
    expect(errors.map((e) => isVirtError(e) && e.code)).toEqual(['EXHAUSTED', 'EXHAUSTED']);
    const enable = `SET_IRQS MSI start=0 [${dev.msiRoutes.slice(0, 4).map((r) => r.event.fd).join(',')}]`;
    expect(L.vfio()).toEqual([enable, enable]);
    // The host frees vectors; the guest rewrites Message Data: vfio enables the block, vector 3 is delivered.
    vfio.hostVectors = 2048;
    dev.configWrite(cap + 0xc, 2, 0x60);
    expect(vfio.irq.mode).toBe('msi');
    expect(errors).toHaveLength(2);
    env.raiseMsi(3);
    expect(env.irr()).toEqual(['1:99']);
    env.ack();

    // Restore onto a device that is short: EXHAUSTED thrown; the guest's next write asks again.
    using env2 = target.create({ devices: [{ address: '0000:01:00.0', group: 7, hostVectors: 2 }] });
    const errors2: Error[] = [];
    using dev2 = assign(env2, errors2);
    const vfio2 = env2.model!.vfio.device() as { hostVectors: number; irq: { mode: string } };
    const e = virtErrorThrownBy(() => dev2.restore(snap));
    expect({ code: e.code, operation: e.operation }).toEqual({ code: 'EXHAUSTED', operation: 'AssignedPciDevice.restore' });
    expect(dev2.msi!.enabled).toBe(true);
    expect(vfio2.irq.mode).not.toBe('msi');
    // A second restore of the same snapshot (Enable and the vectors granted unchanged) asks vfio again too.
    vfio2.hostVectors = 2048;
    dev2.restore(snap);
    expect(vfio2.irq.mode).toBe('msi');
    env2.raiseMsi(2);
    expect(env2.irr()).toEqual(['1:98']);
    expect(errors2).toEqual([]);
  });

  modelOnly(target, "the host's vector limit is the model's hostVectors")('a write that only partly reaches the MSI capability asks vfio again too (any size, any alignment)', () => {
    const writes: [string, (cap: number) => [number, number, number]][] = [
      ['a DWORD from Message Data past the capability', (cap) => [cap + 0xc, 4, 0x60]],
      ['a WORD from the byte before the capability', (cap) => [cap - 1, 2, 0x0500]],
      ['a byte of Message Data', (cap) => [cap + 0xd, 1, 0]],
    ];
    for (const [what, at] of writes) {
      const { env, dev, vfio, cap } = msiEnableRefused();
      using _env = env;
      using _dev = dev;
      vfio.hostVectors = 2048;
      const [offset, size, value] = at(cap);
      dev.configWrite(offset, size, value);
      expect({ what, mode: vfio.irq.mode }).toEqual({ what, mode: 'msi' });
      env.raiseMsi(1);
      expect({ what, irr: env.irr() }).toEqual({ what, irr: ['1:97'] });
    }
  });

  it('restore errors name AssignedPciDevice.restore and the field, and show the value', () => {
    using env = target.create();
    using dev = assign(env);
    msixDriverUp(dev, 0, 1, 0x45);
    const good = dev.save();
    const L = logTaker(env);
    L.vfio();
    const cases: [unknown, string][] = [
      [{ ...good, version: 3 }, 'state.version is 3 (0x3)'],
      [{ ...good, version: '2' }, 'state.version is "2"'],
      [{ ...good, msix: { ...good.msix!, pending: [0, 1, 2, 99] } }, 'state.msix.pending[3] is 99 (0x63)'],
      [{ ...good, msix: { ...good.msix!, pending: [2, 1] } }, 'state.msix.pending[1] is 1 after 2'],
      [{ ...good, msix: { ...good.msix!, version: 7 } }, 'state.msix.version is 7 (0x7)'],
      [{ ...good, bars: [0, 0, -1, 0, 0, 0] }, 'state.bars[2] is -1'],
      [{ ...good, bars: [0] }, 'state.bars must be an array of the six BAR registers, got [0]'],
      [{ ...good, msixLive: [2, 0] }, 'state.msixLive[1] is 0 (0x0) in [2,0]'],
      [{ ...good, msi: { ...good.msi!, pending: [0, 0] } }, 'state.msi.pending[1] is 0 after 0'],
      [[], 'got []'],
      [{ ...good, guestMemory: 1 }, "state (version 2) has unknown key 'guestMemory'"],
      [{ ...good, version: 1 }, "state (version 1) has unknown key 'msixLive'"],
      [{ ...good, msix: { ...good.msix!, extra: 1 } }, "state.msix has unknown key 'extra'"],
      [{ ...good, msi: { ...good.msi!, extra: 1 } }, "state.msi has unknown key 'extra'"],
    ];
    for (const [bad, words] of cases) {
      const e = virtErrorThrownBy(() => dev.restore(bad as AssignedPciDeviceState));
      expect({ code: e.code, operation: e.operation }).toEqual({ code: 'INVALID_ARGUMENT', operation: 'AssignedPciDevice.restore' });
      expect(e.message).toContain(words);
    }
    expect(L.vfio() ?? []).toEqual([]);
    expect(dev.save()).toEqual(good);
  });
});

describeAssignedTargets('assigned device: restore of a message the guest left invalid', (target) => {
  it('MSI-X: a vector unmasked with no message programmed is reported to onError as on the guest path; restore(save()) succeeds and the vector delivers once the guest programs it', () => {
    using env = target.create();
    const errors: Error[] = [];
    using dev = assign(env, errors);
    dev.configWrite(0x04, 2, 0x0006);
    msixControl(dev, true, false);
    maskVector(dev, 0, false); // unmasked at address 0: not an MSI
    expect(errors.map((e) => isVirtError(e) && e.code)).toEqual(['INVALID_MSI']);
    const snap = dev.save();
    dev.restore(snap);
    // The same report as the guest path's, from the restore; nothing thrown.
    expect(errors.map((e) => isVirtError(e) && e.code)).toEqual(['INVALID_MSI', 'INVALID_MSI']);
    expect(dev.save()).toEqual(snap);
    expect(dev.boundMsixVectors).toEqual([0]);
    // The guest programs vector 0: it delivers.
    programVector(dev, 0, 1, 0x45);
    env.raiseMsix(0);
    expect(env.irr()).toEqual(['1:69']);
    expect(errors).toHaveLength(2);
  });

  it('MSI: Enable with no message programmed is reported to onError as on the guest path; restore(save()) succeeds and the vector delivers once the guest programs it', () => {
    using env = target.create();
    const errors: Error[] = [];
    using dev = assign(env, errors);
    const cap = dev.msiCapability!;
    dev.configWrite(0x04, 2, 0x0006);
    dev.configWrite(cap + 2, 2, 0x0001);
    expect(errors.map((e) => isVirtError(e) && e.code)).toEqual(['INVALID_MSI']);
    const snap = dev.save();
    dev.restore(snap);
    expect(errors.map((e) => isVirtError(e) && e.code)).toEqual(['INVALID_MSI', 'INVALID_MSI']);
    expect(dev.save()).toEqual(snap);
    if (env.model) expect(env.model.vfio.device().irq.mode).toBe('msi');
    dev.configWrite(cap + 4, 4, 0xfee01000);
    dev.configWrite(cap + (dev.msi!.layout.address64 ? 0xc : 0x8), 2, 0x60);
    env.raiseMsi(0);
    expect(env.irr()).toEqual(['1:96']);
    expect(errors).toHaveLength(2);
  });

  modelOnly(target, 'the failing VFIO_DEVICE_SET_IRQS is injected into the model')('a kernel refusal in the same restore is still thrown, naming only the kernel\'s failure; the guest\'s invalid message goes to onError', () => {
    using env = target.create();
    const errors: Error[] = [];
    using dev = assign(env, errors);
    dev.configWrite(0x04, 2, 0x0006);
    msixControl(dev, true, false);
    maskVector(dev, 0, false);
    programVector(dev, 1, 1, 0x46);
    errors.length = 0;
    const snap = dev.save();
    const bridge = env.model!.bridge as unknown as { ioctl: (fd: number, request: { name: string }, arg?: number | Uint8Array) => number };
    const original = bridge.ioctl.bind(bridge);
    // EIO for every MSI-X enable: the kernel refuses what the restore asks of it.
    bridge.ioctl = (fd, request, arg) => (request.name === 'VFIO_DEVICE_SET_IRQS' && arg instanceof Uint8Array && arg[8] === 2 && arg[16] !== 0 ? -5 : original(fd, request, arg));
    let e;
    try {
      e = virtErrorThrownBy(() => dev.restore(snap));
    } finally {
      bridge.ioctl = original;
    }
    expect({ code: e.code, errno: e.errno, operation: e.operation }).toEqual({ code: 'SYSCALL', errno: 5, operation: 'AssignedPciDevice.restore' });
    expect(e.detail).toContain('the kernel refused part of it: MSI-X restore: ioctl(VFIO_DEVICE_SET_IRQS, MSI-X enable)');
    expect(e.detail).not.toContain('IrqFdRoute');
    expect(errors.map((x) => isVirtError(x) && x.code)).toEqual(['INVALID_MSI']);
    expect(dev.boundMsixVectors).toEqual([]);
  });

  modelOnly(target, 'the failing KVM_SET_GSI_ROUTING is injected into the KVM model')('a route update the hypervisor refuses (an errno) during a restore onto another device is thrown, not reported', () => {
    let snap: AssignedPciDeviceState;
    {
      using env = target.create();
      using dev = assign(env);
      msixDriverUp(dev, 0, 1, 0x45);
      snap = dev.save();
    }
    using env = target.create();
    const errors: Error[] = [];
    using dev = assign(env, errors);
    const kvm = env.model!.kvm as unknown as { ioctl: (fd: number, request: { name: string }, arg?: number | Uint8Array) => number };
    const original = kvm.ioctl.bind(kvm);
    kvm.ioctl = (fd, request, arg) => (request.name === 'KVM_SET_GSI_ROUTING' ? -12 : original(fd, request, arg));
    let e;
    try {
      e = virtErrorThrownBy(() => dev.restore(snap));
    } finally {
      kvm.ioctl = original;
    }
    expect({ errno: e.errno, operation: e.operation }).toEqual({ errno: 12, operation: 'AssignedPciDevice.restore' });
    expect(e.detail).toContain('the kernel refused part of it');
    expect(errors).toEqual([]);
  });
});

describeAssignedTargets('assigned device: disposed from inside onError while a guest access or a restore is under way', (target) => {
  const dword = (v: number): Uint8Array => new Uint8Array(new Uint32Array([v]).buffer);

  /** An assigned device whose onError records each code and, at the first report, disposes what `victim` names. */
  function disposedByOnError(env: AssignedEnv, victim: 'assigned' | 'device'): { dev: AssignedPciDevice; errors: string[] } {
    const errors: string[] = [];
    const dev: AssignedPciDevice = AssignedPciDevice.create({
      device: env.device,
      irqfd: env.vm.irqfd()!,
      onError: (e) => {
        errors.push(isVirtError(e) ? e.code : String(e));
        if (errors.length === 1) (victim === 'device' ? env.device : dev).dispose();
      },
    });
    return { dev, errors };
  }

  for (const what of ['the AssignedPciDevice', 'its VfioDevice'] as const) {
    it(`a guest write whose failure makes onError dispose ${what} issues nothing more: no SET_IRQS after the dispose, no second report, vfio's MSI-X off`, () => {
      using env = target.create();
      const L = logTaker(env);
      const { dev, errors } = disposedByOnError(env, what === 'its VfioDevice' ? 'device' : 'assigned');
      const { tableBir, tableOffset } = dev.msix!.layout;
      dev.configWrite(0x04, 2, 0x0006);
      dev.configWrite(dev.msixCapability! + 2, 2, 0x8000); // MSI-X Enable, no Function Mask
      L.vfio();
      // Vector 0 unmasked with no message: the route refuses it (INVALID_MSI), and onError disposes.
      dev.barWrite(tableBir, tableOffset + 12, dword(0));
      expect(errors).toEqual(['INVALID_MSI']);
      expect(dev.isDisposed).toBe(true);
      if (env.model) {
        const log = L.vfio()!;
        // Whatever the dispose itself did, nothing after it: its last SET_IRQS is the MSI-X disable (if any).
        const setIrqs = log.filter((l) => l.includes('SET_IRQS'));
        expect(setIrqs.filter((l) => !/none|count=0/.test(l))).toEqual([]);
        expect(env.model.vfio.device().irq.mode).toBe('none');
        expect(env.model.vfio.hazards).toEqual([]);
      }
      // Guest accesses after it read all ones and change nothing.
      const out = new Uint8Array(4);
      dev.barRead(tableBir, tableOffset, out);
      expect(Array.from(out)).toEqual([0xff, 0xff, 0xff, 0xff]);
    });
  }

  it('a restore during which onError disposes the device throws DISPOSED, and issues nothing after the dispose', () => {
    using env = target.create();
    const state = (() => {
      using first = assign(env);
      msixDriverUp(first, 0, 1, 0x45);
      // Vector 1 unmasked with no message: its restore reports INVALID_MSI to onError.
      first.barWrite(first.msix!.layout.tableBir, first.msix!.layout.tableOffset + 16 + 12, dword(0));
      return JSON.parse(JSON.stringify(first.save())) as AssignedPciDeviceState;
    })();
    const L = logTaker(env);
    const { dev, errors } = disposedByOnError(env, 'assigned');
    L.vfio();
    const e = virtErrorThrownBy(() => dev.restore(state));
    expect([e.code, e.operation]).toEqual(['DISPOSED', 'AssignedPciDevice.restore']);
    expect(errors).toEqual(['INVALID_MSI']);
    if (env.model) {
      expect(env.model.vfio.device().irq.mode).toBe('none');
      expect(env.model.vfio.hazards).toEqual([]);
      const log = L.vfio()!;
      const afterDisable = log.slice(log.map((l) => l.includes('SET_IRQS') && /none|count=0/.test(l)).lastIndexOf(true) + 1);
      expect(afterDisable.filter((l) => l.includes('SET_IRQS'))).toEqual([]);
    }
  });
});
