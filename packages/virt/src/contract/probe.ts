import type { PartitionCapabilities } from './capabilities';

/** What a backend package reports about this host, without creating a partition. */
export interface BackendProbe {
  /** `kvm`, `mshv`, `whp`, `software`. */
  readonly backend: string;
  readonly available: boolean;
  /**
   * Why it is not available (device node missing, not Windows, export missing, permission
   * denied), or a note on how it was found. Always a full sentence for people.
   */
  readonly reason: string;
  /** What a partition here would offer, when available. */
  readonly capabilities?: PartitionCapabilities;
}
