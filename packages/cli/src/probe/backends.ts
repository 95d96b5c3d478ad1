/**
 * Probes every backend tsvmm knows, in order of preference for the demo: the kernel hypervisors
 * first, the software model last. A backend package that fails to load is reported as
 * unavailable with the reason, never as a crash.
 */
import * as os from 'node:os';
import type { BackendProbe } from '@tsvmm/virt';
import { probeMshv, probeWhp } from './native-probes';
import { type KvmProber, realKvmProbe } from '../backends/kvm-probe';
import { loadSoftware } from '../backends/load';

export const BACKEND_ORDER = ['kvm', 'mshv', 'whp', 'software'] as const;
export type BackendName = (typeof BACKEND_ORDER)[number];

export interface HostInfo {
  readonly platform: string;
  readonly arch: string;
  readonly release: string;
  readonly node: string;
}

export interface ProbeReport {
  readonly host: HostInfo;
  readonly backends: readonly BackendProbe[];
  /** The backend the demo would use: the first available in {@link BACKEND_ORDER}. */
  readonly best: string | undefined;
}

function guarded(backend: string, fn: () => BackendProbe): BackendProbe {
  try {
    return fn();
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return { backend, available: false, reason: `The probe itself failed: ${why}` };
  }
}

export function probeBackend(name: BackendName, kvmProbe: KvmProber = realKvmProbe): BackendProbe {
  switch (name) {
    case 'kvm':
      return guarded('kvm', kvmProbe);
    case 'software':
      return guarded('software', () => loadSoftware().probe());
    case 'mshv':
      return guarded('mshv', () => probeMshv());
    case 'whp':
      return guarded('whp', () => probeWhp());
  }
}

export function probeAll(kvmProbe: KvmProber = realKvmProbe): ProbeReport {
  const backends = BACKEND_ORDER.map((b) => probeBackend(b, kvmProbe));
  return {
    host: { platform: process.platform, arch: process.arch, release: os.release(), node: process.version },
    backends,
    best: backends.find((b) => b.available)?.backend,
  };
}
