/** Runs every section in one process, one after the other, and gathers one {@link BenchResult}. */
import * as os from 'node:os';
import type { BackendDescriptor } from '../backends/descriptor';
import { BACKENDS, backendNamed, guardedProbe } from '../backends/registry';
import type { Progress } from './progress';
import { BENCH_SCHEMA, type BenchResult } from './result';
import type { BenchSection } from './section';

/** Platform, architecture, kernel release, CPU count and model, in one line (`meta.host`). */
export function hostLine(): string {
  return `${process.platform} ${process.arch}, kernel ${os.release()}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown CPU'})`;
}

export async function runBench(
  sections: readonly BenchSection[],
  quick: boolean,
  progress: Progress,
  backends: readonly BackendDescriptor[] = BACKENDS,
): Promise<BenchResult> {
  // The figures are KVM's (the C floors drive its vCPU fds): the registry's kvm entry is the one measured.
  const kvmBackend = backendNamed(backends, 'kvm');
  const kvm = kvmBackend ? guardedProbe(kvmBackend) : undefined;
  const kvmUnavailable = kvm === undefined ? 'KVM is not available: no kvm backend is registered' : kvm.available ? undefined : `KVM is not available: ${kvm.reason}`;
  const started = Date.now();
  const result: BenchResult = {
    schema: BENCH_SCHEMA,
    metrics: [],
    distributions: [],
    scaling: [],
    notes: [],
    meta: {
      startedAt: new Date(started).toISOString(),
      durationMs: 0,
      quick,
      host: hostLine(),
      node: process.version,
    },
  };
  for (const section of sections) {
    const out = await section.run({ quick, progress, kvmUnavailable, kvm: kvmBackend });
    result.metrics.push(...out.metrics);
    result.distributions.push(...out.distributions);
    result.scaling.push(...out.scaling);
    result.notes.push(...out.notes);
  }
  progress.done();
  return { ...result, meta: { ...result.meta, durationMs: Date.now() - started } };
}
