/**
 * Level-triggered routes (INTx) with a resample event: a signal asserts an IOAPIC pin and the
 * interrupt is delivered once until the guest's EOI, which deasserts the line and signals the
 * resample event (KVM `virt/kvm/eventfd.c` `irqfd_inject`, `irqfd_resampler_ack`;
 * `arch/x86/kvm/ioapic.c`). Cases that need the guest's EOI run only where the subject offers it.
 */
import type { Event } from '../../contract/event';
import { type IoApicAccess, type IoApicRedirection, type LevelIrqFdRoute, hasIoApicAccess, newLevelRoute } from '../../contract/level';
import { type LocalApicAccess, type Partition, hasLocalApicAccess } from '../../contract/partition';
import { check, checkEqual, checkThrows } from '../check';
import type { ConformanceManifest } from '../types';
import type { CaseContext, ConformanceCase } from './context';

/** The GSI (IOAPIC pin) and vector the level cases use: a pin firmware gives PCI devices, a vector no MSI case uses. */
const GSI = 10;
const OTHER_GSI = 11;
const VECTOR = 0x61;

const needsResample = (m: ConformanceManifest): string | undefined => (m.resample ? undefined : 'not declared: supports.resample is false (the UNSUPPORTED case covers this backend)');
const needsEoi = (m: ConformanceManifest): string | undefined =>
  needsResample(m) ?? (m.guestEoi ? undefined : "not applicable: no guest EOI on this target (only a model can play the guest's EOI; no guest code runs here)");

/** The partition with the access the level cases need, or a failure naming what is missing. */
function levelPartition(ctx: CaseContext): Partition & IoApicAccess & LocalApicAccess {
  const p = ctx.subject.partition;
  check(hasIoApicAccess(p), 'a backend with resample must offer IoApicAccess (readIoApic, writeRedirection) so the suite can program the pin as the guest would');
  check(hasLocalApicAccess(p), 'the level cases read IRR and TMR through LocalApicAccess (readLocalApic)');
  return p;
}

/** Pin `GSI` programmed level-triggered, fixed, physical, to vCPU `vcpu`'s APIC ID. */
function program(ctx: CaseContext, p: IoApicAccess, vcpu: number, masked: boolean, gsi = GSI): IoApicRedirection {
  const entry: IoApicRedirection = { vector: VECTOR, deliveryMode: 'fixed', destinationMode: 'physical', destination: ctx.subject.observer.apicId(vcpu), trigger: 'level', masked };
  p.writeRedirection(gsi, entry);
  return entry;
}

/** Whether VECTOR is requested (IRR) on each vCPU, read without clearing. */
function requested(p: Partition & LocalApicAccess): boolean[] {
  return Array.from({ length: p.vcpuCount }, (_, v) => p.readLocalApic(v).irr.includes(VECTOR));
}

function drained(e: Event): number {
  return e.consume();
}

/**
 * How long a level case waits for what a signal or an unmask should lead to. A kernel may assert
 * the line after the signal returns (KVM's resample irqfd asserts from a workqueue item,
 * `irqfd_inject`), and `settle()` cannot wait for that: the case polls for the expected
 * observation instead, and on timeout compares what it saw last, which names the difference.
 */
const DEADLINE_MS = 1000;

/**
 * Polls `observe` after the subject's `settle()` until `done` holds or {@link DEADLINE_MS} passed;
 * returns the last observation (the caller checks it, so a timeout fails with the difference).
 */
