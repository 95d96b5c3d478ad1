/** Runs every section in one process, one after the other, and gathers one {@link BenchResult}. */
import * as os from 'node:os';
import { type KvmProber, realKvmProbe } from '../backends/kvm-probe';
import type { Progress } from './progress';
import type { BenchResult } from './result';
import type { BenchSection } from './section';

export async function runBench(
  sections: readonly BenchSection[],
  quick: boolean,
  progress: Progress,
  kvmProbe: KvmProber = realKvmProbe,
): Promise<BenchResult> {
  const kvm = kvmProbe();
  const kvmUnavailable = kvm.available ? undefined : `KVM is not available: ${kvm.reason}`;
  const started = Date.now();
  const result: BenchResult = {
    metrics: [],
    distributions: [],
    scaling: [],
    notes: [],
    meta: {
      startedAt: new Date(started).toISOString(),
      durationMs: 0,
      quick,
      host: `${process.platform} ${process.arch}, kernel ${os.release()}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown CPU'})`,
      node: process.version,
    },
  };
  for (const section of sections) {
    const out = await section.run({ quick, progress, kvmUnavailable });
    result.metrics.push(...out.metrics);
    result.distributions.push(...out.distributions);
    result.scaling.push(...out.scaling);
    result.notes.push(...out.notes);
  }
  progress.done();
  return { ...result, meta: { ...result.meta, durationMs: Date.now() - started } };
}
