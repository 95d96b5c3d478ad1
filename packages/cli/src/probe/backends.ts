/**
 * Probes every backend of the registry, in its order of preference. A backend package that fails
 * to load, or a probe that throws, is reported as unavailable with the reason, never as a crash.
 */
import * as os from 'node:os';
import type * as LinuxSys from '@tsvmm/linux-sys';
import { type BackendDescriptor, type CodedBackendProbe } from '../backends/descriptor';
import { BACKENDS, guardedProbe } from '../backends/registry';
import { type VfioProbeOptions, type VfioReport, probeVfio } from './vfio';

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
  /**
   * On Linux x86-64 with `@tsvmm/linux-sys` installed: what this process's confinement costs the
   * Linux backends (descriptor budget and routes per partition, seccomp, kcmp and how a disposed
   * event proves its handed-out duplicate its own). Absent elsewhere.
   */
  readonly limits?: LinuxSys.HostLimits;
}

/** The `schema` of a probe report; the number changes only when a field changes meaning or goes away. */
export const PROBE_SCHEMA = 'tsvmm-probe/1';

/** What `tsvmm probe --json` prints: the host, and each backend's probe (`schemas/probe.schema.json`). */
export interface ProbeReport {
  /** `tsvmm-probe/1`: which document this is, and the version of its shape. */
  readonly schema: typeof PROBE_SCHEMA;
  /** The host probed. */
  readonly host: HostInfo;
  /** One probe per backend, in the registry's order of preference. */
  readonly backends: readonly CodedBackendProbe[];
  /**
   * The first available backend of `backends` in the registry's order (unfiltered: the one
   * the demo would use), or null when none is available. Always present, also in the JSON.
   */
  readonly best: string | null;
  /** What this host offers for VFIO device assignment (`tsvmm probe`'s VFIO section). */
  readonly vfio: VfioReport;
}

/**
 * Probes `backends` (default: every backend the CLI knows, {@link BACKENDS}) in order, and VFIO
 * ({@link probeVfio}, under the roots of `vfio`). Never throws:
 * a package that fails to load or a probe that throws is reported unavailable, with the reason.
 */
export function probeAll(backends: readonly BackendDescriptor[] = BACKENDS, vfio: VfioProbeOptions = {}): ProbeReport {
  const probes = backends.map(guardedProbe);
  return {
    schema: PROBE_SCHEMA,
    host: { platform: process.platform, arch: process.arch, release: os.release(), node: process.version, ...linuxLimits() },
    backends: probes,
    best: probes.find((b) => b.available)?.backend ?? null,
    vfio: probeVfio(vfio),
  };
}

/** The Linux limits, when the Linux layer is installed and supports this host; nothing otherwise, never an error. */
function linuxLimits(): { limits?: LinuxSys.HostLimits } {
  if (process.platform !== 'linux' || process.arch !== 'x64') return {};
  try {
    // An optional dependency: not installed on other platforms, loaded only here.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const linux = require('@tsvmm/linux-sys') as typeof LinuxSys;
    return { limits: linux.hostLimits() };
  } catch {
    return {};
  }
}

