/**
 * Routing-table cost on KVM, batched (one KVM_SET_GSI_ROUTING per `IrqFd.batch`) against one
 * commit per change (what VMMs that push the whole table on every MSI-X update do):
 * - `routes.program_2048.*`: reprogram (setMsi) 2048 live routes, each to a new message. The
 *   routes exist and their irqfds are assigned beforehand (untimed): this is the routing-table
 *   work a guest's table writes cause, which batching is for.
 * - `routes.setup_2048.*`: set 2048 vectors up from nothing (new route + eventfd, setMsi, unmask
 *   = KVM_IRQFD assign). Shown so that nobody mistakes the first figure for the whole cost: here
 *   the per-vector eventfd and KVM_IRQFD calls weigh as much as the commits.
 * - `routes.setup_2048.per_route`: that batched setup per route, against
 *   `routes.setup_2048.syscalls_per_route`: the system calls a route needs (eventfd, its
 *   close-on-exec duplicate, KVM_IRQFD) made raw on the same VM through the same bindings, in the
 *   same rounds. Their ratio is what the engine adds to the kernel's own cost of a route.
 * Interleaved (ABBA; three measurements rotate), plus a sweep over N for the cost-against-vector-count plot.
 */
import type * as LinuxSys from '@tsvmm/linux-sys';
import { type IrqFd, type IrqFdRoute, isVirtError } from '@tsvmm/virt';
import { type BatchPoints, batchPlot } from '../batch-plot';
import type { Metric } from '../result';
import { failedMetric, skippedMetric, withRatio } from '../result';
import type { BenchSection, SectionContext, SectionOutput } from '../section';
import { MeasurementFailed, emptyOutput } from '../section';
import { interleave, summarize, type Summary } from '../stats';
import { kvmPackages, openKvmBench } from './kvm-access';

const N = 2048;

const DESCRIPTIONS: Record<string, string> = {
  'routes.program_2048.batched': 'reprogram (setMsi) 2048 live irqfd routes inside one IrqFd.batch: one KVM_SET_GSI_ROUTING',
  'routes.program_2048.per_change': 'reprogram 2048 live irqfd routes with one KVM_SET_GSI_ROUTING per change',
  'routes.program_2048.commits': 'routing commits to reprogram 2048 routes, batched (value) against per change (baseline)',
  'routes.setup_2048.batched': 'set up 2048 vectors from nothing (eventfd, route, setMsi, unmask = KVM_IRQFD) in one batch',
  'routes.setup_2048.per_change': 'set up 2048 vectors from nothing with one commit per change',
  'routes.setup_2048.per_route':
    'routes.setup_2048.batched per route (µs), against the system calls a route needs, made raw in the same rounds: what the engine adds to them',
  'routes.setup_2048.syscalls_per_route':
    'eventfd + fcntl(F_DUPFD_CLOEXEC) + KVM_IRQFD assign per route (µs), for 2048 routes on GSIs the table routes, raw through the same bindings on the same VM',
};

const UNITS: Record<string, string> = {
  'routes.program_2048.commits': 'commits',
  'routes.setup_2048.per_route': 'µs',
  'routes.setup_2048.syscalls_per_route': 'µs',
};
const unitOf = (name: string): string => UNITS[name] ?? 'ms';

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
export function message(i: number, variant: number, apicIds: readonly number[]): [number, number] {
  const apic = apicIds[(i + variant) % apicIds.length]!;
  return [0xfee00000 + apic * 0x1000, 0x20 + ((i + variant * 7) % 0xdf)];
}

export function disposeAll(irqfd: IrqFd, routes: readonly IrqFdRoute[]): void {
  irqfd.batch(() => routes.forEach((r) => r.dispose()));
}

/**
 * Adds `n` routes to `routes` (so that the caller can dispose of those made before a failure), each
 * programmed with variant 0 and, with `unmask`, unmasked: the work of setting up `n` vectors.
 */
function addRoutes(irqfd: IrqFd, routes: IrqFdRoute[], n: number, apicIds: readonly number[], unmask: boolean): void {
  for (let i = 0; i < n; i++) {
    const r = irqfd.newIrqFdRoute();
    routes.push(r);
    r.setMsi(...message(i, 0, apicIds));
    if (unmask) r.unmask();
  }
}

