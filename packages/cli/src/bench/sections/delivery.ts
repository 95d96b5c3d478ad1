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
import { CliFailure } from '../../cli/errors';
import { ExitCode } from '../../cli/exit-codes';
import { type NativeBench, NativeUnavailable, loadNativeBench, systemErrorName } from '../native';
import type { Metric } from '../result';
import { skippedMetric, withRatio } from '../result';
import type { BenchSection, SectionContext, SectionOutput } from '../section';
import { emptyOutput } from '../section';
import { distribution, interleave, summarize } from '../stats';
import { type KvmBench, type KvmBenchPartition, openKvmBench } from './kvm-access';

const VECTOR = 0x41;
const { ETIMEDOUT } = os.constants.errno;

/** A delivery that did not happen is a failed check (exit 1), not a crash. */
function measurementFailed(detail: string): CliFailure {
  return new CliFailure(`tsvmm bench: delivery: ${detail}. Nothing was reported for this run.`, ExitCode.Failed);
}
const TIMEOUT_MS = 1000;

const DESCRIPTIONS: Record<string, string> = {
  'delivery.irqfd': 'signal → IRR through a kernel irqfd, eventfd written and APIC polled from Node',
  'delivery.raw_write': 'signal → IRR through the same kernel irqfd, eventfd written and APIC polled from C (the floor)',
  'delivery.relay': 'signal → IRR through the tsvmm user-space relay (KvmPartition relay mode), from Node',
  'delivery.relay_c': 'signal → IRR through a C relay thread (read + KVM_SIGNAL_MSI), signalled and polled from C',
  'delivery.relay_c.node_harness': 'the C relay, signalled and polled from Node: the harness share of the relay ratio',
  'delivery.relay_over_irqfd': 'the relay against kernel irqfd, both from Node: what irqfd saves',
  'delivery.overflow': 'signal → IRR through an overflow route (beyond the kernel routes, relayed by the irqfd engine), against the relay, from Node',
};

/** One Node-side sample: clear IRR (untimed), signal, poll KVM_GET_LAPIC until the vector shows. */
function nodeSample(p: KvmBenchPartition, signal: () => void, irrSet: () => boolean, vcpu: number): number {
  p.clearIrr(vcpu);
  const t0 = process.hrtime.bigint();
  signal();
  for (;;) {
    if (irrSet()) break;
    if (Number(process.hrtime.bigint() - t0) > TIMEOUT_MS * 1e6) {
      throw measurementFailed(`vector 0x${VECTOR.toString(16)} never reached vCPU ${vcpu}'s IRR within ${TIMEOUT_MS} ms after the signal`);
    }
  }
  return Number(process.hrtime.bigint() - t0) / 1000;
}

function nativeBatch(native: NativeBench, eventFd: number, vcpuFd: number, n: number): number[] {
  const out = new Float64Array(n);
  const rc = native.measureSignalToIrr(eventFd, vcpuFd, VECTOR, out);
  if (rc === -ETIMEDOUT) throw measurementFailed(`the C harness never saw vector 0x${VECTOR.toString(16)} in the IRR within a second of the eventfd write`);
  if (rc < 0) throw measurementFailed(`the C harness failed with ${systemErrorName(-rc)}`);
  return Array.from(out, (ns) => ns / 1000);
}

/** How the engine delivers a kernel-mode route (`kernel` or `emulated`: relayed); routes of other irqfds have no such field. */
function mediationOf(route: IrqFdRoute): unknown {
  return (route as Partial<{ readonly mediation: unknown }>).mediation;
}

function program(route: IrqFdRoute, apicId: number): void {
  route.setMsi(0xfee00000 + apicId * 0x1000, VECTOR);
  route.unmask();
}

