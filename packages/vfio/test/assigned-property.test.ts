/**
 * Thousands of random interleavings of guest actions (MSI-X Enable and Function Mask, per-vector
 * mask and unmask, Linux-order retargets, PBA reads, save/restore) and device raises on an
 * assigned device, with and without dynamic MSI-X: after every step the guest's local APICs got
 * exactly what the spec model below says the function sent — nothing lost, nothing duplicated —
 * and the PBA reads what the model holds pending.
 *
 * The model: a vector is *live* once the guest has let it deliver since MSI-X was last enabled
 * (that is when it is bound in vfio); a raise on a live vector is delivered to its message if it
 * is open (Enable, no Function Mask, unmasked), else held pending and delivered once when it
 * opens. A raise on a vector that is not live reaches no eventfd (vfio has none for it).
 *
 * Plain MSI the same way: Enable and Multiple Message Enable changes, Linux-order message rewrites
 * and raises of every vector of the capability; a raise reaches the guest iff MSI is enabled and
 * the vector is granted (vfio-pci has no eventfd for the others), with the vector number in the
 * low bits of Message Data.
 *
 * INTx too, on both paths (the KVM model partition's level irqfd with resample, and user space):
 * device assertions and deassertions, guest EOIs, INTx Disable, MSI and MSI-X switches,
 * save/restore and reset; after every step the line is what vfio-pci and the interrupt controller
 * make of it (IntxSpec below). On the irqfd path that is read from the partition: the IOAPIC pin's
 * request bit and Remote IRR, the vector in the destination vCPU's IRR, and the interrupts its
 * local APIC accepted: one per EOI cycle, none lost, none duplicated.
 *
 * 1,000 MSI-X, 500 MSI and 400 INTx sequences on the model (TSVMM_LONG_PROPERTY=1: 5,000, 5,000, 3,000). On a real
 * device the raises are the vfio loopback, so the same bodies run there with fewer sequences.
 */
import fc from 'fast-check';
import { AssignedPciDevice } from '../src';
import { assign, describeAssignedTargets } from './support/assigned-targets';
import { deliveryCheck, maskVector, msiAddress, msixControl, pba, programVector } from './support/guest';

const N = 8;

type Op =
  | { k: 'ctrl'; enable: boolean; fm: boolean }
  | { k: 'mask'; v: number; masked: boolean }
  | { k: 'retarget'; v: number; apic: number; vec: number }
  | { k: 'raise'; v: number }
  | { k: 'pba' }
  | { k: 'saveRestore' };

const v = fc.integer({ min: 0, max: N - 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ k: fc.constant('ctrl' as const), enable: fc.boolean(), fm: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('mask' as const), v, masked: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('retarget' as const), v, apic: fc.integer({ min: 0, max: 1 }), vec: fc.integer({ min: 0x40, max: 0xef }) }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant('raise' as const), v }) },
  { weight: 2, arbitrary: fc.constant({ k: 'pba' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'saveRestore' as const }) },
);

