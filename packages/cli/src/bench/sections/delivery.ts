/**
 * Delivery latency on KVM, signal → vector set in the local APIC IRR, four ways, interleaved:
 * - `delivery.irqfd`: Node signals a kernel irqfd route's eventfd, then polls KVM_GET_LAPIC;
 * - `delivery.raw_write`: the same eventfd written by C, polled by C (the physical floor);
 * - `delivery.relay`: Node signals a route of a KvmPartition in relay mode (epoll worker thread
 *   injecting with KVM_SIGNAL_MSI), Node polls;
 * - `delivery.relay_c`: a C thread blocked in read() injects with KVM_SIGNAL_MSI, C signals and
 *   polls (the relay's floor).
 * Plus `delivery.relay_c.node_harness` (the C relay signalled and polled from Node) to show how
 * much of the relay ratio is the Node harness rather than the relay, `delivery.relay_over_irqfd`,
 * and `delivery.overflow`: a kernel-mode route that found no free GSI (the partition's routing
 * table is limited to one MSI entry, held by another route), delivered by the irqfd engine's
 * user-space path, against `delivery.relay` measured in the same rounds.
 */
import * as os from 'node:os';
import type { IrqFdRoute } from '@tsvmm/virt';
import { type Budget, Stalled, budget, withDeadline } from '../../deadline';
import { HARNESS_DEADLINE_MS, type NativeBench, NativeUnavailable, loadNativeBench, systemErrorName } from '../native';
import type { Metric } from '../result';
import { withRatio } from '../result';
import type { BenchSection, SectionContext, SectionOutput, Unavailable } from '../section';
import { MeasurementFailed, emptyOutput, oneStepSection } from '../section';

import { distribution, interleave, summarize } from '../stats';
import { type KvmBench, openKvmBench } from './kvm-access';

/** The vector every measured route delivers. */
export const VECTOR = 0x41;
const { ETIMEDOUT } = os.constants.errno;

/**
 * How long one delivery may take, from the signal to the vector in the IRR, before it counts as
 * lost. A delivery takes microseconds (its p99 stays under 100 µs on a shared nested host); a second
 * is four orders of magnitude beyond that, so expiry means the interrupt never came, not that it
 * was slow. The C harness waits as long ({@link HARNESS_DEADLINE_MS}).
 */
export const DELIVERY_DEADLINE_MS = 1000;

/** The other bounds of the delivery rounds, in ms; tests shorten them. */
export interface DeliveryLimits {
  /** How long the relays may take to settle after the last round. */
  readonly settleMs: number;
  /** How long all the rounds together may take, `--quick` and full. */
  readonly roundsMs: { readonly quick: number; readonly full: number };
}

export const DELIVERY_LIMITS: DeliveryLimits = {
  // Every sample already waited for its own delivery, so settling is the waiter acknowledging what it
  // did, immediate in practice; two seconds still report a relay whose worker died at the end.
  settleMs: 2000,
  // A healthy host needs about 0.1 s (quick: 1,440 samples) and a few seconds (full: 120,000) of
  // ~25 µs. The budgets leave a wide margin and still keep `bench --quick` within a minute and the
  // full run within five even when every delivery is slow without being lost.
  roundsMs: { quick: 20_000, full: 120_000 },
};

/**
 * Samples the C harness takes per call: the rounds' budget is checked between calls, and a call
 * whose every delivery is slow (not lost) lasts at most this many harness deadlines.
 */
const HARNESS_CHUNK = 10;

const DESCRIPTIONS: Record<string, string> = {
  'delivery.irqfd': 'signal → IRR through a kernel irqfd, eventfd written and APIC polled from Node',
  'delivery.raw_write': 'signal → IRR through the same kernel irqfd, eventfd written and APIC polled from C (the floor)',
  'delivery.relay': 'signal → IRR through the tsvmm user-space relay (KvmPartition relay mode), from Node',
  'delivery.relay_c': 'signal → IRR through a C relay thread (read + KVM_SIGNAL_MSI), signalled and polled from C',
  'delivery.relay_c.node_harness': 'the C relay, signalled and polled from Node: the harness share of the relay ratio',
  'delivery.relay_over_irqfd': 'the relay against kernel irqfd, both from Node: what irqfd saves',
  'delivery.overflow': 'signal → IRR through an overflow route (beyond the kernel routes, relayed by the irqfd engine), against the relay, from Node',
};