export const deliverySection: BenchSection = {
  id: 'delivery',
  title: 'delivery latency on KVM',
  steps: 1,
  async run(ctx: SectionContext): Promise<SectionOutput> {
    const out = emptyOutput();
    ctx.progress.step('delivery: irqfd / raw write / relay / C relay / overflow (signal → IRR, interleaved)');
    const names = Object.keys(DESCRIPTIONS);
    const skipAll = (reason: string): SectionOutput => {
      ctx.progress.note(`delivery: skipped: ${reason}`);
      out.metrics.push(...names.map((n) => skippedMetric(n, 'µs', DESCRIPTIONS[n]!, reason)));
      return out;
    };
    const unavailable = ctx.kvmUnavailable;
    if (unavailable) return skipAll(unavailable);
    let native: NativeBench;
    try {
      native = loadNativeBench();
    } catch (e) {
      if (e instanceof NativeUnavailable) return skipAll(e.message);
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
    if (mediationOf(overflowRoute) !== 'emulated') throw measurementFailed(`the overflow route was given a kernel GSI (mediation '${String(mediationOf(overflowRoute))}'), so it measures no overflow`);
    using cRelay = native.startRelay(relayed.vmFd, 0xfee00000 + relayApicId * 0x1000, 0, VECTOR);
    const irqfdFd = irqfdRoute.event.fd!;
    const kernelVcpuFd = kernel.vcpuFd(vcpu);
    const relayVcpuFd = relayed.vcpuFd(vcpu);
    // The C relay's eventfd is written from Node with the same write(2) the Event uses.
    const signalCRelay = (): void => relayed.writeEventFd(cRelay.eventFd);

    const rounds = ctx.quick ? 6 : 100;
    const batch = ctx.quick ? 40 : 200;
    const nodeBatch = (k: KvmBench, signal: () => void, irrSet: () => boolean): number[] => {
      const s: number[] = [];
      for (let i = 0; i < batch; i++) s.push(nodeSample(k.partition, signal, irrSet, vcpu));
      return s;
    };
    const kernelIrr = kernel.irrPoller(vcpu, VECTOR);
    const relayIrr = relayed.irrPoller(vcpu, VECTOR);
    const overflowIrr = overflowed.irrPoller(vcpu, VECTOR);
    const fns = [
      () => nodeBatch(kernel, () => irqfdRoute.event.signal(), kernelIrr),
      () => nativeBatch(native, irqfdFd, kernelVcpuFd, batch),
      () => nodeBatch(relayed, () => relayRoute.event.signal(), relayIrr),
      () => nativeBatch(native, cRelay.eventFd, relayVcpuFd, batch),
      () => nodeBatch(relayed, signalCRelay, relayIrr),
      () => nodeBatch(overflowed, () => overflowRoute.event.signal(), overflowIrr),
    ];
    for (const f of fns) f(); // warm-up: JIT, page faults, first epoll wake-ups; not recorded
    const samples = interleave(rounds, fns, (r) => ctx.progress.update(r, rounds, `round ${r}/${rounds}`));
    await relayed.settle();
    await overflowed.settle();
    if (mediationOf(overflowRoute) !== 'emulated') throw measurementFailed('the overflow route moved to a kernel GSI during the run');
    if (cRelay.error() !== 0) throw measurementFailed(`the C relay thread stopped with ${systemErrorName(cRelay.error())}`);

    const [irqfd, raw, relay, relayC, relayCNode, overflow] = samples.map((s) => summarize(s)) as [
      ReturnType<typeof summarize>,
      ReturnType<typeof summarize>,
      ReturnType<typeof summarize>,
      ReturnType<typeof summarize>,
      ReturnType<typeof summarize>,
      ReturnType<typeof summarize>,
    ];
    const m = (name: string, v: ReturnType<typeof summarize>, base?: [string, ReturnType<typeof summarize>], target?: [number, string]): Metric =>
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
    const labels = ['delivery.irqfd', 'delivery.raw_write', 'delivery.relay', 'delivery.relay_c', 'delivery.relay_c.node_harness', 'delivery.overflow'];
    samples.forEach((s, i) => out.distributions.push(distribution(labels[i]!, 'µs', s)));
    out.notes.push(
      `delivery: vCPU ${vcpu}, vector 0x${VECTOR.toString(16)}, ${rounds} interleaved rounds of ${batch} samples each; the C harness and C relay are ${native.library}.`,
    );
    return out;
  },
};