describeAssignedTargets('assigned device: random guest/device interleavings lose and duplicate nothing', (target) => {
  const runs = target.real ? 20 : process.env.TSVMM_LONG_PROPERTY === '1' ? 5000 : 1000;
  it(`${runs} sequences, NORESIZE and dynamic MSI-X`, () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(opArb, { minLength: 1, maxLength: 40 }), (dynamicMsix, ops) => {
        using env = target.create({ devices: [{ address: '0000:01:00.0', group: 7, dynamicMsix }] });
        const errors: Error[] = [];
        using dev = assign(env, errors);
        dev.configWrite(0x04, 2, 0x0006);
        const msg = Array.from({ length: N }, (_, i) => ({ apic: 0, vec: 0x40 + i }));
        const masked = Array<boolean>(N).fill(true);
        const live = Array<boolean>(N).fill(false);
        const pending = Array<boolean>(N).fill(false);
        let enabled = false;
        let fm = false;
        for (let i = 0; i < N; i++) programVector(dev, i, 0, 0x40 + i, false);
        env.ack();
        const delivered = deliveryCheck(env);
        const open = (i: number) => enabled && !fm && !masked[i];
        for (const op of ops) {
          const expected: string[] = [];
          const deliver = (i: number) => expected.push(`${msg[i]!.apic}:${msg[i]!.vec}`);
          switch (op.k) {
            case 'ctrl':
              msixControl(dev, op.enable, op.fm);
              if (enabled && !op.enable) live.fill(false);
              enabled = op.enable;
              fm = op.fm;
              break;
            case 'mask':
              maskVector(dev, op.v, op.masked);
              masked[op.v] = op.masked;
              break;
            case 'retarget':
              programVector(dev, op.v, op.apic, op.vec, false);
              if (!masked[op.v]) maskVector(dev, op.v, false);
              msg[op.v] = { apic: op.apic, vec: op.vec };
              break;
            case 'raise':
              env.raiseMsix(op.v);
              if (live[op.v]) {
                if (open(op.v)) deliver(op.v);
                else pending[op.v] = true;
              }
              break;
            case 'pba': {
              const want = pending.reduce((b, p, i) => (p ? b | (1 << i) : b), 0);
              expect(pba(dev)).toBe(want);
              break;
            }
            case 'saveRestore':
              dev.restore(dev.save());
              break;
          }
          for (let i = 0; i < N; i++) {
            if (!open(i)) continue;
            live[i] = true;
            if (pending[i]) {
              deliver(i);
              pending[i] = false;
            }
          }
          delivered(op, [...new Set(expected)].sort(), expected.length);
        }
        expect(errors).toEqual([]);
        if (env.model) {
          for (let i = 0; i < N; i++) expect(env.model.bridge.isTrigger(dev.msixRoutes[i]!.event.fd!, 'msix', i)).toBe(dev.boundMsixVectors.includes(i));
          dev.dispose();
          expect(env.model.vfio.hazards).toEqual([]);
          expect(env.model.kvm.hazards).toEqual([]);
        }
      }),
      { numRuns: runs },
    );
  });
});

type MsiOp = { k: 'control'; enable: boolean; mme: number } | { k: 'message'; apic: number; base: number } | { k: 'raise'; v: number };

const msiOpArb: fc.Arbitrary<MsiOp> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ k: fc.constant('control' as const), enable: fc.boolean(), mme: fc.integer({ min: 0, max: 2 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('message' as const), apic: fc.integer({ min: 0, max: 1 }), base: fc.constantFrom(0x40, 0x60, 0x80, 0xa0) }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant('raise' as const), v: fc.integer({ min: 0, max: 3 }) }) },
);

describeAssignedTargets('assigned device: random plain MSI sequences lose and duplicate nothing', (target) => {
  const runs = target.real ? 20 : process.env.TSVMM_LONG_PROPERTY === '1' ? 5000 : 500;
  it(`${runs} sequences on a 4-vector MSI capability`, () => {
    fc.assert(
      fc.property(fc.array(msiOpArb, { minLength: 1, maxLength: 40 }), (ops) => {
        using env = target.create();
        const errors: Error[] = [];
        using dev = assign(env, errors);
        if (!dev.msi || dev.msi.vectors < 4) return; // a real device without a 4-vector MSI block
        const cap = dev.msiCapability!;
        const dataAt = dev.msi.layout.address64 ? 12 : 8;
        dev.configWrite(0x04, 2, 0x0006);
        let enabled = false;
        let mme = 0;
        let apic = 0;
        let base = 0x40;
        const writeMessage = () => {
          dev.configWrite(cap + 4, 4, msiAddress(apic));
          if (dev.msi!.layout.address64) dev.configWrite(cap + 8, 4, 0);
          dev.configWrite(cap + dataAt, 2, base);
        };
        writeMessage();
        const delivered = deliveryCheck(env);
        for (const op of ops) {
          const expected: string[] = [];
          switch (op.k) {
            case 'control':
              dev.configWrite(cap + 2, 2, (op.mme << 4) | (op.enable ? 1 : 0));
              enabled = op.enable;
              mme = op.mme;
              break;
            case 'message':
              apic = op.apic;
              base = op.base;
              writeMessage();
              break;
            case 'raise': {
              env.raiseMsi(op.v);
              const n = 1 << mme;
              if (enabled && op.v < n) expected.push(`${apic}:${(base & ~(n - 1)) | op.v}`);
              break;
            }
          }
          delivered(op, expected, expected.length);
        }
        expect(errors).toEqual([]);
        if (env.model) {
          dev.dispose();
          expect(env.model.vfio.hazards).toEqual([]);
        }
      }),
      { numRuns: runs },
    );
  });
});