/** The metrics whose samples the rounds take, in the order they are interleaved. */
export const SAMPLED = ['delivery.irqfd', 'delivery.raw_write', 'delivery.relay', 'delivery.relay_c', 'delivery.relay_c.node_harness', 'delivery.overflow'] as const;
export type SampledName = (typeof SAMPLED)[number];

/**
 * What the delivery rounds run on: KVM with the C floors in `tsvmm bench`; anything that can be
 * signalled and polled in tests.
 */
export interface DeliveryRig {
  /**
   * For each sampled metric, `n` signal → IRR latencies in µs. Throws {@link Stalled} when a
   * delivery does not come within its deadline or `spent` runs out, {@link MeasurementFailed} when a
   * check fails.
   */
  readonly paths: Readonly<Record<SampledName, (n: number, spent: Budget) => number[]>>;
  /** What must settle after the rounds (relays catching up), each with what it waits for. */
  readonly drains: readonly { readonly waitedFor: string; settle(): Promise<void> }[];
  /** Checks after the rounds (routes still as set up, the C relay healthy); throws {@link MeasurementFailed}. */
  verify(): void;
  /** Where the samples were taken, for the section's note: `vCPU 0, vector 0x41`. */
  readonly where: string;
  /** What took them, for the end of the note. */
  readonly harness: string;
}


/**
 * Opens a rig, hands it to `measure`, and releases it after (whatever `measure` does); or says why
 * there is none here. Throws {@link Stalled} or {@link MeasurementFailed} when setting up fails a check.
 */
export type DeliveryRigSource = (ctx: SectionContext, measure: (rig: DeliveryRig) => Promise<SectionOutput>) => Promise<SectionOutput | Unavailable>;

/** How a Node-side path signals and polls. */
export interface NodeProbe {
  /** Clears the vector from the IRR (untimed). */
  clear(): void;
  /** Raises the interrupt: the start of the timed region. */
  signal(): void;
  /** One poll: whether the vector shows in the IRR. */
  irrSet(): boolean;
  /** The vCPU polled, for messages. */
  readonly vcpu: number;
}

/** One Node-side sample in µs: clear IRR (untimed), signal, poll until the vector shows or its deadline passes. */
function nodeSample(p: NodeProbe): number {
  p.clear();
  const t0 = process.hrtime.bigint();
  p.signal();
  for (;;) {
    if (p.irrSet()) break;
    if (Number(process.hrtime.bigint() - t0) > DELIVERY_DEADLINE_MS * 1e6) {
      throw new Stalled(`vector 0x${VECTOR.toString(16)} in vCPU ${p.vcpu}'s IRR after the signal`, DELIVERY_DEADLINE_MS);
    }
  }
  return Number(process.hrtime.bigint() - t0) / 1000;
}

/** `n` Node-side samples in µs; `spent` is checked between samples (outside the timed region). */
export function nodeDeliveryBatch(p: NodeProbe, n: number, spent: Budget): number[] {
  const s: number[] = [];
  for (let i = 0; i < n; i++) {
    spent.check();
    s.push(nodeSample(p));
  }
  return s;
}

function nativeBatch(native: NativeBench, eventFd: number, vcpuFd: number, vcpu: number, n: number, spent: Budget): number[] {
  const s: number[] = [];
  const out = new Float64Array(HARNESS_CHUNK);
  while (s.length < n) {
    spent.check();
    const chunk = out.subarray(0, Math.min(HARNESS_CHUNK, n - s.length));
    const rc = native.measureSignalToIrr(eventFd, vcpuFd, VECTOR, chunk);
    if (rc === -ETIMEDOUT) throw new Stalled(`vector 0x${VECTOR.toString(16)} in vCPU ${vcpu}'s IRR after the C harness's eventfd write`, HARNESS_DEADLINE_MS);
    if (rc < 0) throw new MeasurementFailed(`the C harness failed with ${systemErrorName(-rc)}`);
    for (const ns of chunk) s.push(ns / 1000);
  }
  return s;
}

/** How the engine delivers a kernel-mode route (`kernel` or `emulated`: relayed); routes of other irqfds have no such field. */
function mediationOf(route: IrqFdRoute): unknown {
  return (route as Partial<{ readonly mediation: unknown }>).mediation;
}

