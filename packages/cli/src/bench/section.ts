import type { Syscalls } from '@tsvmm/linux-sys';
import type { BackendDescriptor } from '../backends/descriptor';
import type { Progress } from './progress';
import type { Distribution, Metric, ScalingPlot } from './result';

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