type IntxOp =
  | { k: 'assert' }
  | { k: 'deassert' }
  | { k: 'eoi' }
  | { k: 'intxDisable'; on: boolean }
  | { k: 'msi'; on: boolean }
  | { k: 'msix'; on: boolean }
  | { k: 'saveRestore' }
  | { k: 'reset' };

const intxOpArb: fc.Arbitrary<IntxOp> = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ k: 'assert' as const }) },
  { weight: 3, arbitrary: fc.constant({ k: 'deassert' as const }) },
  { weight: 5, arbitrary: fc.constant({ k: 'eoi' as const }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('intxDisable' as const), on: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('msi' as const), on: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('msix' as const), on: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ k: 'saveRestore' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'reset' as const }) },
);

/**
 * INTx as vfio-pci (vfio_pci_intrs.c) and the guest's interrupt controller see it: `latched` is
 * the KVM-held line (irqfd path: the IOAPIC pin's request bit) or the VMM's latch (user space,
 * where INTx Disable also hides the line at once). User space: every rising edge of the visible
 * line is one interrupt. Irqfd path: the IOAPIC delivers when the line is asserted and Remote IRR
 * is clear, and sets Remote IRR; the guest's EOI clears it and, while the route exists, deasserts
 * the line and resamples (arch/x86/kvm/ioapic.c, virt/kvm/eventfd.c).
 */
class IntxSpec {
  cause = false;
  disable = false;
  msi = false;
  msix = false;
  vmask = false;
  latched = false;
  remoteIrr = false;
  rises = 0;

  constructor(private readonly user: boolean) {}

  get active(): boolean {
    return !this.msi && !this.msix;
  }
  get visible(): boolean {
    return this.user ? this.latched && !this.disable : this.latched;
  }
  /** Runs `change`, counting a rising edge of the visible line (a fall and rise inside one step counts too). */
  private edge(change: () => void): void {
    const before = this.visible;
    change();
    if (!before && this.visible) this.rises++;
  }
  private latch(v: boolean): void {
    if (this.user) {
      this.edge(() => (this.latched = v));
      return;
    }
    this.latched = v;
    if (v && !this.remoteIrr) {
      this.remoteIrr = true;
      this.rises++;
    }
  }
  private handler(): void {
    if (this.cause && this.active && !this.vmask && !this.disable) {
      this.vmask = true;
      this.latch(true);
    }
  }
  private unmask(): void {
    if (!this.active || !this.vmask || this.disable) return;
    if (this.cause) this.latch(true);
    else this.vmask = false;
  }
  enable(): void {
    this.vmask = this.disable;
    this.handler();
    if (!this.user) {
      this.vmask = true;
      this.unmask();
    }
  }
  assert(): void {
    this.cause = true;
    this.handler();
  }
  eoi(): void {
    this.remoteIrr = false;
    this.latch(false);
    this.unmask();
  }
  setDisable(on: boolean): void {
    if (on === this.disable) return;
    this.edge(() => (this.disable = on));
    if (on) {
      if (this.active) this.vmask = true;
    } else {
      this.unmask();
    }
  }
  setMode(which: 'msi' | 'msix', on: boolean): void {
    const wasActive = this.active;
    this[which] = on;
    if (wasActive && !this.active) this.latch(false);
    if (!wasActive && this.active) this.enable();
  }
  saveRestore(): void {
    const pending = this.user && this.latched;
    if (!this.active) return;
    this.latch(false);
    this.enable();
    if (pending) this.latch(true);
  }
  reset(): void {
    this.latch(false);
    this.cause = false;
    this.edge(() => (this.disable = false));
    this.msi = false;
    this.msix = false;
    this.enable();
  }
}

