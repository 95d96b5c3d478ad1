/**
 * The guest-driver-like sequence on an assigned device (the model device: MSI-X with 8 vectors,
 * table in BAR 2 at 0 and PBA at 0x2000; a 64-bit MSI capability with 4 vectors): every
 * interrupt the device raises arrives exactly once at the right vCPU and vector, and the VFIO and
 * KVM calls made are exactly the ones listed at each step (on the model, where they are logged).
 * GSIs 24 and up are the KVM backend's, given in the order routes get a message; the routing
 * table's 40 entries are KVM_CREATE_IRQCHIP's defaults.
 */
import { AssignedPciDevice, type AssignedPciDeviceState } from '../src';
import { assign, type AssignedEnv, type AssignedTarget, describeAssignedTargets } from './support/assigned-targets';
import { deliveryCheck, driverState, logTaker, maskVector, msiAddress, msixControl, msixDriverUp, pba, programVector } from './support/guest';

/** Checks the step's logs (model only) and what the guest's local APICs got. */
function stepper(env: AssignedEnv) {
  const L = logTaker(env);
  const delivered = deliveryCheck(env);
  return (what: string, expected: { vfio?: string[]; kvm?: string[]; irr?: string[]; delivered?: number }): void => {
    const vfio = L.vfio();
    const kvm = L.kvm();
    if (vfio !== undefined) expect({ what, vfio }).toEqual({ what, vfio: expected.vfio ?? [] });
    if (kvm !== undefined) expect({ what, kvm }).toEqual({ what, kvm: expected.kvm ?? [] });
    delivered(what, expected.irr ?? [], expected.delivered ?? 0);
  };
}

/**
 * A snapshot (through JSON, as a migration carries it) of a device whose MSI-X vectors 0 and 3 are
 * live, 3 masked at save with nothing pending; the device it was taken on is gone after.
 */
function savedWithVector3LiveMasked(target: AssignedTarget): ReturnType<AssignedPciDevice['save']> {
  using a = target.create();
  using dev = AssignedPciDevice.create({ device: a.device, irqfd: a.vm.irqfd()!, onError: (e) => { throw e; } });
  msixDriverUp(dev, 0, 0, 0x41);
  programVector(dev, 3, 1, 0x43);
  maskVector(dev, 3, true);
  return JSON.parse(JSON.stringify(dev.save())) as ReturnType<AssignedPciDevice['save']>;
}

/**
 * `state` restored onto a fresh device of `target` (not the one it was saved on, as after a
 * migration), its errors collected; the step checks start just before the restore, so the first
 * step sees the restore's calls. Disposing it (or a failed restore) disposes the device, then the
 * environment.
 */
function restoredOnFresh(target: AssignedTarget, state: AssignedPciDeviceState): Disposable & { env: AssignedEnv; dev: AssignedPciDevice; errors: Error[]; step: ReturnType<typeof stepper> } {
  const env = target.create();
  try {
    const errors: Error[] = [];
    const dev = assign(env, errors);
    try {
      const step = stepper(env);
      dev.restore(state);
      const dispose = (): void => {
        dev.dispose();
        env[Symbol.dispose]();
      };
      return { env, dev, errors, step, [Symbol.dispose]: dispose };
    } catch (e) {
      dev.dispose();
      throw e;
    }
  } catch (e) {
    env[Symbol.dispose]();
    throw e;
  }
}

