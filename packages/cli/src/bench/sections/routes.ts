/**
 * Routing-table cost on KVM, batched (one KVM_SET_GSI_ROUTING per `IrqFd.batch`) against one
 * commit per change (what VMMs that push the whole table on every MSI-X update do):
 * - `routes.program_2048.*`: reprogram (setMsi) 2048 live routes, each to a new message. The
 *   routes exist and their irqfds are assigned beforehand (untimed): this is the routing-table
 *   work a guest's table writes cause, which batching is for.
 * - `routes.setup_2048.*`: set 2048 vectors up from nothing (new route + eventfd, setMsi, unmask
 *   = KVM_IRQFD assign). Shown so that nobody mistakes the first figure for the whole cost: here
 *   the per-vector eventfd and KVM_IRQFD calls weigh as much as the commits.
 * Interleaved (ABBA), plus a sweep over N for the cost-against-vector-count plot.
 */
import type { IrqFd, IrqFdRoute } from '@tsvmm/virt';
import type { Metric, ScalingSeries } from '../result';
import { skippedMetric, withRatio } from '../result';
import type { BenchSection, SectionContext, SectionOutput } from '../section';
import { emptyOutput } from '../section';
import { interleave, summarize, type Summary } from '../stats';
import { openKvmBench } from './kvm-access';

const N = 2048;

const DESCRIPTIONS: Record<string, string> = {
  'routes.program_2048.batched': 'reprogram (setMsi) 2048 live irqfd routes inside one IrqFd.batch: one KVM_SET_GSI_ROUTING',
  'routes.program_2048.per_change': 'reprogram 2048 live irqfd routes with one KVM_SET_GSI_ROUTING per change',
  'routes.program_2048.commits': 'routing commits to reprogram 2048 routes, batched (value) against per change (baseline)',
  'routes.setup_2048.batched': 'set up 2048 vectors from nothing (eventfd, route, setMsi, unmask = KVM_IRQFD) in one batch',
  'routes.setup_2048.per_change': 'set up 2048 vectors from nothing with one commit per change',
};

interface Timed {
  readonly ms: number;
  readonly commits: number;
}

function timed(irqfd: IrqFd, fn: () => void): Timed {
  const c0 = irqfd.commitCount;
  const t0 = process.hrtime.bigint();
  fn();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, commits: irqfd.commitCount - c0 };
}

/** Message `variant` (0 or 1) of route i: the two variants differ in destination and vector. */
function message(i: number, variant: number, apicIds: readonly number[]): [number, number] {
  const apic = apicIds[(i + variant) % apicIds.length]!;
  return [0xfee00000 + apic * 0x1000, 0x20 + ((i + variant * 7) % 0xdf)];
}

function disposeAll(irqfd: IrqFd, routes: readonly IrqFdRoute[]): void {
  irqfd.batch(() => routes.forEach((r) => r.dispose()));
}

/** n live routes (programmed with variant 0, unmasked), made in one untimed batch. */
function liveRoutes(irqfd: IrqFd, n: number, apicIds: readonly number[]): IrqFdRoute[] {
  const routes: IrqFdRoute[] = [];
  try {
    irqfd.batch(() => {
      for (let i = 0; i < n; i++) {
        const r = irqfd.newIrqFdRoute();
        routes.push(r);
        r.setMsi(...message(i, 0, apicIds));
        r.unmask();
      }
    });
  } catch (e) {
    disposeAll(irqfd, routes);
    throw e;
  }
  return routes;
}

/** Reprograms every route to `variant`; one batch or one commit per change. */
function reprogram(irqfd: IrqFd, routes: readonly IrqFdRoute[], variant: number, batched: boolean, apicIds: readonly number[]): Timed {
  const body = (): void => routes.forEach((r, i) => r.setMsi(...message(i, variant, apicIds)));
  return timed(irqfd, () => (batched ? irqfd.batch(body) : body()));
}

function setup(irqfd: IrqFd, n: number, batched: boolean, apicIds: readonly number[]): Timed {
  const routes: IrqFdRoute[] = [];
  const body = (): void => {
    for (let i = 0; i < n; i++) {
      const r = irqfd.newIrqFdRoute();
      routes.push(r);
      r.setMsi(...message(i, 0, apicIds));
      r.unmask();
    }
  };
  try {
    return timed(irqfd, () => (batched ? irqfd.batch(body) : body()));
  } finally {
    disposeAll(irqfd, routes);
  }
}

function pairMetrics(prefix: string, b: Summary, p: Summary, target: boolean): Metric[] {
  return [
    withRatio({
      name: `${prefix}.batched`,
      unit: 'ms',
      value: b.median,
      p99: b.p99,
      count: b.count,
      baseline: p.median,
      baselineName: `${prefix}.per_change`,
      baselineP99: p.p99,
      baselineCount: p.count,
      description: DESCRIPTIONS[`${prefix}.batched`]!,
      ...(target ? { targetRatioMax: 0.01, targetDescription: 'batched ≥ 100× faster than per change' } : {}),
    }),
    withRatio({ name: `${prefix}.per_change`, unit: 'ms', value: p.median, p99: p.p99, count: p.count, baseline: null, description: DESCRIPTIONS[`${prefix}.per_change`]! }),
  ];
}