describeAssignedTargets('assigned device: random INTx interleavings lose and duplicate nothing', (target) => {
  const runs = target.real ? 20 : process.env.TSVMM_LONG_PROPERTY === '1' ? 3000 : 400;
  if (target.intxAbsence !== undefined) process.stderr.write(`SKIPPED the INTx interleavings on ${target.name}: ${target.intxAbsence}\n`);
  (target.intxAbsence === undefined ? it : it.skip)(`${runs} sequences, level irqfd and user space${target.intxAbsence ? ` — needs ${target.intxAbsence}` : ''}`, () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(intxOpArb, { minLength: 1, maxLength: 40 }), (user, ops) => {
        using env = target.create();
        const intx = env.intx;
        const errors: Error[] = [];
        let rises = 0;
        const GSI = 10;
        using dev = AssignedPciDevice.create({
          device: env.device,
          irqfd: env.vm.irqfd()!,
          onError: (e) => errors.push(e),
          intx: user ? { mode: 'user-space', onLevel: (l) => void (l && rises++) } : { mode: 'irqfd', gsi: GSI },
        });
        const g = intx.guest(GSI);
        const cap = dev.msiCapability!;
        dev.configWrite(cap + 4, 4, msiAddress(0));
        dev.configWrite(cap + 12, 2, 0x50);
        const spec = new IntxSpec(user);
        spec.enable();
        const line = (): boolean => (user ? (dev.pollIntx(), dev.intxLevel === true) : g.line);
        for (const op of ops) {
          switch (op.k) {
            case 'assert':
              intx.assert();
              spec.assert();
              break;
            case 'deassert':
              intx.deassert();
              spec.cause = false;
              break;
            case 'eoi':
              // The guest EOIs only an interrupt it was given (irqfd: the vector it took, Remote IRR set).
              if (user ? !line() : !g.remoteIrr) break;
              if (user) dev.intxEoi();
              else expect(g.ack()).toBe(true);
              spec.eoi();
              break;
            case 'intxDisable':
              dev.configWrite(0x04, 2, op.on ? 0x400 : 0);
              spec.setDisable(op.on);
              break;
            case 'msi':
              if (spec.msix) break; // a guest driver runs one of them
              dev.configWrite(cap + 2, 2, op.on ? 1 : 0);
              spec.setMode('msi', op.on);
              break;
            case 'msix':
              if (spec.msi) break;
              msixControl(dev, op.on, false);
              spec.setMode('msix', op.on);
              break;
            case 'saveRestore':
              dev.restore(dev.save());
              spec.saveRestore();
              break;
            case 'reset':
              dev.reset();
              dev.configWrite(cap + 4, 4, msiAddress(0));
              dev.configWrite(cap + 12, 2, 0x50);
              spec.reset();
              break;
          }
          expect({ op, line: line() }).toEqual({ op, line: spec.visible });
          expect({ op, interrupts: user ? rises : g.deliveries }).toEqual({ op, interrupts: spec.rises });
          if (!user) expect({ op, remoteIrr: g.remoteIrr, irr: g.delivered }).toEqual({ op, remoteIrr: spec.remoteIrr, irr: spec.remoteIrr });
        }
        expect(errors).toEqual([]);
        if (env.model) {
          dev.dispose();
          env.device.dispose();
          expect(env.model.vfio.hazards).toEqual([]);
        }
      }),
      { numRuns: runs },
    );
  });
});
