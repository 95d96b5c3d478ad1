/**
 * INTx of an assigned device (the model device: INTA, Interrupt Line 0 at power-on) on both
 * paths: a level irqfd with resample (the test-support level route, which behaves as KVM's) and
 * user space (the VMM's own interrupt controller, driven through `onLevel` and `intxEoi`). The
 * VFIO calls are asserted exactly where the model logs them; the line is what the guest's
 * interrupt controller sees; `deliveries` counts its rising edges (one interrupt each).
 */
import type { EventFd } from '@tsvmm/linux-sys';
import { VirtError } from '@tsvmm/virt';
import { AssignedPciDevice, type AssignedPciDeviceState } from '../src';
import { type AssignedEnv, type AssignedTarget, describeAssignedTargets } from './support/assigned-targets';
import { logTaker, msiAddress, msixControl } from './support/guest';
import type { TestLevelRoute } from './support/level-route';

const GSI = 11;
const INTX_DISABLE = 0x400;

let skipReported = false;
/** `it` where the target can drive INTx; elsewhere one loud skip with the reason. */
function itIntx(target: AssignedTarget): (title: string, body: () => void) => void {
  const why = target.intxAbsence;
  if (why === undefined) return (title, body) => it(title, body);
  if (!skipReported) {
    process.stderr.write(`SKIPPED the real-device half of the INTx tests: ${why}\n`);
    skipReported = true;
  }
  return (title, body) => it.skip(`${title} — needs ${why}`, body);
}

type Intx = NonNullable<AssignedEnv['intx']>;

function irqfdDevice(env: AssignedEnv, onError?: (e: Error) => void): { dev: AssignedPciDevice; intx: Intx; route: () => TestLevelRoute } {
  const intx = env.intx!;
  const dev = AssignedPciDevice.create({
    device: env.device,
    irqfd: env.vm.irqfd()!,
    intx: { mode: 'irqfd', gsi: GSI, newLevelRoute: intx.routes.newLevelRoute },
    ...(onError ? { onError } : {}),
  });
  return { dev, intx, route: () => intx.routes.on(GSI)! };
}

const enableLog = (r: TestLevelRoute): string[] => [
  `SET_IRQS INTX start=0 [${r.event.fd}]`,
  'SET_IRQS INTX mask start=0 none count=1',
  `SET_IRQS INTX unmask start=0 [${r.resample.fd}]`,
  'SET_IRQS INTX unmask start=0 none count=1',
];

