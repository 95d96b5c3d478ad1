import type { BackendProbe, Partition } from '@tsvmm/virt';

/**
 * Why a backend is or is not usable, for programs (the sentence in `reason` is for people):
 * `ok`; `platform` (wrong operating system); `no-device` (the device node or DLL is missing);
 * `permission` (present, but this user may not open it); `unsupported` (a capability the backend
 * needs is missing); `missing-export` (the backend package loads but lacks its descriptor);
 * `load-failed` (the backend package could not be loaded); `not-implemented` (the hypervisor is
 * there, but this release has no backend for it); `error` (anything else).
 */
export type BackendProbeCode =
  | 'ok'
  | 'platform'
  | 'no-device'
  | 'permission'
  | 'unsupported'
  | 'missing-export'
  | 'load-failed'
  | 'not-implemented'
  | 'error';

/** A probe result with its machine-readable reason code. */
export interface CodedBackendProbe extends BackendProbe {
  /** One of {@link BackendProbeCode}; a backend package may report its own codes too. */
  readonly code: string;
}

/** What the CLI asks of `open`: a partition with `vcpus` vCPUs, optionally through the relay. */
export interface BackendOpenOptions {
  readonly vcpus: number;
  /** `kernel` (kernel irqfd or UNSUPPORTED) and `relay` only for descriptors with `relayMode`. */
  readonly irqfd?: 'auto' | 'kernel' | 'relay';
}

/** One backend in the registry: every backend package exports one. */
export interface BackendDescriptor {
  /** `kvm`, `mshv`, `whp`, `software`. */
  readonly name: string;
  /** Whether `open({ irqfd: 'relay' })` gives the user-space relay as an alternative to kernel irqfd. */
  readonly relayMode?: boolean;
  /** Never throws. */
  probe(): CodedBackendProbe;
  /** Throws a typed VirtError when the backend cannot open here. */
  open(options: BackendOpenOptions): Partition;
}