describeAssignedTargets('assigned device: the guest driver sequence', (target) => {
  it('MSI-X: enable with Function Mask, program, unmask, raise, mask, raise, PBA, unmask, retarget, grow, disable', () => {
    using env = target.create();
    const errors: Error[] = [];
    using dev = assign(env, errors);
    const fd = (v: number) => dev.msixRoutes[v]!.event.fd!;
    const gsis = new Map<number, number>();
    /** The GSI of vector v's route (remembered: a deassigned irqfd has none in the model). */
    const gsi = (v: number) => {
      const g = env.model?.kvm.irqfdGsi(fd(v));
      if (g !== undefined) gsis.set(v, g);
      return gsis.get(v);
    };
    const step = stepper(env);
    step('create', {});
    dev.configWrite(0x04, 2, 0x0006); // Memory Space + Bus Master
    step('command', {});

    msixControl(dev, true, true);
    expect(dev.configRead(dev.msixCapability! + 2, 2) & 0xc000).toBe(0xc000);
    step('Enable with Function Mask: MSI-X on in vfio, no vector bound yet', { vfio: ['SET_IRQS MSIX start=0 [-1]'], kvm: [] });

    programVector(dev, 0, 0, 0x41);
    programVector(dev, 1, 1, 0x42);
    step('program under Function Mask: nothing reaches vfio or KVM', { vfio: [], kvm: [] });

    msixControl(dev, true, false);
    step('Function Mask cleared: vectors 0 and 1 bound (beyond the 1-vector block: re-enabled, NORESIZE)', {
      vfio: ['SET_IRQS MSIX start=0 none count=0', `SET_IRQS MSIX start=0 [${fd(0)},${fd(1)}]`],
      kvm: ['KVM_SET_GSI_ROUTING n=42', `KVM_IRQFD assign gsi=${gsi(0)}`, `KVM_IRQFD assign gsi=${gsi(1)}`],
    });
    if (env.model) {
      expect(env.model.bridge.isTrigger(fd(0), 'msix', 0)).toBe(true);
      expect(env.model.bridge.isTrigger(fd(1), 'msix', 1)).toBe(true);
    }

    env.raiseMsix(0);
    env.raiseMsix(1);
    step('the device raises 0 and 1', { kvm: [], irr: ['0:65', '1:66'], delivered: 2 });

    maskVector(dev, 0, true);
    step('mask vector 0: the irqfd is detached, vfio untouched', { vfio: [], kvm: [`KVM_IRQFD deassign gsi=${gsi(0)}`] });
    env.raiseMsix(0);
    step('raise while masked: nothing delivered', { kvm: [] });
    expect(pba(dev)).toBe(1);
    step('PBA read shows it', {});
    maskVector(dev, 0, false);
    step('unmask: the pending interrupt is delivered once', { vfio: [], kvm: [`KVM_IRQFD assign gsi=${gsi(0)}`], irr: ['0:65'], delivered: 1 });
    expect(pba(dev)).toBe(0);

    programVector(dev, 1, 0, 0x51);
    const route1 = env.model?.kvm.msiRoutes().get(gsi(1)!);
    if (env.model) expect(route1).toEqual({ addressLo: msiAddress(0), addressHi: 0, data: 0x51 });
    step('retarget vector 1 to vCPU 0 vector 0x51: the KVM route changes, vfio does not', {
      vfio: [],
      kvm: [`KVM_IRQFD deassign gsi=${gsi(1)}`, 'KVM_SET_GSI_ROUTING n=42', `KVM_IRQFD assign gsi=${gsi(1)}`],
    });
    env.raiseMsix(1);
    step('raise 1 after the retarget', { irr: ['0:81'], delivered: 1 });

    // Growth with NORESIZE: an interrupt latched in a masked vector's eventfd survives the re-enable.
    maskVector(dev, 0, true);
    env.raiseMsix(0);
    step('vector 0 masked with an interrupt latched', { kvm: [`KVM_IRQFD deassign gsi=${gsi(0)}`] });
    programVector(dev, 5, 1, 0x55);
    step('first unmask of vector 5: disable and re-enable with every bound eventfd', {
      vfio: ['SET_IRQS MSIX start=0 none count=0', `SET_IRQS MSIX start=0 [${fd(0)},${fd(1)},-1,-1,-1,${fd(5)}]`],
      kvm: ['KVM_SET_GSI_ROUTING n=43', 'KVM_IRQFD assign gsi=26'],
    });
    maskVector(dev, 0, false);
    step('unmask 0: the latched interrupt arrives once', { kvm: [`KVM_IRQFD assign gsi=${gsi(0)}`], irr: ['0:65'], delivered: 1 });
    env.raiseMsix(5);
    step('vector 5 delivers', { irr: ['1:85'], delivered: 1 });

    msixControl(dev, false, false);
    step('MSI-X disabled: vfio frees every vector; the irqfds go, the routing table shrinks to the 40 default entries', {
      vfio: ['SET_IRQS MSIX start=0 none count=0'],
      kvm: ['KVM_IRQFD deassign gsi=24', 'KVM_IRQFD deassign gsi=25', 'KVM_IRQFD deassign gsi=26', 'KVM_SET_GSI_ROUTING n=40'],
    });
    env.raiseMsix(0);
    step('nothing is delivered after disable', {});
    expect(dev.boundMsixVectors).toEqual([]);
    expect(errors).toEqual([]);
    if (env.model) {
      dev.dispose();
      env.model.bridge.pump();
      expect(env.model.vfio.hazards).toEqual([]);
      expect(env.model.kvm.hazards).toEqual([]);
    }
  });

  it('plain MSI: a 4-message block, enabled in vfio with exactly the vectors granted', () => {
    using env = target.create();
    const errors: Error[] = [];
    using dev = assign(env, errors);
    const fd = (v: number) => dev.msiRoutes[v]!.event.fd!;
    const step = stepper(env);
    dev.configWrite(0x04, 2, 0x0006);
    if (!dev.msi || dev.msi.vectors < 4) return; // a real device without a 4-vector MSI block cannot show it
    const MSI_CAP = dev.msiCapability!;
    const dataAt = dev.msi.layout.address64 ? 12 : 8;
    // Linux's msi_capability_init order (docs/interfaces/pci-msi.md, "Masking and pending").
    const control = dev.configRead(MSI_CAP + 2, 2);
    if (env.model) expect(control & 0x0e).toBe(2 << 1); // Multiple Message Capable: 4 (from IRQ_INFO, not vfio's msi_qmax)
    dev.configWrite(MSI_CAP + 2, 2, control & ~1);
    dev.configWrite(MSI_CAP + 2, 2, (control & ~0x71) | (2 << 4));
    dev.configWrite(MSI_CAP + 4, 4, msiAddress(1));
    if (dev.msi.layout.address64) dev.configWrite(MSI_CAP + 8, 4, 0);
    dev.configWrite(MSI_CAP + dataAt, 2, 0x60);
    step('programmed, not enabled', { vfio: [] });
    dev.configWrite(MSI_CAP + 2, 2, (control & ~0x71) | (2 << 4) | 1);
    step('MSI Enable: the MSI index enabled with the 4 granted vectors', {
      vfio: [`SET_IRQS MSI start=0 [${fd(0)},${fd(1)},${fd(2)},${fd(3)}]`],
      kvm: ['KVM_SET_GSI_ROUTING n=44', 'KVM_IRQFD assign gsi=24', 'KVM_IRQFD assign gsi=25', 'KVM_IRQFD assign gsi=26', 'KVM_IRQFD assign gsi=27'],
    });
    for (let k = 0; k < 4; k++) env.raiseMsi(k);
    step('each vector of the block raised once', { irr: ['1:96', '1:97', '1:98', '1:99'], delivered: 4 });
    dev.configWrite(MSI_CAP + 2, 2, (control & ~0x71) | (1 << 4) | 1);
    step('MME 4 -> 2 with Enable on: vfio cannot resize MSI, so disable and enable 2', {
      vfio: ['SET_IRQS MSI start=0 none count=0', `SET_IRQS MSI start=0 [${fd(0)},${fd(1)}]`],
      kvm: ['KVM_IRQFD deassign gsi=26', 'KVM_IRQFD deassign gsi=27', 'KVM_SET_GSI_ROUTING n=42'],
    });
    env.raiseMsi(1);
    step('vector 1 of the 2-block', { irr: ['1:97'], delivered: 1 });
    dev.configWrite(MSI_CAP + 2, 2, control & ~1);
    step('MSI Enable cleared', { vfio: ['SET_IRQS MSI start=0 none count=0'], kvm: ['KVM_IRQFD deassign gsi=24', 'KVM_IRQFD deassign gsi=25', 'KVM_SET_GSI_ROUTING n=40'] });
    expect(errors).toEqual([]);
  });

  it('function reset: MSI-X back to power-on, every route masked, nothing stale delivered', () => {
    using env = target.create();
    const errors: Error[] = [];
    using dev = assign(env, errors);
    const step = stepper(env);
    driverState(env, dev);
    step('vector 0 bound, masked, one interrupt pending', {
      vfio: ['SET_IRQS MSIX start=0 [-1]', `SET_IRQS MSIX start=0 [${dev.msixRoutes[0]!.event.fd}]`],
      kvm: ['KVM_SET_GSI_ROUTING n=41', 'KVM_IRQFD assign gsi=24', 'KVM_IRQFD deassign gsi=24'],
    });
    const resetsBefore = env.model?.vfio.device().resets ?? 0;
    dev.reset();
    step('reset: vfio MSI-X disabled, then the device reset; the routes lose their messages', { vfio: ['SET_IRQS MSIX start=0 none count=0', 'DEVICE_RESET'], kvm: ['KVM_SET_GSI_ROUTING n=40'] });
    if (env.model) expect(env.model.vfio.device().resets).toBe(resetsBefore + 1);
    expect(dev.msix!.enabled).toBe(false);
    expect(dev.configRead(0x10, 4)).toBe(0); // BAR back to unprogrammed
    expect(dev.msixRoutes.every((r) => r.masked && r.msi === undefined)).toBe(true);
    expect(dev.msiRoutes.every((r) => r.masked && r.msi === undefined)).toBe(true);
    // The guest sets MSI-X up again: the pre-reset interrupt must not arrive.
    msixDriverUp(dev, 0, 0, 0x41);
    expect(pba(dev)).toBe(0);
    step('re-enabled after reset: nothing stale delivered', {
      vfio: ['SET_IRQS MSIX start=0 [-1]', `SET_IRQS MSIX start=0 [${dev.msixRoutes[0]!.event.fd}]`],
      kvm: ['KVM_SET_GSI_ROUTING n=41', 'KVM_IRQFD assign gsi=24'],
    });
    env.raiseMsix(0);
    step('a new interrupt is delivered', { irr: ['0:65'], delivered: 1 });
    expect(errors).toEqual([]);
  });

  it('save/restore onto a new device and partition keeps pending and masked interrupts', () => {
    let state: ReturnType<AssignedPciDevice['save']>;
    {
      using env = target.create();
      using dev = AssignedPciDevice.create({ device: env.device, irqfd: env.vm.irqfd()!, onError: (e) => { throw e; } });
      dev.configWrite(0x04, 2, 0x0006);
      dev.configWrite(0x18, 4, 0xfe000000);
      msixControl(dev, true, false);
      programVector(dev, 0, 0, 0x41);
      programVector(dev, 1, 1, 0x42);
      maskVector(dev, 1, true);
      env.raiseMsix(1);
      programVector(dev, 2, 1, 0x43, false); // programmed, never unmasked
      state = JSON.parse(JSON.stringify(dev.save())) as typeof state;
      expect(state.msix!.pending).toEqual([1]);
    }
    using restored = restoredOnFresh(target, state);
    const { env, dev, errors, step } = restored;
    const fd = (v: number) => dev.msixRoutes[v]!.event.fd!;
    expect(state.msixLive).toEqual([0, 1]);
    step('restore: MSI-X enabled in vfio with the live vectors (1 is masked but was live); routes of all three programmed vectors', {
      vfio: [`SET_IRQS MSIX start=0 [${fd(0)},${fd(1)}]`],
      kvm: ['KVM_SET_GSI_ROUTING n=43', 'KVM_IRQFD assign gsi=24'],
    });
    expect(dev.configRead(0x18, 4)).toBe(0xfe000004);
    expect(dev.configRead(0x04, 2) & 0x6).toBe(0x6);
    expect(pba(dev)).toBe(0b10);
    expect(dev.msix!.isMasked(1)).toBe(true);
    env.raiseMsix(0);
    step('vector 0 delivers', { irr: ['0:65'], delivered: 1 });
    maskVector(dev, 1, false);
    step('unmasking 1 (bound already) delivers the saved pending interrupt once', {
      vfio: [],
      kvm: ['KVM_IRQFD assign gsi=25'],
      irr: ['1:66'],
      delivered: 1,
    });
    expect(pba(dev)).toBe(0);
    expect(errors).toEqual([]);
  });

  it('restore onto the same device under Function Mask keeps a live vector bound: a raise latches, the PBA shows it, clearing the mask delivers it once', () => {
    using env = target.create();
    const errors: Error[] = [];
    using dev = assign(env, errors);
    msixDriverUp(dev, 6, 0, 0x46);
    expect(dev.boundMsixVectors).toEqual([6]);
    msixControl(dev, true, true);
    dev.restore(dev.save());
    expect(dev.boundMsixVectors).toEqual([6]);
    env.raiseMsix(6);
    expect(env.irr()).toEqual([]);
    expect(pba(dev)).toBe(1 << 6);
    msixControl(dev, true, false);
    expect(env.irr()).toEqual(['0:70']);
    expect(errors).toEqual([]);
  });

  it('a snapshot restored onto another device keeps the live vector set: a raise on a vector masked at save latches in the PBA and is delivered once on unmask', () => {
    const state = savedWithVector3LiveMasked(target);
    expect(state.version).toBe(2);
    expect(state.msixLive).toEqual([0, 3]);
    expect(state.msix!.pending).toEqual([]);
    using restored = restoredOnFresh(target, state);
    const { env: b, dev, errors, step } = restored;
    const fd = (v: number) => dev.msixRoutes[v]!.event.fd!;
    step('restore on device B: MSI-X enabled with vectors 0 and 3 bound in one call', { vfio: [`SET_IRQS MSIX start=0 [${fd(0)},-1,-1,${fd(3)}]`], kvm: ['KVM_SET_GSI_ROUTING n=42', 'KVM_IRQFD assign gsi=24'] });
    expect(dev.boundMsixVectors).toEqual([0, 3]);
    if (b.model) expect(b.model.bridge.isTrigger(fd(3), 'msix', 3)).toBe(true);
    b.raiseMsix(3);
    step('B raises 3, masked: nothing delivered', {});
    expect(pba(dev)).toBe(1 << 3);
    maskVector(dev, 3, false);
    step('unmask 3: delivered exactly once, vfio untouched', { vfio: [], kvm: ['KVM_IRQFD assign gsi=25'], irr: ['1:67'], delivered: 1 });
    expect(pba(dev)).toBe(0);
    b.raiseMsix(3);
    step('and again after', { irr: ['1:67'], delivered: 1 });
    expect(errors).toEqual([]);
  });

  it('a version-1 snapshot (no live set) is still restored: only the vectors it lets deliver are bound', () => {
    const state = savedWithVector3LiveMasked(target);
    const { msixLive: _live, ...rest } = state;
    const v1 = { ...rest, version: 1 } as unknown as typeof state;
    using b = target.create();
    const errors: Error[] = [];
    using dev = assign(b, errors);
    dev.restore(v1);
    expect(dev.boundMsixVectors).toEqual([0]);
    expect(dev.msix!.isMasked(3)).toBe(true);
    expect(dev.save().msixLive).toEqual([0]);
    expect(errors).toEqual([]);
  });

  it('plain MSI restored onto another device: the granted block is enabled, every vector delivers', () => {
    let state: ReturnType<AssignedPciDevice['save']>;
    let cap = 0;
    {
      using a = target.create();
      using dev = AssignedPciDevice.create({ device: a.device, irqfd: a.vm.irqfd()!, onError: (e) => { throw e; } });
      if (!dev.msi || dev.msi.vectors < 4) return; // a real device without a 4-vector MSI block cannot show it
      cap = dev.msiCapability!;
      dev.configWrite(0x04, 2, 0x0006);
      dev.configWrite(cap + 4, 4, msiAddress(1));
      if (dev.msi.layout.address64) dev.configWrite(cap + 8, 4, 0);
      dev.configWrite(cap + (dev.msi.layout.address64 ? 12 : 8), 2, 0x60);
      dev.configWrite(cap + 2, 2, (2 << 4) | 1);
      state = JSON.parse(JSON.stringify(dev.save())) as typeof state;
    }
    using restored = restoredOnFresh(target, state);
    const { env: b, dev, errors, step } = restored;
    const fd = (v: number) => dev.msiRoutes[v]!.event.fd!;
    step('restore on device B: the MSI index enabled with the 4 granted vectors', {
      vfio: [`SET_IRQS MSI start=0 [${fd(0)},${fd(1)},${fd(2)},${fd(3)}]`],
      kvm: ['KVM_SET_GSI_ROUTING n=44', 'KVM_IRQFD assign gsi=24', 'KVM_IRQFD assign gsi=25', 'KVM_IRQFD assign gsi=26', 'KVM_IRQFD assign gsi=27'],
    });
    expect(dev.configRead(cap + 2, 2) & 0x71).toBe((2 << 4) | 1);
    for (let k = 0; k < 4; k++) b.raiseMsi(k);
    step('each vector of the block delivered once', { irr: ['1:96', '1:97', '1:98', '1:99'], delivered: 4 });
    expect(errors).toEqual([]);
  });

  it('plain MSI restored onto the same device follows the emulator\'s onControl: the block unchanged stays bound, a different one is re-enabled', () => {
    using env = target.create();
    const errors: Error[] = [];
    using dev = assign(env, errors);
    if (!dev.msi || dev.msi.vectors < 4) return; // a real device without a 4-vector MSI block cannot show it
    const cap = dev.msiCapability!;
    const fd = (v: number) => dev.msiRoutes[v]!.event.fd!;
    dev.configWrite(0x04, 2, 0x0006);
    dev.configWrite(cap + 4, 4, msiAddress(1));
    if (dev.msi.layout.address64) dev.configWrite(cap + 8, 4, 0);
    dev.configWrite(cap + (dev.msi.layout.address64 ? 12 : 8), 2, 0x60);
    dev.configWrite(cap + 2, 2, (2 << 4) | 1);
    const four = dev.save();
    const step = stepper(env);
    step('MSI enabled with 4 vectors', { vfio: [`SET_IRQS MSI start=0 [${fd(0)},${fd(1)},${fd(2)},${fd(3)}]`], kvm: ['KVM_SET_GSI_ROUTING n=44', 'KVM_IRQFD assign gsi=24', 'KVM_IRQFD assign gsi=25', 'KVM_IRQFD assign gsi=26', 'KVM_IRQFD assign gsi=27'] });
    dev.restore(four);
    // The emulator's restore drops what the routes had latched (each irqfd deassigned and assigned again); vfio is not called.
    step('restore of the same block: vfio untouched', {
      vfio: [],
      kvm: [0, 1, 2, 3].map((k) => `KVM_IRQFD deassign gsi=${24 + k}`).concat([0, 1, 2, 3].map((k) => `KVM_IRQFD assign gsi=${24 + k}`)),
    });
    dev.configWrite(cap + 2, 2, (1 << 4) | 1);
    step('the guest shrinks the block to 2', { vfio: ['SET_IRQS MSI start=0 none count=0', `SET_IRQS MSI start=0 [${fd(0)},${fd(1)}]`], kvm: ['KVM_IRQFD deassign gsi=26', 'KVM_IRQFD deassign gsi=27', 'KVM_SET_GSI_ROUTING n=42'] });
    dev.restore(four);
    step('restore of the 4-block: disabled and enabled with 4', {
      vfio: ['SET_IRQS MSI start=0 none count=0', `SET_IRQS MSI start=0 [${fd(0)},${fd(1)},${fd(2)},${fd(3)}]`],
      kvm: ['KVM_IRQFD deassign gsi=24', 'KVM_IRQFD deassign gsi=25', 'KVM_SET_GSI_ROUTING n=44', 'KVM_IRQFD assign gsi=24', 'KVM_IRQFD assign gsi=25', 'KVM_IRQFD assign gsi=26', 'KVM_IRQFD assign gsi=27'],
    });
    for (let k = 0; k < 4; k++) env.raiseMsi(k);
    step('each vector delivered once', { irr: ['1:96', '1:97', '1:98', '1:99'], delivered: 4 });
    expect(errors).toEqual([]);
  });
});
