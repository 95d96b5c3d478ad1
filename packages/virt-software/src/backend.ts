/**
 * The software backend as a registry entry: a name, a probe with a machine-readable reason code
 * beside the sentence, and `open`. Tools that list backends (the `tsvmm` CLI) iterate such
 * descriptors instead of knowing each package.
 */
import type { BackendDescriptor, BackendProbe } from '@tsvmm/virt';
import { SoftwarePartition, type SoftwarePartitionOptions, probe } from './software-partition';

/** {@link BackendProbe} with its reason code: the software model is always `ok`. */
export interface SoftwareBackendProbe extends BackendProbe {
  readonly code: 'ok';
}

/** The software backend descriptor. */
export const softwareBackend = Object.freeze({
  /** Always `software`. */
  name: 'software',
  /** Its irqfd is always the in-process relay: there is no separate relay mode. */
  relayMode: false,
  /** Always available (`code` `ok`), with the capabilities of a one-vCPU partition. Never throws. */
  probe(): SoftwareBackendProbe {
    return { ...probe(), code: 'ok' as const };
  },
  /** {@link SoftwarePartition.create}; throws its typed errors. */
  open(options: SoftwarePartitionOptions): SoftwarePartition {
    return SoftwarePartition.create(options);
  },
} as const) satisfies BackendDescriptor;
