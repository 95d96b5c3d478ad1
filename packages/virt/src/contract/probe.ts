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

/**
 * What an x2APIC partition of a backend would reach on this host, beside the default partition
 * that {@link BackendProbe.capabilities} describes (an xAPIC one on every backend, whose MSI
 * destinations stop at APIC ID 0xFE).
 */
export interface X2apicPartitionProbe {
  /** Whether the backend's `x2apic: true` option would create a partition here whose destinations reach APIC IDs above 0xFE. */
  readonly available: boolean;
  /**
   * The largest APIC ID an MSI's physical destination would reach on such a partition (the
   * broadcast ID aside); when not `available`, the largest the backend reaches at all (the
   * default partition's `maxApicId`). An integer from 0 to 0xFFFFFFFE.
   */
  readonly maxApicId: number;
  /** How to get it (the option and the host fact the limit comes from), or why it cannot be had; a sentence for people. */
  readonly reason: string;
}

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
  /**
   * What an x2APIC partition would reach, when available and the backend says (backends written
   * against an older contract leave it out): `capabilities` describes the default partition only.
   */
  readonly x2apicPartition?: X2apicPartitionProbe;
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
