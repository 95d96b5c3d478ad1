/**
 * Probes every backend of the registry, in its order of preference. A backend package that fails
 * to load, or a probe that throws, is reported as unavailable with the reason, never as a crash.
 */
import * as os from 'node:os';
import { type BackendDescriptor, type CodedBackendProbe } from '../backends/descriptor';
import { BACKENDS, guardedProbe } from '../backends/registry';

export interface HostInfo {
  readonly platform: string;
  readonly arch: string;
  readonly release: string;
  readonly node: string;
}

export interface ProbeReport {
  readonly host: HostInfo;
  readonly backends: readonly CodedBackendProbe[];
  /** The backend the demo would use: the first available in the registry's order. */
  readonly best: string | undefined;
}

export function probeAll(backends: readonly BackendDescriptor[] = BACKENDS): ProbeReport {
  const probes = backends.map(guardedProbe);
  return {
    host: { platform: process.platform, arch: process.arch, release: os.release(), node: process.version },
    backends: probes,
    best: probes.find((b) => b.available)?.backend,
  };
}