function program(route: IrqFdRoute, apicId: number): void {
  route.setMsi(0xfee00000 + apicId * 0x1000, VECTOR);
  route.unmask();
}

/** A Node-side probe of vCPU `vcpu` of a KVM bench partition, polling with one KVM_GET_LAPIC per poll. */
function kvmProbe(k: KvmBench, vcpu: number, signal: () => void): NodeProbe {
  return { clear: () => k.partition.clearIrr(vcpu), signal, irrSet: k.irrPoller(vcpu, VECTOR), vcpu };
}

/** The delivery rig on KVM: three partitions (kernel irqfd, relay, one GSI for overflow) and the C floors. */
export const kvmDeliveryRig: DeliveryRigSource = async (ctx, measure) => {
  if (ctx.kvmUnavailable) return { unavailable: ctx.kvmUnavailable };
  let native: NativeBench;
  try {
    native = await loadNativeBench();
  } catch (e) {
    if (e instanceof NativeUnavailable) return { unavailable: e.message };
    throw e;
  }

  using kernel = openKvmBench(ctx.kvm, 'kernel');
  using relayed = openKvmBench(ctx.kvm, 'relay');
  using overflowed = openKvmBench(ctx.kvm, 'kernel', { kernelGsis: 1 });
  const vcpu = 0;
  const apicId = kernel.partition.readLocalApic(vcpu).apicId;
  const relayApicId = relayed.partition.readLocalApic(vcpu).apicId;
  using irqfdRoute = kernel.partition.irqfd()!.newIrqFdRoute();
  program(irqfdRoute, apicId);
  using relayRoute = relayed.partition.irqfd()!.newIrqFdRoute();
  program(relayRoute, relayApicId);
  const overflowApicId = overflowed.partition.readLocalApic(vcpu).apicId;
  // The one GSI goes to a route that is programmed and masked; the next route with an MSI overflows.
  using gsiHolder = overflowed.partition.irqfd()!.newIrqFdRoute();
  gsiHolder.setMsi(0xfee00000 + overflowApicId * 0x1000, VECTOR + 1);
  using overflowRoute = overflowed.partition.irqfd()!.newIrqFdRoute();
  program(overflowRoute, overflowApicId);
  if (mediationOf(overflowRoute) !== 'emulated') {
    throw new MeasurementFailed(`the overflow route was given a kernel GSI (mediation '${String(mediationOf(overflowRoute))}'), so it measures no overflow`);
  }
  using cRelay = native.startRelay(relayed.vmFd, 0xfee00000 + relayApicId * 0x1000, 0, VECTOR);
  const irqfdFd = irqfdRoute.event.fd!;
  const kernelVcpuFd = kernel.vcpuFd(vcpu);
  const relayVcpuFd = relayed.vcpuFd(vcpu);
  const irqfdProbe = kvmProbe(kernel, vcpu, () => irqfdRoute.event.signal());
  const relayProbe = kvmProbe(relayed, vcpu, () => relayRoute.event.signal());
  // The C relay's eventfd is written from Node with the same write(2) the Event uses.
  const cRelayProbe = kvmProbe(relayed, vcpu, () => relayed.writeEventFd(cRelay.eventFd));
  const overflowProbe = kvmProbe(overflowed, vcpu, () => overflowRoute.event.signal());
  // Awaited here, so that the partitions, routes and C relay above outlive the measurement.
  return await measure({
    paths: {
      'delivery.irqfd': (n, spent) => nodeDeliveryBatch(irqfdProbe, n, spent),
      'delivery.raw_write': (n, spent) => nativeBatch(native, irqfdFd, kernelVcpuFd, vcpu, n, spent),
      'delivery.relay': (n, spent) => nodeDeliveryBatch(relayProbe, n, spent),
      'delivery.relay_c': (n, spent) => nativeBatch(native, cRelay.eventFd, relayVcpuFd, vcpu, n, spent),
      'delivery.relay_c.node_harness': (n, spent) => nodeDeliveryBatch(cRelayProbe, n, spent),
      'delivery.overflow': (n, spent) => nodeDeliveryBatch(overflowProbe, n, spent),
    },
    drains: [
      { waitedFor: 'the relay partition to settle after the rounds', settle: () => relayed.settle() },
      { waitedFor: 'the overflow partition to settle after the rounds', settle: () => overflowed.settle() },
    ],
    verify() {
      if (mediationOf(overflowRoute) !== 'emulated') throw new MeasurementFailed('the overflow route moved to a kernel GSI during the run');
      if (cRelay.error() !== 0) throw new MeasurementFailed(`the C relay thread stopped with ${systemErrorName(cRelay.error())}`);
    },
    where: `vCPU ${vcpu}, vector 0x${VECTOR.toString(16)}`,
    harness: `the C harness and C relay are ${native.library}`,
  });
};

