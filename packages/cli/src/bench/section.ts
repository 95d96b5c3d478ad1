import type { Syscalls } from '@tsvmm/linux-sys';
import type { BackendDescriptor } from '../backends/descriptor';
import type { Progress } from './progress';
import { Stalled } from '../deadline';
import type { Distribution, Metric, ScalingPlot } from './result';
import { failedMetric, skippedMetric } from './result';

export interface SectionContext {
  readonly quick: boolean;
  readonly progress: Progress;
  /** Why KVM benchmarks cannot run here (probed once per run), or undefined when they can. */
  readonly kvmUnavailable: string | undefined;
  /** The registry's kvm backend, opened by the KVM sections when `kvmUnavailable` is undefined. */
  readonly kvm: BackendDescriptor | undefined;
  /**
   * The system calls the KVM sections make themselves, beside the partitions' own: libc when
   * absent. Tests pass a KVM model here, with a `kvm` backend that opens its partitions on it.
   */
  readonly sys?: Syscalls;
}

export interface SectionOutput {
  readonly metrics: Metric[];
  readonly distributions: Distribution[];
  readonly scaling: ScalingPlot[];
  readonly notes: string[];
}

/** One group of benchmarks that share a setup (a KVM partition, an emulator). */
export interface BenchSection {
  readonly id: string;
  readonly title: string;
  /** Progress steps it announces. */
  readonly steps: number;
  run(ctx: SectionContext): Promise<SectionOutput>;
}

export function emptyOutput(): SectionOutput {
  return { metrics: [], distributions: [], scaling: [], notes: [] };
}

/**
 * A check of a section's run that did not hold (a route that is not what the measurement needs, a C
 * relay thread that stopped): the section reports its metrics as failed with this message.
 */
export class MeasurementFailed extends Error {
  override readonly name = 'MeasurementFailed';
}

/** Why a section cannot run here (no KVM, no C compiler, no AIO): its metrics are reported as skipped. */
export interface Unavailable {
  readonly unavailable: string;
}

/**
 * A section's output from its measurement: what `measure` resolves to, unless it is
 * {@link Unavailable} (every metric of `descriptions` reported as skipped with the reason), or it
 * throws {@link Stalled} or {@link MeasurementFailed} (every metric failed with the message: the run
 * exits 1, the sections after it still run). Each outcome is noted on the progress line under `id`.
 * Metrics are in µs. Any other exception propagates.
 */
export async function sectionOutcome(
  ctx: SectionContext,
  id: string,
  descriptions: Readonly<Record<string, string>>,
  measure: () => Promise<SectionOutput | Unavailable>,
): Promise<SectionOutput> {
  const all = (metric: (name: string, description: string) => Metric): SectionOutput => ({
    ...emptyOutput(),
    metrics: Object.entries(descriptions).map(([name, description]) => metric(name, description)),
  });
  let result: SectionOutput | Unavailable;
  try {
    result = await measure();
  } catch (e) {
    if (!(e instanceof Stalled || e instanceof MeasurementFailed)) throw e;
    ctx.progress.note(`${id}: FAILED: ${e.message}`);
    return all((name, description) => failedMetric(name, 'µs', description, e.message));
  }
  if ('unavailable' in result) {
    const reason = result.unavailable;
    ctx.progress.note(`${id}: skipped: ${reason}`);
    return all((name, description) => skippedMetric(name, 'µs', description, reason));
  }
  return result;
}

/**
 * A section of one progress step whose metrics (`descriptions`, in µs) are measured together: it
 * announces `step`, then reports the {@link sectionOutcome} of `measure` under `id`.
 */
export function oneStepSection(
  id: string,
  title: string,
  step: string,
  descriptions: Readonly<Record<string, string>>,
  measure: (ctx: SectionContext) => Promise<SectionOutput | Unavailable>,
): BenchSection {
  return {
    id,
    title,
    steps: 1,
    async run(ctx: SectionContext): Promise<SectionOutput> {
      ctx.progress.step(step);
      return sectionOutcome(ctx, id, descriptions, () => measure(ctx));
    },
  };
}
