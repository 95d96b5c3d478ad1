/**
 * MSI-X emulation costs, measured by the workloads in `../msix-workloads`:
 * - `msix.table_write` / `msix.table_read`: one guest DWORD table access through the emulator (a
 *   write to a masked vector's data: no route change; a read walking the table), against
 *   `msix.baseline_dataview`: a bare DataView access at the same offsets (mean of get and set).
 *   Alternated sample by sample; ns per access.
 * - `msix.enable_2048.commits` / `msix.enable_2048`: a guest programs and unmasks 2048 vectors with
 *   MSI-X off, then sets Enable: the routing commits (and time) that costs with the emulator's
 *   batch, against one commit per change. On KVM when usable, else on counting routes that
 *   commit as KVM does (then the time is the emulator's own work only). Both variants are run once
 *   unrecorded, then in alternating order round by round, so neither pays for a cold start.
 */
import type { IrqFd } from '@tsvmm/virt';
import { type BatchPoints, batchPlot } from '../batch-plot';
import { benchMsixEnable, benchMsixTableAccess, type MsixEnableBenchResult } from '../msix-workloads';
import type { Metric } from '../result';
import { withRatio } from '../result';
import type { BenchSection, SectionContext, SectionOutput } from '../section';
import { emptyOutput } from '../section';
import { distribution, interleave, roundOrder, summarize } from '../stats';

const VECTORS = 2048;

/** Enable rounds per variant: even, so that each variant runs first in as many rounds as the other (ABBA). */
export const ENABLE_ROUNDS = { quick: 2, full: 4 } as const;

/**
 * What the Enable time measures without KVM: the counting routes only count, so the figure is the
 * emulator's own work (walking the table, the routes' calls, the batch), with no ioctl behind it.
 */
export const COUNTING_ROUTES_TIME = "the emulator's own work only: counting routes make no system call, so no KVM commit or KVM_IRQFD cost is in it";

/**
 * The Enable write timed for both variants, `batched` then one commit per change: one run of each
 * first, not recorded (a cold run, the first to reach the JIT and the allocator, would count against
 * whichever ran first), then `rounds` rounds in alternating order (`interleave`: AB, BA, ...). Each
 * variant's results in the order they ran.
 */
export function measureEnableRounds(
  rounds: number,
  run: (batched: boolean) => MsixEnableBenchResult,
  onRound?: (round: number) => void,
): { batched: MsixEnableBenchResult[]; perChange: MsixEnableBenchResult[] } {
  const results = { batched: [] as MsixEnableBenchResult[], perChange: [] as MsixEnableBenchResult[] };
  const variants = [true, false].map((batched) => () => {
    const r = run(batched);
    (batched ? results.batched : results.perChange).push(r);
    return [r.enableMs];
  });
  for (const batched of [true, false]) run(batched); // warm-up, not recorded
  interleave(rounds, variants, onRound);
  return results;
}