describeAssignedTargets('assigned device INTx through a level irqfd with resample', (target) => {
  const itI = itIntx(target);

  itI('is enabled at create as QEMU does with KVM: TRIGGER, MASK, UNMASK with the resample eventfd, UNMASK', () => {
    using env = target.create();
    const { dev, route } = irqfdDevice(env);
    using _ = dev;
    const r = route();
    expect(dev.intxPin).toBe(1);
    expect(dev.intxMode).toBe('irqfd');
    expect(dev.intxRoute).toBe(r);
    expect(env.model!.bridge.vfioLog).toEqual(enableLog(r));
    expect(env.model!.bridge.isTrigger(r.event.fd, 'intx', 0)).toBe(true);
    expect(env.model!.vfio.device().irq.unmaskFd).toBeDefined();
    expect(env.model!.vfio.device().irq.intxMasked).toBe(false);
  });

  itI('the guest driver sequence: one interrupt per assertion, nothing more before the EOI, re-raised at the EOI while the device still asserts', () => {
    using env = target.create();
    const { dev, intx, route } = irqfdDevice(env);
    using _ = dev;
    const r = route();
    const L = logTaker(env);
    L.vfio();
    dev.configWrite(0x3c, 1, GSI); // the guest's firmware writes the routing into Interrupt Line
    expect(r.line).toBe(false);
    intx.assert();
    expect(r.line).toBe(true);
    expect(r.deliveries).toBe(1);
    expect(dev.configRead(0x06, 2) & 0x08).toBe(0x08); // Status: Interrupt Status, from the device
    intx.assert();
    intx.assert();
    expect(r.line).toBe(true);
    expect(r.deliveries).toBe(1); // automasked in vfio and Remote IRR in the IOAPIC: nothing more
    // EOI before the driver cleared the cause: the device still asserts, the line rises again.
    expect(r.ack()).toBe(true);
    expect(r.line).toBe(true);
    expect(r.deliveries).toBe(2);
    // The driver clears the cause, then the EOI: the line stays low and vfio unmasks.
    intx.deassert();
    expect(dev.configRead(0x06, 2) & 0x08).toBe(0);
    expect(r.ack()).toBe(true);
    expect(r.line).toBe(false);
    expect(r.deliveries).toBe(2);
    expect(env.model!.vfio.device().irq.intxMasked).toBe(false);
    intx.assert();
    expect(r.line).toBe(true);
    expect(r.deliveries).toBe(3);
    expect(L.vfio()).toEqual([]); // the whole cycle runs without a VFIO call from user space
    expect(dev.configRead(0x3c, 1)).toBe(GSI);
    expect(dev.errorCount).toBe(0);
  });

  itI('Command INTx Disable while asserted drops the line at the EOI and keeps it low; clearing it re-raises', () => {
    using env = target.create();
    const { dev, intx, route } = irqfdDevice(env);
    using _ = dev;
    const r = route();
    intx.assert();
    expect(r.line).toBe(true);
    dev.configWrite(0x04, 2, INTX_DISABLE | 0x06);
    expect(dev.configRead(0x04, 2) & INTX_DISABLE).toBe(INTX_DISABLE);
    // The line the guest sees is KVM's latch: it falls at the EOI, and vfio does not unmask while INTx Disable is set.
    expect(r.ack()).toBe(true);
    expect(r.line).toBe(false);
    intx.assert();
    expect(r.line).toBe(false);
    expect(r.deliveries).toBe(1);
    dev.configWrite(0x05, 1, 0x00); // byte write of Command's high byte clears INTx Disable
    expect(dev.configRead(0x04, 2) & INTX_DISABLE).toBe(0);
    expect(r.line).toBe(true);
    expect(r.deliveries).toBe(2);
    // Set and cleared with nothing asserted: nothing is delivered, and the next assertion is.
    intx.deassert();
    expect(r.ack()).toBe(true);
    dev.configWrite(0x05, 1, 0x04);
    dev.configWrite(0x05, 1, 0x00);
    expect(r.line).toBe(false);
    intx.assert();
    expect(r.line).toBe(true);
    expect(r.deliveries).toBe(3);
  });

  itI('MSI Enable disables INTx in vfio first (the line drops); MSI off brings INTx back, and a device still asserting is delivered', () => {
    using env = target.create();
    const { dev, intx, route } = irqfdDevice(env);
    using _ = dev;
    const first = route();
    intx.assert();
    expect(first.line).toBe(true);
    const L = logTaker(env);
    L.vfio();
    const ctrl = dev.msiCapability! + 2;
    dev.configWrite(dev.msiCapability! + 4, 4, msiAddress(0));
    dev.configWrite(dev.msiCapability! + 12, 2, 0x45);
    L.vfio();
    dev.configWrite(ctrl, 2, 0x0001); // MSI Enable, one vector
    const msiFd = dev.msiRoutes[0]!.event.fd!;
    expect(L.vfio()).toEqual(['SET_IRQS INTX start=0 none count=0', `SET_IRQS MSI start=0 [${msiFd}]`]);
    expect(first.disposed).toBe(true);
    expect(first.line).toBe(false);
    expect(dev.intxRoute).toBeUndefined();
    expect(env.model!.vfio.device().irq.mode).toBe('msi');
    dev.configWrite(ctrl, 2, 0x0000);
    const second = route();
    expect(second).not.toBe(first);
    expect(L.vfio()).toEqual(['SET_IRQS MSI start=0 none count=0', ...enableLog(second)]);
    expect(second.line).toBe(true); // the device kept asserting: seen again when INTx came back
    expect(second.deliveries).toBe(1);
    // MSI-X the same way.
    msixControl(dev, true, false);
    expect(L.vfio()).toEqual(['SET_IRQS INTX start=0 none count=0', 'SET_IRQS MSIX start=0 [-1]']);
    expect(second.disposed).toBe(true);
    msixControl(dev, true, true); // Function Mask change with Enable kept: INTx stays off
    expect(L.vfio()).toEqual([]);
    msixControl(dev, false, false);
    const third = route();
    expect(L.vfio()).toEqual(['SET_IRQS MSIX start=0 none count=0', ...enableLog(third)]);
    expect(third.line).toBe(true);
    expect(dev.errorCount).toBe(0);
  });

  itI('reset: INTx off, INTx Disable cleared in vfio, VFIO_DEVICE_RESET, INTx on again with a fresh route; Interrupt Line back to its value at assignment', () => {
    using env = target.create();
    const { dev, intx, route } = irqfdDevice(env);
    using _ = dev;
    const before = route();
    dev.configWrite(0x3c, 1, 0x0b);
    intx.assert();
    expect(before.line).toBe(true);
    dev.configWrite(0x04, 2, INTX_DISABLE | 0x06);
    const L = logTaker(env);
    L.vfio();
    dev.reset();
    const after = route();
    expect(L.vfio()).toEqual(['SET_IRQS INTX start=0 none count=0', 'DEVICE_RESET', ...enableLog(after)]);
    expect(before.disposed).toBe(true);
    expect(dev.configRead(0x04, 2)).toBe(0);
    expect(dev.configRead(0x3c, 1)).toBe(0);
    expect(after.line).toBe(false); // the function's own condition is gone with the reset
    intx.assert();
    expect(after.line).toBe(true);
  });

  itI('save/restore keeps Interrupt Line and INTx Disable; restore re-enables INTx, and a device still asserting is delivered on the new route', () => {
    using env = target.create();
    const { dev, intx, route } = irqfdDevice(env);
    using _ = dev;
    dev.configWrite(0x3c, 1, 0x0a);
    dev.configWrite(0x04, 2, INTX_DISABLE);
    const state: AssignedPciDeviceState = dev.save();
    expect(state).toMatchObject({ interruptLine: 0x0a, intxPending: false, command: INTX_DISABLE });
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
    dev.configWrite(0x3c, 1, 0);
    dev.configWrite(0x04, 2, 0);
    intx.assert();
    const old = route();
    expect(old.line).toBe(true);
    dev.restore(state);
    expect(old.disposed).toBe(true);
    expect(dev.configRead(0x3c, 1)).toBe(0x0a);
    expect(dev.configRead(0x04, 2) & INTX_DISABLE).toBe(INTX_DISABLE);
    const now = route();
    expect(now.line).toBe(false); // INTx Disable restored: vfio holds the line
    dev.configWrite(0x04, 2, 0);
    expect(now.line).toBe(true);
    expect(() => dev.restore({ ...state, interruptLine: 256 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error);
    expect(() => dev.restore({ ...state, intxPending: 1 as unknown as boolean })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error);
  });

  itI('dispose: SET_IRQS INTx count 0 before the route is disposed; no eventfd left registered or open', () => {
    using env = target.create();
    const intx = env.intx!;
    const kvmFiles = env.model!.kvm.files.size;
    const log = env.model!.bridge.vfioLog;
    const dev = AssignedPciDevice.create({
      device: env.device,
      irqfd: env.vm.irqfd()!,
      intx: {
        mode: 'irqfd',
        gsi: GSI,
        newLevelRoute: (g) => {
          const r = intx.routes.newLevelRoute(g);
          const dispose = r.dispose.bind(r);
          return Object.assign(r, { dispose: () => (log.push('route dispose'), dispose()) });
        },
      },
    });
    intx.assert();
    expect(env.model!.kvm.files.size).toBeGreaterThan(kvmFiles);
    log.length = 0;
    dev.dispose();
    dev.dispose();
    expect(log).toEqual(['SET_IRQS INTX start=0 none count=0', 'route dispose']);
    expect(env.model!.vfio.device().irq.mode).toBe('none');
    expect(env.model!.vfio.device().irq.unmaskFd).toBeUndefined();
    expect(env.model!.kvm.files.size).toBe(kvmFiles);
    env.device.dispose();
    expect(env.model!.vfio.hazards).toEqual([]);
  });

  itI('bad intx options are refused before anything is done; a route factory failure is rethrown with nothing left', () => {
    using env = target.create();
    const intx = env.intx!;
    const base = { device: env.device, irqfd: env.vm.irqfd()! };
    const bad: unknown[] = [true, 'irqfd', { mode: 'irqfd', gsi: -1, newLevelRoute: intx.routes.newLevelRoute }, { mode: 'irqfd', gsi: 1.5, newLevelRoute: intx.routes.newLevelRoute }, { mode: 'irqfd', gsi: 3 }, { mode: 'user-space', onLevel: 1 }, { mode: 'msi' }, { mode: 'user-space', extra: 1 }];
    for (const b of bad) {
      expect(() => AssignedPciDevice.create({ ...base, intx: b as false })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error);
    }
    expect(intx.routes.made).toEqual([]);
    expect(env.model!.bridge.vfioLog).toEqual([]);
    const held = intx.routes.newLevelRoute(GSI);
    const kvmFiles = env.model!.kvm.files.size;
    expect(() => AssignedPciDevice.create({ ...base, dma: [], intx: { mode: 'irqfd', gsi: GSI, newLevelRoute: intx.routes.newLevelRoute } })).toThrow(expect.objectContaining({ code: 'BUSY' }) as Error);
    const unsupported = (): never => {
      throw new VirtError('UNSUPPORTED', { operation: 'newLevelRoute', detail: 'no resample on this partition' });
    };
    expect(() => AssignedPciDevice.create({ ...base, intx: { mode: 'irqfd', gsi: 3, newLevelRoute: unsupported } })).toThrow(expect.objectContaining({ code: 'UNSUPPORTED' }) as Error);
    expect(env.model!.bridge.vfioLog).toEqual([]);
    expect(env.model!.kvm.files.size).toBe(kvmFiles);
    held.dispose();
    // A SET_IRQS failure part-way (the resample fd names no eventfd: EBADF): INTx is disabled again, the route disposed.
    let made: TestLevelRoute | undefined;
    const badResample = (g: number) => {
      made = intx.routes.newLevelRoute(g) as TestLevelRoute;
      const resample = Object.assign(Object.create(made.resample) as EventFd, { fd: 0x3fff_0000 });
      return { gsi: g, event: made.event, resample, disposed: false, dispose: () => made!.dispose(), [Symbol.dispose]: () => made!.dispose() };
    };
    env.model!.bridge.vfioLog.length = 0;
    const filesBefore = env.model!.kvm.files.size;
    expect(() => AssignedPciDevice.create({ ...base, intx: { mode: 'irqfd', gsi: GSI, newLevelRoute: badResample } })).toThrow(expect.objectContaining({ code: 'SYSCALL', errno: 9 }) as Error);
    expect(env.model!.bridge.vfioLog).toEqual([
      `SET_IRQS INTX start=0 [${made!.event.fd}]`,
      'SET_IRQS INTX mask start=0 none count=1',
      `SET_IRQS INTX unmask start=0 [${0x3fff_0000}]`,
      'SET_IRQS INTX start=0 none count=0',
    ]);
    expect(made!.disposed).toBe(true);
    expect(env.model!.vfio.device().irq.mode).toBe('none');
    expect(env.model!.kvm.files.size).toBe(filesBefore);
  });

  itI('a function without an Interrupt Pin gets no INTx (vfio reports no INTx interrupt)', () => {
    using env = target.create({ devices: [{ address: '0000:01:00.0', group: 7, intxPin: 0 }] });
    const intx = env.intx!;
    using dev = AssignedPciDevice.create({ device: env.device, irqfd: env.vm.irqfd()!, intx: { mode: 'irqfd', gsi: GSI, newLevelRoute: intx.routes.newLevelRoute } });
    expect(dev.intxPin).toBe(0);
    expect(dev.intxMode).toBe('none');
    expect(intx.routes.made).toEqual([]);
    expect(env.model!.bridge.vfioLog).toEqual([]);
    expect(dev.configRead(0x3d, 1)).toBe(0);
  });

  itI('hostile accesses to 0x04-0x07 and 0x3C-0x3F at every size and offset are harmless', () => {
    using env = target.create();
    const errors: Error[] = [];
    const { dev, intx, route } = irqfdDevice(env, (e) => errors.push(e));
    using _ = dev;
    const values = [0, 0xffffffff, 0x04000400, 0x5a5a5a5a, 0xa5a5a5a5, 0x00000404];
    for (const base of [0x04, 0x3c]) {
      for (let at = base - 3; at < base + 4; at++) {
        for (const size of [1, 2, 3, 4, 8, 0, -1, 2.5, NaN]) {
          for (const value of values) {
            expect(() => dev.configWrite(at, size, value)).not.toThrow();
            expect(() => dev.configRead(at, size)).not.toThrow();
          }
        }
      }
    }
    expect(dev.configRead(0x3d, 1)).toBe(1); // Interrupt Pin is the device's, read-only
    // Accesses reaching into the MSI capability at 0x40 may enable MSI with no valid address: reported, never thrown.
    expect(errors.filter((e) => !(e instanceof VirtError && e.code === 'INVALID_MSI'))).toEqual([]);
    errors.length = 0;
    // Still coherent: clear Command and MSI Enable, and one assertion is one interrupt.
    dev.configWrite(0x04, 4, 0);
    dev.configWrite(dev.msiCapability! + 2, 2, 0);
    dev.configWrite(0x3c, 1, 0x33);
    expect(dev.configRead(0x3c, 2)).toBe(0x0133);
    const r = route();
    r.ack();
    intx.deassert();
    r.ack();
    const n = r.deliveries;
    expect(r.line).toBe(false);
    intx.assert();
    expect(r.line).toBe(true);
    expect(r.deliveries).toBe(n + 1);
    expect(errors).toEqual([]);
  });
});

describeAssignedTargets('assigned device INTx through user space', (target) => {
  const itI = itIntx(target);

  function userDevice(env: AssignedEnv): { dev: AssignedPciDevice; levels: boolean[] } {
    const levels: boolean[] = [];
    const dev = AssignedPciDevice.create({ device: env.device, irqfd: env.vm.irqfd()!, intx: { mode: 'user-space', onLevel: (l) => levels.push(l) } });
    return { dev, levels };
  }

  itI('enable binds the trigger only; assert → one rising edge; EOI lowers, unmasks, and re-raises while the device still asserts', () => {
    using env = target.create();
    const intx = env.intx!;
    const { dev, levels } = userDevice(env);
    using _ = dev;
    const t = dev.intxTrigger!;
    expect(dev.intxMode).toBe('user-space');
    expect(env.model!.bridge.vfioLog).toEqual([`SET_IRQS INTX start=0 [${t.fd}]`]);
    expect(env.model!.vfio.isTrigger(t.fd!, 'intx', 0)).toBe(true);
    const L = logTaker(env);
    L.vfio();
    expect(dev.pollIntx()).toBe(false);
    intx.assert();
    expect(env.model!.vfio.eventfdCount(t.fd!)).toBe(1n); // what the VMM's epoll sees
    expect(dev.pollIntx()).toBe(true);
    intx.assert();
    expect(dev.pollIntx()).toBe(true);
    expect(levels).toEqual([true]);
    dev.intxEoi();
    expect(L.vfio()).toEqual(['SET_IRQS INTX unmask start=0 none count=1']);
    expect(levels).toEqual([true, false, true]);
    expect(dev.intxLevel).toBe(true);
    intx.deassert();
    dev.intxEoi();
    expect(levels).toEqual([true, false, true, false]);
    expect(dev.pollIntx()).toBe(false);
    intx.assert();
    expect(dev.pollIntx()).toBe(true);
    expect(levels).toEqual([true, false, true, false, true]);
  });

  itI('INTx Disable drops the line at once and clearing it re-raises it; MSI takes INTx off and gives it back', () => {
    using env = target.create();
    const intx = env.intx!;
    const { dev, levels } = userDevice(env);
    using _ = dev;
    intx.assert();
    dev.pollIntx();
    dev.configWrite(0x04, 2, INTX_DISABLE);
    expect(levels).toEqual([true, false]);
    dev.configWrite(0x04, 2, 0);
    expect(levels).toEqual([true, false, true]);
    const L = logTaker(env);
    L.vfio();
    dev.configWrite(dev.msiCapability! + 2, 2, 1);
    expect(L.vfio()).toEqual(['SET_IRQS INTX start=0 none count=0', `SET_IRQS MSI start=0 [${dev.msiRoutes[0]!.event.fd}]`]);
    expect(levels).toEqual([true, false, true, false]);
    expect(dev.pollIntx()).toBe(false);
    dev.configWrite(dev.msiCapability! + 2, 2, 0);
    expect(L.vfio()).toEqual(['SET_IRQS MSI start=0 none count=0', `SET_IRQS INTX start=0 [${dev.intxTrigger!.fd}]`]);
    expect(levels).toEqual([true, false, true, false, true]); // still asserting: raised again
  });

  itI('save/restore keeps a pending line; dispose unbinds the trigger and closes it', () => {
    using env = target.create();
    const intx = env.intx!;
    const a = userDevice(env);
    intx.assert();
    a.dev.pollIntx();
    const state = a.dev.save();
    expect(state.intxPending).toBe(true);
    intx.deassert();
    const vfioFiles = env.model!.vfio.descriptorBudget().open;
    a.dev.dispose();
    expect(env.model!.bridge.vfioLog.at(-1)).toBe('SET_IRQS INTX start=0 none count=0');
    expect(env.model!.vfio.descriptorBudget().open).toBe(vfioFiles - 2); // the trigger and its duplicate
    const b = userDevice(env);
    using _ = b.dev;
    expect(b.levels).toEqual([]);
    b.dev.restore(state);
    expect(b.levels).toEqual([true]);
    b.dev.intxEoi(); // the device no longer asserts: the line stays low
    expect(b.levels).toEqual([true, false]);
  });
});