async function until<T>(ctx: CaseContext, observe: () => T, done: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    await ctx.subject.settle();
    const v = observe();
    if (done(v) || Date.now() >= deadline) return v;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/**
 * Makes sure every signal raised so far on the level routes has been injected, for checks that
 * something did NOT happen: a signal raised now on `other` (pin {@link OTHER_GSI}, programmed
 * masked) is injected after the earlier ones (one work queue, in order), so once its pin reads
 * asserted the earlier signals have had their effect.
 */
async function fence(ctx: CaseContext, p: Partition & IoApicAccess, other: LevelIrqFdRoute): Promise<void> {
  other.event.signal();
  const asserted = await until(ctx, () => p.readIoApic().pins[OTHER_GSI]!.asserted, Boolean);
  checkEqual(asserted, true, `the fence signal on pin ${OTHER_GSI} asserted it`);
}

export const levelCases: readonly ConformanceCase[] = [
  {
    name: 'level: newLevelRoute checks the GSI first, then is UNSUPPORTED with a reason where resample is false (or BUSY / DISPOSED where it is true)',
    async run(ctx) {
      const { irqfd, subject, manifest } = ctx;
      const before = irqfd.routeCount;
      for (const bad of [24, -1, 1.5, Number.NaN, '10', undefined]) checkThrows(() => newLevelRoute(irqfd, bad as never), 'INVALID_ARGUMENT', `newLevelRoute(irqfd, ${String(bad)})`);
      checkEqual(subject.partition.capabilities.resample, manifest.resample, 'capabilities.resample');
      if (!manifest.resample) {
        const e = checkThrows(() => newLevelRoute(irqfd, GSI), 'UNSUPPORTED', 'newLevelRoute where resample is false');
        check(e.detail.length > 'level-triggered routes with a resample event are not available: '.length, `UNSUPPORTED must say why, got: ${e.message}`);
        checkEqual(irqfd.routeCount, before, 'routeCount after the refused calls');
        return;
      }
      const r = newLevelRoute(irqfd, GSI);
      checkEqual(r.gsi, GSI, 'route.gsi');
      checkEqual(r.disposed, false, 'route.disposed');
      check(r.event !== r.resample, 'the trigger and the resample event are distinct');
      if (r.event.kind === 'eventfd') check(r.event.fd !== r.resample.fd, 'distinct eventfds');
      checkThrows(() => newLevelRoute(irqfd, GSI), 'BUSY', 'a second level route on the same GSI');
      const other = newLevelRoute(irqfd, OTHER_GSI);
      other.dispose();
      r.dispose();
      r.dispose();
      checkEqual(r.disposed, true, 'route.disposed after dispose');
      // The GSI is free again once its route is gone.
      const again = newLevelRoute(irqfd, GSI);
      subject.partition.dispose();
      checkEqual(again.disposed, true, 'a level route is disposed with its partition');
      checkThrows(() => newLevelRoute(irqfd, GSI), 'DISPOSED', 'newLevelRoute after the partition was disposed');
    },
  },
  {
    name: 'level: a signal asserts the programmed pin: IRR and TMR of its vector on its destination only, remote IRR set; more signals coalesce',
    skipReason: needsResample,
    async run(ctx) {
      const p = levelPartition(ctx);
      using r = newLevelRoute(ctx.irqfd, GSI);
      using other = newLevelRoute(ctx.irqfd, OTHER_GSI);
      program(ctx, p, 1, false);
      program(ctx, p, 1, true, OTHER_GSI);
      checkEqual(requested(p).some(Boolean), false, 'nothing requested before the signal');
      r.event.signal();
      const got = await until(ctx, () => requested(p), (g) => g[1] === true);
      checkEqual(got, got.map((_, v) => v === 1), `vector 0x${VECTOR.toString(16)} requested on vCPU 1 only`);
      const tmr = p.readLocalApic(1).tmr;
      if (tmr !== undefined) check(tmr.includes(VECTOR), `TMR must mark vector 0x${VECTOR.toString(16)} level-triggered on vCPU 1, got ${JSON.stringify(tmr)}`);
      const pin = p.readIoApic().pins[GSI]!;
      checkEqual([pin.asserted, pin.remoteIrr], [true, true], 'pin asserted and waiting for its EOI (remote IRR)');
      p.clearIrr(1);
      r.event.signal();
      r.event.signal();
      await fence(ctx, p, other);
      checkEqual(requested(p)[1], false, 'signals while the line is asserted and not EOIed deliver nothing more');
      checkEqual(drained(r.resample), 0, 'no resample before the EOI');
    },
  },
  {
    name: "level: the guest's EOI deasserts the line and signals resample once; a signal after it delivers again",
    skipReason: needsEoi,
    async run(ctx) {
      const p = levelPartition(ctx);
      const eoi = ctx.subject.eoi!.bind(ctx.subject);
      using r = newLevelRoute(ctx.irqfd, GSI);
      program(ctx, p, 1, false);
      r.event.signal();
      r.event.signal();
      checkEqual((await until(ctx, () => requested(p), (g) => g[1] === true))[1], true, 'delivered before the EOI');
      checkEqual(eoi(1, VECTOR), true, "the guest's EOI of the delivered vector");
      checkEqual(drained(r.resample), 1, 'resample signalled once by the EOI');
      const pin = p.readIoApic().pins[GSI]!;
      checkEqual([pin.asserted, pin.remoteIrr], [false, false], 'after the EOI: line deasserted, remote IRR clear');
      checkEqual(requested(p)[1], false, 'nothing redelivered after the EOI: the coalesced signals did not re-assert the line');
      r.event.signal();
      checkEqual((await until(ctx, () => requested(p), (g) => g[1] === true))[1], true, 'a signal after the EOI delivers again');
      checkEqual(eoi(0, VECTOR), false, 'an EOI on a vCPU that never got the vector changes nothing');
      checkEqual(drained(r.resample), 0, 'no resample without an EOI of the pin');
    },
  },
  {
    name: 'level: a signal while the pin is masked is delivered at unmask, or resampled (newer kernels) and then delivered by the next signal',
    skipReason: needsResample,
    async run(ctx) {
      const p = levelPartition(ctx);
      using r = newLevelRoute(ctx.irqfd, GSI);
      program(ctx, p, 1, true);
      r.event.signal();
      checkEqual(await until(ctx, () => p.readIoApic().pins[GSI]!.asserted, Boolean), true, 'the request latched on the masked pin');
      checkEqual(requested(p)[1], false, 'nothing delivered while the pin is masked');
      program(ctx, p, 1, false);
      let resampled = 0;
      const delivered = await until(
        ctx,
        () => {
          resampled += drained(r.resample);
          return requested(p)[1];
        },
        (d) => d || resampled > 0,
      );
      // arch/x86/kvm/ioapic.c: a guest unmask of a level pin with a latched request lets the
      // resampler take it (kvm_notify_irqfd_resampler); KVM_SET_IRQCHIP re-injects instead.
      check((delivered && resampled === 0) || (!delivered && resampled === 1), `unmask must either deliver (got ${delivered}) or signal resample once (got ${resampled}), exactly one of them`);
      if (!delivered) {
        r.event.signal();
        checkEqual((await until(ctx, () => requested(p), (g) => g[1] === true))[1], true, 'after the resample, the device re-asserting delivers');
      }
      checkEqual(requested(p)[0], false, 'never on vCPU 0');
    },
  },
  {
    name: 'level: dispose deasserts the line and closes both events; the GSI is free again',
    skipReason: needsResample,
    async run(ctx) {
      const p = levelPartition(ctx);
      const r: LevelIrqFdRoute = newLevelRoute(ctx.irqfd, GSI);
      program(ctx, p, 1, true);
      r.event.signal();
      checkEqual(await until(ctx, () => p.readIoApic().pins[GSI]!.asserted, Boolean), true, 'asserted before dispose');
      r.dispose();
      checkEqual(p.readIoApic().pins[GSI]!.asserted, false, 'dispose deasserts the line');
      checkEqual([r.disposed, r.event.disposed, r.resample.disposed], [true, true, true], 'route, trigger and resample event disposed');
      checkThrows(() => r.event.signal(), 'DISPOSED', 'signal on a disposed route');
      program(ctx, p, 1, false);
      await ctx.subject.settle();
      checkEqual(requested(p)[1], false, 'unmasking after dispose delivers nothing');
      newLevelRoute(ctx.irqfd, GSI).dispose();
    },
  },
];