export const msixSection: BenchSection = {
  id: 'msix',
  title: 'MSI-X emulation',
  steps: 3,
  run(ctx: SectionContext): Promise<SectionOutput> {
    const out = emptyOutput();
    ctx.progress.step('msix: guest table access vs bare DataView (alternated sample by sample)');
    const opsPerSample = ctx.quick ? 20_000 : 200_000;
    const chunks = ctx.quick ? 3 : 10;
    const write: number[] = [];
    const read: number[] = [];
    const base: number[] = [];
    let vectors = 0;
    for (let c = 0; c < chunks; c++) {
      const r = benchMsixTableAccess({ samples: ctx.quick ? 5 : 10, opsPerSample });
      write.push(...r.tableWriteNsPerOp);
      read.push(...r.tableReadNsPerOp);
      base.push(...r.dataViewNsPerOp);
      vectors = r.vectors;
      ctx.progress.update(c + 1, chunks, `${write.length} samples`);
    }
    const w = summarize(write);
    const rd = summarize(read);
    const d = summarize(base);
    const access = (name: string, s: typeof w, what: string): Metric =>
      withRatio({
        name,
        unit: 'ns',
        value: s.median,
        p99: s.p99,
        count: s.count,
        baseline: d.median,
        baselineName: 'msix.baseline_dataview',
        baselineP99: d.p99,
        baselineCount: d.count,
        description: `${what} (ns per access; ${vectors}-vector device, samples of ${opsPerSample} accesses)`,
        targetRatioMax: 20,
        targetDescription: 'table access ≤ 20× a bare DataView access',
      });
    out.metrics.push(
      access('msix.table_write', w, "guest DWORD write to a masked vector's Message Data through the emulator (no route change)"),
      access('msix.table_read', rd, 'guest DWORD read of the table through the emulator'),
      withRatio({
        name: 'msix.baseline_dataview',
        unit: 'ns',
        value: d.median,
        p99: d.p99,
        count: d.count,
        baseline: null,
        description: `bare DataView getUint32/setUint32 at the same offsets (mean of the two, ns per access)`,
      }),
    );
    out.distributions.push(
      distribution('msix.table_write', 'ns', write),
      distribution('msix.table_read', 'ns', read),
      distribution('msix.baseline_dataview', 'ns', base),
    );

    const onKvm = ctx.kvmUnavailable === undefined;
    const where = onKvm ? 'KVM (KVM_SET_GSI_ROUTING calls)' : `counting routes that commit as KVM does (${ctx.kvmUnavailable})`;
    const enable = (n: number, batched: boolean): MsixEnableBenchResult => {
      if (!onKvm) return benchMsixEnable({ vectors: n, batched });
      using p = ctx.kvm!.open({ vcpus: 2, irqfd: 'kernel' });
      const irqfd: IrqFd = p.irqfd()!;
      return benchMsixEnable({ irqfd, vectors: n, batched });
    };

    ctx.progress.step(`msix: Enable with ${VECTORS} programmed vectors, batched vs one commit per change, warmed up and interleaved, on ${onKvm ? 'KVM' : 'counting routes'}`);
    const rounds = ctx.quick ? ENABLE_ROUNDS.quick : ENABLE_ROUNDS.full;
    const results = measureEnableRounds(rounds, (batched) => enable(VECTORS, batched), (r) => ctx.progress.update(r, rounds, `round ${r}/${rounds}`));
    const eb = summarize(results.batched.map((r) => r.enableMs));
    const ep = summarize(results.perChange.map((r) => r.enableMs));
    const commitsB = Math.max(...results.batched.map((r) => r.commits));
    const commitsP = Math.max(...results.perChange.map((r) => r.commits));
    out.metrics.push(
      withRatio({
        name: 'msix.enable_2048.commits',
        unit: 'commits',
        value: commitsB,
        baseline: commitsP,
        baselineName: 'msix.enable_2048.per_change (commits)',
        description: `routing commits of the Enable write that arms ${VECTORS} programmed vectors, batched against one per change, on ${where}`,
        targetValueMax: 1,
        targetDescription: 'one commit',
      }),
      withRatio({
        name: 'msix.enable_2048',
        unit: 'ms',
        value: eb.median,
        p99: eb.p99,
        count: eb.count,
        baseline: ep.median,
        baselineName: 'msix.enable_2048.per_change',
        baselineP99: ep.p99,
        baselineCount: ep.count,
        description: `time of that Enable write, batched against one commit per change, both warmed up and run in alternating order (${onKvm ? 'KVM: commits plus 2048 KVM_IRQFD assigns' : COUNTING_ROUTES_TIME})`,
      }),
    );

    ctx.progress.step('msix: Enable cost against vector count');
    const sizes = ctx.quick ? [8, 128, 512] : [1, 8, 64, 256, 1024];
    const series: { ms: BatchPoints; commits: BatchPoints } = { ms: [[], []], commits: [[], []] };
    sizes.forEach((n, k) => {
      // Alternating which variant runs first, size by size, as the rounds above do.
      roundOrder(k, 2).forEach((i) => {
        const r = enable(n, i === 0);
        series.ms[i]!.push([n, Math.max(r.enableMs, 1e-3)]);
        series.commits[i]!.push([n, Math.max(r.commits, 1e-3)]);
      });
      ctx.progress.update(k + 1, sizes.length, `${n} vectors`);
    });
    series.ms[0].push([VECTORS, eb.median]);
    series.ms[1].push([VECTORS, ep.median]);
    series.commits[0].push([VECTORS, commitsB]);
    series.commits[1].push([VECTORS, commitsP]);
    out.scaling.push(
      batchPlot('msix-enable', `MSI-X Enable with N programmed vectors: time (ms), on ${onKvm ? 'KVM' : 'counting routes'}`, 'ms', series.ms),
      batchPlot('msix-enable-commits', 'MSI-X Enable with N programmed vectors: routing commits', 'commits', series.commits),
    );
    if (!onKvm) out.notes.push(`msix: Enable measured on ${where}; its time is ${COUNTING_ROUTES_TIME}`);
    return Promise.resolve(out);
  },
};