/** n live routes (programmed with variant 0, unmasked), made in one untimed batch. */
export function liveRoutes(irqfd: IrqFd, n: number, apicIds: readonly number[]): IrqFdRoute[] {
  const routes: IrqFdRoute[] = [];
  try {
    irqfd.batch(() => addRoutes(irqfd, routes, n, apicIds, true));
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
  const body = (): void => addRoutes(irqfd, routes, n, apicIds, true);
  try {
    return timed(irqfd, () => (batched ? irqfd.batch(body) : body()));
  } finally {
    disposeAll(irqfd, routes);
  }
}

/** The GSI a route of the irqfd engine holds; routes of other irqfds have no such field. */
function gsiOf(route: IrqFdRoute): number | undefined {
  const gsi = (route as Partial<{ readonly gsi: unknown }>).gsi;
  return typeof gsi === 'number' ? gsi : undefined;
}

/**
 * n routes with an MSI and masked, made in one untimed batch: the kernel table routes their GSIs
 * and no irqfd is assigned on them. Raw irqfds go on these GSIs, so that the kernel does for them
 * what it does for the engine's (which assigns only on a routed GSI: a signal on an unrouted one
 * is lost).
 */
function routedGsis(irqfd: IrqFd, n: number, apicIds: readonly number[]): { readonly routes: IrqFdRoute[]; readonly gsis: number[] } {
  const routes: IrqFdRoute[] = [];
  try {
    irqfd.batch(() => addRoutes(irqfd, routes, n, apicIds, false));
    const gsis = routes.map((r, i) => {
      const gsi = gsiOf(r);
      if (gsi === undefined) throw new MeasurementFailed(`route ${i} of ${n} holds no GSI, so the raw system calls have no routed GSI to assign on`);
      return gsi;
    });
    return { routes, gsis };
  } catch (e) {
    disposeAll(irqfd, routes);
    throw e;
  }
}

/**
 * The system calls one route needs, with nothing of the engine around them, for each GSI of `gsis`:
 * eventfd (non-blocking, close-on-exec, as the engine's), its close-on-exec duplicate
 * (fcntl(F_DUPFD_CLOEXEC): the number a route hands out), and KVM_IRQFD assigning the eventfd on
 * the GSI. Returns the time of those calls for all of `gsis`, in ms. Afterwards, untimed and
 * whatever happened, every irqfd is deassigned and every descriptor closed, before the caller
 * removes the routes of the GSIs (never a route under an assigned irqfd). Throws the first call that
 * fails, as a VirtError.
 */
export function rawRouteSyscalls(sys: LinuxSys.Syscalls, vmFd: number, gsis: readonly number[]): number {
  const { sys: linuxSys, kvmParts } = kvmPackages();
  const { EFD_NONBLOCK, failure } = linuxSys;
  const { KVM_IRQFD, KVM_IRQFD_LAYOUT, KVM_IRQFD_FLAG_DEASSIGN } = kvmParts.kvm;
  const dup = sys.dup?.bind(sys);
  if (dup === undefined) throw new MeasurementFailed('the system calls given cannot duplicate a descriptor (no dup), as a route does');
  const op = 'bench: raw route system calls';
  const field = KVM_IRQFD_LAYOUT.fields;
  const arg = new Uint8Array(KVM_IRQFD_LAYOUT.size);
  const view = new DataView(arg.buffer);
  const n = gsis.length;
  // Preallocated: the timed loop does the system calls and little else.
  const fds = new Int32Array(n).fill(-1);
  const dups = new Int32Array(n).fill(-1);
  let assigned = 0;
  try {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const fd = sys.eventfd(0, EFD_NONBLOCK);
      if (fd < 0) throw failure(fd, op, 'eventfd()');
      fds[i] = fd;
      const d = dup(fd);
      if (d < 0) throw failure(d, op, `fcntl(${fd}, F_DUPFD_CLOEXEC)`);
      dups[i] = d;
      view.setUint32(field.fd.offset, fd, true);
      view.setUint32(field.gsi.offset, gsis[i]!, true);
      view.setUint32(field.flags.offset, 0, true);
      const r = sys.ioctl(vmFd, KVM_IRQFD, arg);
      if (r < 0) throw failure(r, op, `ioctl(KVM_IRQFD, assign eventfd ${fd} to GSI ${gsis[i]!})`);
      assigned = i + 1;
    }
    return Number(process.hrtime.bigint() - t0) / 1e6;
  } finally {
    for (let i = 0; i < assigned; i++) {
      view.setUint32(field.fd.offset, fds[i]!, true);
      view.setUint32(field.gsi.offset, gsis[i]!, true);
      view.setUint32(field.flags.offset, KVM_IRQFD_FLAG_DEASSIGN, true);
      // A deassign the kernel refuses is undone by the close below, which tears the irqfd down.
      sys.ioctl(vmFd, KVM_IRQFD, arg);
    }
    for (let i = 0; i < n; i++) {
      if (dups[i]! >= 0) sys.close(dups[i]!);
      if (fds[i]! >= 0) sys.close(fds[i]!);
    }
  }
}

/**
 * One raw measurement of `n` routes on the partition of `irqfd` (VM `vmFd`): their GSIs routed
 * first (untimed), then {@link rawRouteSyscalls}, then the routes removed. In ms.
 */
