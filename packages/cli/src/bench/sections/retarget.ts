/**
 * Retarget storms on KVM: a guest moving N live vectors between vCPUs one at a time (mask, rewrite
 * the entry, unmask, as Linux does for irqbalance or CPU hot-unplug), with the partition's
 * coalesced retargets (`retargetWindowMs`) against without them (every retarget a whole-table
 * KVM_SET_GSI_ROUTING):
 * - `retarget.storm_N.commits`: routing commits for the storm and its window's commit;
 * - `retarget.storm_N`: its wall time, ms.
 * After each storm every route is signalled once and must land, once, on its new message (checked
 * on up to 64 routes whose targets differ; a failure fails the metrics).
 */
import type { IrqFd, LocalApicAccess } from '@tsvmm/virt';
import { failedMetric, skippedMetric, withRatio } from '../result';
import { type BenchSection, MeasurementFailed, type SectionContext, type SectionOutput, emptyOutput } from '../section';
import { openKvmBench } from './kvm-access';
import { disposeAll, liveRoutes, message } from './routes';

/** Long enough that a whole storm falls in one window; the storm then commits it itself. */
export const STORM_WINDOW_MS = 1000;

/** A storm's result: commits and wall time. */
export interface StormResult {
  readonly commits: number;
  readonly ms: number;
}

interface Flushable {
  flushRetargets(): void;
}

/**
 * On `irqfd` (with `retargetWindowMs` set or not): N live routes, then the storm (each route masked,
 * given its second message and unmasked, one call at a time), then the window's commit when
 * coalescing. Times and counts the storm; then checks delivery on up to 64 routes (whose second
 * messages all differ). Disposes the routes. Throws {@link MeasurementFailed} when a signal lands
 * anywhere but on its new target.
 */
export async function retargetStorm(irqfd: IrqFd, apic: LocalApicAccess, n: number, apicIds: readonly number[], settle: () => Promise<void>): Promise<StormResult> {
  const routes = liveRoutes(irqfd, n, apicIds);
  try {
    const c0 = irqfd.commitCount;
    const t0 = process.hrtime.bigint();
    routes.forEach((r, i) => {
      r.mask();
      r.setMsi(...message(i, 1, apicIds));
      r.unmask();
    });
    const flush = (irqfd as Partial<Flushable>).flushRetargets;
    if (typeof flush === 'function') flush.call(irqfd);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const commits = irqfd.commitCount - c0;
    for (let v = 0; v < apicIds.length; v++) apic.clearIrr(v);
    for (let i = 0; i < Math.min(n, 64); i++) {
      const [address, vector] = message(i, 1, apicIds);
      const vcpu = apicIds.indexOf((address >>> 12) & 0xff);
      routes[i]!.event.signal();
      await settle();
      const seen = apicIds.map((_, v) => apic.readLocalApic(v).irr);
      for (let v = 0; v < apicIds.length; v++) apic.clearIrr(v);
      const expected = apicIds.map((_, v) => (v === vcpu ? [vector] : []));
      if (JSON.stringify(seen) !== JSON.stringify(expected)) {
        throw new MeasurementFailed(`after the storm, route ${i}'s signal landed as ${JSON.stringify(seen)}, not on vCPU ${vcpu} vector 0x${vector.toString(16)}`);
      }
    }
    return { commits, ms };
  } finally {
    disposeAll(irqfd, routes);
  }
}

const DESCRIPTION = (n: number, what: 'commits' | 'ms'): string =>
  what === 'commits'
    ? `routing commits when a guest retargets ${n} live vectors one by one (mask, rewrite, unmask): coalesced (retargetWindowMs) against one per retarget`
    : `wall time of that storm of ${n} retargets and its commit, coalesced against one commit per retarget`;

export const retargetSection: BenchSection = {
  id: 'retarget',
  title: 'retarget storms on KVM',
  steps: 1,
  async run(ctx: SectionContext): Promise<SectionOutput> {
    const out = emptyOutput();
    const sizes = ctx.quick ? [64, 512] : [64, 512, 2048];
    ctx.progress.step(`retarget: guests moving ${sizes.join(', ')} live vectors one by one, coalesced vs one commit each`);
    const unavailable = ctx.kvmUnavailable;
    if (unavailable) ctx.progress.note(`retarget: skipped: ${unavailable}`);
    for (const n of sizes) {
      const names = { commits: `retarget.storm_${n}.commits`, ms: `retarget.storm_${n}` };
      if (unavailable) {
        out.metrics.push(skippedMetric(names.commits, 'commits', DESCRIPTION(n, 'commits'), unavailable), skippedMetric(names.ms, 'ms', DESCRIPTION(n, 'ms'), unavailable));
        continue;
      }
      let results: [StormResult, StormResult];
      try {
        const run = async (windowMs: number): Promise<StormResult> => {
          using kvm = openKvmBench(ctx.kvm, 'kernel', { sys: ctx.sys, ...(windowMs > 0 ? { retargetWindowMs: windowMs } : {}) });
          const apicIds = Array.from({ length: kvm.partition.vcpuCount }, (_, v) => kvm.partition.readLocalApic(v).apicId);
          return retargetStorm(kvm.partition.irqfd()!, kvm.partition, n, apicIds, () => kvm.settle());
        };
        results = [await run(STORM_WINDOW_MS), await run(0)];
      } catch (e) {
        if (!(e instanceof MeasurementFailed)) throw e;
        out.metrics.push(failedMetric(names.commits, 'commits', DESCRIPTION(n, 'commits'), e.message), failedMetric(names.ms, 'ms', DESCRIPTION(n, 'ms'), e.message));
        continue;
      }
      const [coalesced, each] = results;
      out.metrics.push(
        withRatio({
          name: names.commits,
          unit: 'commits',
          value: coalesced.commits,
          baseline: each.commits,
          baselineName: `${names.commits} (one per retarget)`,
          description: DESCRIPTION(n, 'commits'),
          targetValueMax: Math.floor(n / 10),
          targetDescription: `at most ${Math.floor(n / 10)} commits (N/10)`,
        }),
        withRatio({ name: names.ms, unit: 'ms', value: coalesced.ms, baseline: each.ms, baselineName: `${names.ms} (one commit per retarget)`, description: DESCRIPTION(n, 'ms') }),
      );
    }
    return out;
  },
};
