import type { PartitionCapabilities } from './capabilities';
import type { Partition } from './partition';

/**
 * Why a backend is or is not usable, for programs (the sentence in `reason` is for people):
 * `ok`; `platform` (wrong operating system or architecture); `no-device` (the device node or DLL
 * is missing); `permission` (present, but this user may not open it); `unsupported` (a capability
 * the backend needs is missing); `missing-export` (a library or package loads but lacks what the
 * backend needs); `load-failed` (the backend package could not be loaded); `error` (anything else).
 */
export type BackendProbeCode = 'ok' | 'platform' | 'no-device' | 'permission' | 'unsupported' | 'missing-export' | 'load-failed' | 'error';

/** What a backend package reports about this host, without keeping a partition. */
export interface BackendProbe {
  /** `kvm`, `mshv`, `whp`, `software`. */
  readonly backend: string;
  /** Whether a partition can be opened here now. */
  readonly available: boolean;
  /** Machine-readable reason: `ok` exactly when `available`. */
  readonly code: BackendProbeCode;
  /**
   * Why it is not available (device node missing, not Windows, export missing, permission
   * denied), or a note on how it was found. Always a full sentence for people.
   */
  readonly reason: string;
  /** What a partition here would offer, when available. */
  readonly capabilities?: PartitionCapabilities;
}

/** What a tool asks of `open`: a partition with `vcpus` vCPUs, optionally through the relay. */
export interface BackendOpenOptions {
  /** vCPU count, at least 1; the backend's own limit applies (INVALID_ARGUMENT above it). */
  readonly vcpus: number;
  /** `kernel` (kernel irqfd or UNSUPPORTED) and `relay`: only for descriptors with `relayMode`. */
  readonly irqfd?: 'auto' | 'kernel' | 'relay';
}

/**
 * One backend as tools list it: every backend package exports one (`kvmBackend`, `mshvBackend`,
 * `whpBackend`, `softwareBackend`), and a tool such as the `tsvmm` CLI iterates them instead of
 * knowing each package.
 */
export interface BackendDescriptor {
  /** `kvm`, `mshv`, `whp`, `software`. */
  readonly name: string;
  /** Whether `open({ irqfd: 'relay' })` gives the user-space relay as an alternative to kernel irqfd. */
  readonly relayMode?: boolean;
  /** Never throws. */
  probe(): BackendProbe;
  /** Throws a typed VirtError when the backend cannot open here. */
  open(options: BackendOpenOptions): Partition;
}