export function rawRouteSetup(irqfd: IrqFd, sys: LinuxSys.Syscalls, vmFd: number, n: number, apicIds: readonly number[]): number {
  const { routes, gsis } = routedGsis(irqfd, n, apicIds);
  try {
    return rawRouteSyscalls(sys, vmFd, gsis);
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

/**
 * The batched setup per route against the raw system calls per route (µs), from the setup rounds'
 * times for N routes; both failed with `rawFailed` when the raw calls could not be made.
 */
export function perRouteMetrics(batchedMs: readonly number[], rawMs: readonly number[], rawFailed: string | undefined): Metric[] {
  const perRoute = 'routes.setup_2048.per_route';
  const syscalls = 'routes.setup_2048.syscalls_per_route';
  if (rawFailed !== undefined || rawMs.length === 0) {
    const why = `the raw system calls of a route: ${rawFailed ?? 'no round measured them'}`;
    return [failedMetric(perRoute, 'µs', DESCRIPTIONS[perRoute]!, why), failedMetric(syscalls, 'µs', DESCRIPTIONS[syscalls]!, why)];
  }
  const us = (ms: readonly number[]): Summary => summarize(ms.map((t) => (t * 1000) / N));
  const engine = us(batchedMs);
  const bare = us(rawMs);
  return [
    withRatio({
      name: perRoute,
      unit: 'µs',
      value: engine.median,
      p99: engine.p99,
      count: engine.count,
      baseline: bare.median,
      baselineName: syscalls,
      baselineP99: bare.p99,
      baselineCount: bare.count,
      description: DESCRIPTIONS[perRoute]!,
    }),
    withRatio({ name: syscalls, unit: 'µs', value: bare.median, p99: bare.p99, count: bare.count, baseline: null, description: DESCRIPTIONS[syscalls]! }),
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
      out.metrics.push(...Object.entries(DESCRIPTIONS).map(([n, d]) => skippedMetric(n, unitOf(n), d, unavailable)));
      ctx.progress.step('routes: skipped');
      ctx.progress.step('routes: skipped');
      return Promise.resolve(out);
    }
    using kvm = openKvmBench(ctx.kvm, 'kernel', { sys: ctx.sys });
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

    // 2. Setting vectors up from nothing: eventfds and KVM_IRQFD assigns included; and the same
    // system calls made raw, in the same rounds, for what the engine adds to them.
    ctx.progress.step(`routes: set up ${N} vectors from nothing, batched vs per change vs the raw system calls (interleaved)`);
    const setupRounds = ctx.quick ? 1 : 4;
    let rawFailed: string | undefined;
    const raw = (): number[] => {
      if (rawFailed !== undefined) return [];
      try {
        return [rawRouteSetup(irqfd, kvm.sys, kvm.vmFd, N, apicIds)];
      } catch (e) {
        // The raw figure alone is lost: the engine's setup figures stand without it.
        if (!(isVirtError(e) || e instanceof MeasurementFailed)) throw e;
        rawFailed = e.message;
        ctx.progress.note(`routes: FAILED: the raw system calls of a route: ${rawFailed}`);
        return [];
      }
    };
    const [setupB, setupP, setupRaw] = interleave(
      setupRounds,
      [() => [setup(irqfd, N, true, apicIds).ms], () => [setup(irqfd, N, false, apicIds).ms], raw],
      (r) => ctx.progress.update(r, setupRounds, `round ${r}/${setupRounds}`),
    );
    out.metrics.push(...pairMetrics('routes.setup_2048', summarize(setupB!), summarize(setupP!), false));
    out.metrics.push(...perRouteMetrics(setupB!, setupRaw!, rawFailed));

    // 3. Cost against vector count (reprogramming), for the plot.
    ctx.progress.step('routes: cost against vector count');
    const sizes = ctx.quick ? [16, 128, 512] : [1, 8, 64, 256, 1024];
    const ms: BatchPoints = [[], []];
    const cm: BatchPoints = [[], []];
    sizes.forEach((n, k) => {
      const live = liveRoutes(irqfd, n, apicIds);
      try {
        const bs = Array.from({ length: 5 }, () => reprogram(irqfd, live, (variant ^= 1), true, apicIds));
        const pc = reprogram(irqfd, live, (variant ^= 1), false, apicIds);
        ms[0].push([n, summarize(bs.map((x) => x.ms)).median]);
        ms[1].push([n, pc.ms]);
        cm[0].push([n, bs[0]!.commits]);
        cm[1].push([n, pc.commits]);
      } finally {
        disposeAll(irqfd, live);
      }
      ctx.progress.update(k + 1, sizes.length, `${n} vectors`);
    });
    ms[0].push([N, b.median]);
    ms[1].push([N, p.median]);
    cm[0].push([N, commits.batched]);
    cm[1].push([N, commits.perChange]);
    out.scaling.push(
      batchPlot('routes-ms', 'KVM: time to reprogram N live routes (ms)', 'ms', ms),
      batchPlot('routes-commits', 'KVM: routing-table commits to reprogram N routes', 'commits', cm),
    );
    out.notes.push(
      `routes: program = setMsi on ${N} routes that already exist with their irqfds assigned (the routing-table work); setup = the same from nothing, where ${N} eventfds and KVM_IRQFD assigns are part of the cost in both columns; per_route = the batched setup per route against eventfd + fcntl(F_DUPFD_CLOEXEC) + KVM_IRQFD made raw on the same VM, in the same rounds.`,
    );
    return Promise.resolve(out);
  },
};