export const routesSection: BenchSection = {
  id: 'routes',
  title: 'routing-table commits on KVM',
  steps: 3,
  run(ctx: SectionContext): Promise<SectionOutput> {
    const out = emptyOutput();
    ctx.progress.step(`routes: reprogram ${N} live routes, batched vs one commit per change (interleaved)`);
    const unavailable = ctx.kvmUnavailable;
    if (unavailable) {
      ctx.progress.note(`routes: skipped: ${unavailable}`);
      out.metrics.push(...Object.entries(DESCRIPTIONS).map(([n, d]) => skippedMetric(n, n.endsWith('commits') ? 'commits' : 'ms', d, unavailable)));
      ctx.progress.step('routes: skipped');
      ctx.progress.step('routes: skipped');
      return Promise.resolve(out);
    }
    using kvm = openKvmBench(ctx.kvm, 'kernel');
    const irqfd = kvm.partition.irqfd()!;
    const apicIds = Array.from({ length: kvm.partition.vcpuCount }, (_, v) => kvm.partition.readLocalApic(v).apicId);

    // 1. Reprogramming live routes: the routing-table cost.
    const rounds = ctx.quick ? 2 : 8;
    const batchedRepeat = ctx.quick ? 5 : 20; // batched takes a few ms: many samples per round
    let variant = 0;
    const commits = { batched: 0, perChange: 0 };
    const routes = liveRoutes(irqfd, N, apicIds);
    let programmed: number[][];
    try {
      programmed = interleave(
        rounds,
        [
          () =>
            Array.from({ length: batchedRepeat }, () => {
              const t = reprogram(irqfd, routes, (variant ^= 1), true, apicIds);
              commits.batched = Math.max(commits.batched, t.commits);
              return t.ms;
            }),
          () => {
            const t = reprogram(irqfd, routes, (variant ^= 1), false, apicIds);
            commits.perChange = Math.max(commits.perChange, t.commits);
            return [t.ms];
          },
        ],
        (r) => ctx.progress.update(r, rounds, `round ${r}/${rounds}`),
      );
    } finally {
      disposeAll(irqfd, routes);
    }
    const b = summarize(programmed[0]!);
    const p = summarize(programmed[1]!);
    out.metrics.push(...pairMetrics('routes.program_2048', b, p, true));
    out.metrics.push(
      withRatio({
        name: 'routes.program_2048.commits',
        unit: 'commits',
        value: commits.batched,
        baseline: commits.perChange,
        baselineName: 'routes.program_2048.per_change (commits)',
        description: DESCRIPTIONS['routes.program_2048.commits']!,
      }),
    );

    // 2. Setting vectors up from nothing: eventfds and KVM_IRQFD assigns included.
    ctx.progress.step(`routes: set up ${N} vectors from nothing, batched vs per change (interleaved)`);
    const setupRounds = ctx.quick ? 1 : 4;
    const [setupB, setupP] = interleave(
      setupRounds,
      [() => [setup(irqfd, N, true, apicIds).ms], () => [setup(irqfd, N, false, apicIds).ms]],
      (r) => ctx.progress.update(r, setupRounds, `round ${r}/${setupRounds}`),
    );
    out.metrics.push(...pairMetrics('routes.setup_2048', summarize(setupB!), summarize(setupP!), false));

    // 3. Cost against vector count (reprogramming), for the plot.
    ctx.progress.step('routes: cost against vector count');
    const sizes = ctx.quick ? [16, 128, 512] : [1, 8, 64, 256, 1024];
    const ms: Record<string, [number, number][]> = { batched: [], 'one commit per change': [] };
    const cm: Record<string, [number, number][]> = { batched: [], 'one commit per change': [] };
    sizes.forEach((n, k) => {
      const live = liveRoutes(irqfd, n, apicIds);
      try {
        const bs = Array.from({ length: 5 }, () => reprogram(irqfd, live, (variant ^= 1), true, apicIds));
        const pc = reprogram(irqfd, live, (variant ^= 1), false, apicIds);
        ms.batched!.push([n, summarize(bs.map((x) => x.ms)).median]);
        ms['one commit per change']!.push([n, pc.ms]);
        cm.batched!.push([n, bs[0]!.commits]);
        cm['one commit per change']!.push([n, pc.commits]);
      } finally {
        disposeAll(irqfd, live);
      }
      ctx.progress.update(k + 1, sizes.length, `${n} vectors`);
    });
    ms.batched!.push([N, b.median]);
    ms['one commit per change']!.push([N, p.median]);
    cm.batched!.push([N, commits.batched]);
    cm['one commit per change']!.push([N, commits.perChange]);
    const series = (r: Record<string, [number, number][]>): ScalingSeries[] => Object.entries(r).map(([name, points]) => ({ name, points }));
    out.scaling.push(
      { id: 'routes-ms', title: 'KVM: time to reprogram N live routes (ms)', xName: 'vectors', yName: 'ms', logY: true, series: series(ms) },
      { id: 'routes-commits', title: 'KVM: routing-table commits to reprogram N routes', xName: 'vectors', yName: 'commits', logY: true, series: series(cm) },
    );
    out.notes.push(
      `routes: program = setMsi on ${N} routes that already exist with their irqfds assigned (the routing-table work); setup = the same from nothing, where ${N} eventfds and KVM_IRQFD assigns are part of the cost in both columns.`,
    );
    return Promise.resolve(out);
  },
};