type Summary = ReturnType<typeof summarize>;

/**
 * The delivery rounds on `rig`: a warm-up, then every path interleaved, the relays settled, the rig
 * verified, and the metrics. Every wait is bounded (each delivery, the settling, the rounds as a
 * whole): it throws {@link Stalled} or {@link MeasurementFailed} (from the rig) instead of hanging.
 */
export async function measureDelivery(
  rig: DeliveryRig,
  ctx: Pick<SectionContext, 'quick' | 'progress'>,
  limits: DeliveryLimits = DELIVERY_LIMITS,
): Promise<SectionOutput> {
  const out = emptyOutput();
  const rounds = ctx.quick ? 6 : 100;
  const batch = ctx.quick ? 40 : 200;
  const roundsMs = ctx.quick ? limits.roundsMs.quick : limits.roundsMs.full;
  const spent = budget(roundsMs, `the warm-up and ${rounds} interleaved rounds of ${batch} deliveries per path to finish`);
  const fns = SAMPLED.map((name) => () => {
    try {
      return rig.paths[name](batch, spent);
    } catch (e) {
      // Which path was running is the first thing to know about a stall.
      if (e instanceof Stalled) throw new MeasurementFailed(`${e.message} (sampling ${name})`);
      throw e;
    }
  });
  for (const f of fns) f(); // warm-up: JIT, page faults, first epoll wake-ups; not recorded
  const samples = interleave(rounds, fns, (r) => ctx.progress.update(r, rounds, `round ${r}/${rounds}`));
  for (const d of rig.drains) await withDeadline(d.settle(), limits.settleMs, d.waitedFor);
  rig.verify();

  const [irqfd, raw, relay, relayC, relayCNode, overflow] = samples.map((s) => summarize(s)) as [Summary, Summary, Summary, Summary, Summary, Summary];
  const m = (name: string, v: Summary, base?: [string, Summary], target?: [number, string]): Metric =>
    withRatio({
      name,
      unit: 'µs',
      value: v.median,
      p99: v.p99,
      count: v.count,
      baseline: base ? base[1].median : null,
      ...(base ? { baselineName: base[0], baselineP99: base[1].p99, baselineCount: base[1].count } : {}),
      description: DESCRIPTIONS[name]!,
      ...(target ? { targetRatioMax: target[0], targetDescription: target[1] } : {}),
    });
  out.metrics.push(
    m('delivery.irqfd', irqfd, ['delivery.raw_write', raw], [1.5, 'irqfd ≤ 1.5× raw C write']),
    m('delivery.raw_write', raw),
    m('delivery.relay', relay, ['delivery.relay_c', relayC], [2, 'relay ≤ 2× C relay']),
    m('delivery.relay_c', relayC),
    m('delivery.relay_c.node_harness', relayCNode, ['delivery.relay_c', relayC]),
    m('delivery.relay_over_irqfd', relay, ['delivery.irqfd', irqfd]),
    m('delivery.overflow', overflow, ['delivery.relay', relay]),
  );
  samples.forEach((s, i) => out.distributions.push(distribution(SAMPLED[i]!, 'µs', s)));
  out.notes.push(`delivery: ${rig.where}, ${rounds} interleaved rounds of ${batch} samples each; ${rig.harness}.`);
  return out;
}

/**
 * The delivery section on the rigs of `source` (KVM by default). A stalled wait or a failed check
 * stops the section: every delivery metric is reported as failed with the reason (the run exits 1),
 * and the sections after it still run.
 */
export function deliverySection(source: DeliveryRigSource = kvmDeliveryRig, limits: DeliveryLimits = DELIVERY_LIMITS): BenchSection {
  return oneStepSection(
    'delivery',
    'delivery latency on KVM',
    'delivery: irqfd / raw write / relay / C relay / overflow (signal → IRR, interleaved)',
    DESCRIPTIONS,
    (ctx) => source(ctx, (rig) => measureDelivery(rig, ctx, limits)),
  );
}
