/**
 * Probes every backend of the registry, in its order of preference. A backend package that fails
 * to load, or a probe that throws, is reported as unavailable with the reason, never as a crash.
 */
import * as os from 'node:os';
import { type BackendDescriptor, type CodedBackendProbe } from '../backends/descriptor';
import { BACKENDS, guardedProbe } from '../backends/registry';

/** The host a {@link ProbeReport} was made on. */
export interface HostInfo {
  /** `process.platform`, e.g. `linux`. */
  readonly platform: string;
  /** `process.arch`, e.g. `x64`. */
  readonly arch: string;
  /** The kernel release (`os.release()`). */
  readonly release: string;
  /** The Node.js version (`process.version`). */
  readonly node: string;
}

/** What `tsvmm probe --json` prints: the host, and each backend's probe. */
export interface ProbeReport {
  /** The host probed. */
  readonly host: HostInfo;
  /** One probe per backend, in the registry's order of preference. */
  readonly backends: readonly CodedBackendProbe[];
  /**
   * The first available backend of `backends` in the registry's order (unfiltered: the one
   * the demo would use), or null when none is available. Always present, also in the JSON.
   */
  readonly best: string | null;
}

/**
 * Probes `backends` (default: every backend the CLI knows, {@link BACKENDS}) in order. Never throws:
 * a package that fails to load or a probe that throws is reported unavailable, with the reason.
 */
export function probeAll(backends: readonly BackendDescriptor[] = BACKENDS): ProbeReport {
  const probes = backends.map(guardedProbe);
  return {
    host: { platform: process.platform, arch: process.arch, release: os.release(), node: process.version },
    backends: probes,
    best: probes.find((b) => b.available)?.backend ?? null,
  };
}
