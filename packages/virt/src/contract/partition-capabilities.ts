import type { IrqFdCapabilities, PartitionCapabilities } from './capabilities';
import type { IrqFd } from './irqfd';
import { checkBoolean, checkInteger, checkObject, checkString } from '../validate';

/** What a partition knows beyond its irqfd, for {@link partitionCapabilities}. */
export interface PartitionFacts {
  /** `kvm`, `mshv`, `whp`, `software`. */
  readonly backend: string;
  /** Why irqfd is emulated or missing, for people (empty when kernel-mediated). */
  readonly irqfdReason: string;
  /** Level-triggered irqfds with a resample event are available. */
  readonly resample: boolean;
  /** APIC IDs above 255 can be addressed. */
  readonly x2apic: boolean;
  /** The largest APIC ID a physical destination can reach: 0 to 0xFE without `x2apic`, up to 0xFFFFFFFE with it. */
  readonly maxApicId: number;
  /** Most vCPUs this host allows in one partition. */
  readonly maxVcpus: number;
}

/**
 * A partition's capabilities, frozen, with everything the irqfd decides (`irqfd`, `maxRoutes`)
 * taken from `irqfd.capabilities` (or `none` / 0 without one), so the two never disagree.
 * INVALID_ARGUMENT for malformed facts (among them a `maxApicId` above 0xFE without `x2apic`);
 * each fact is read once.
 */
export function partitionCapabilities(irqfd: Pick<IrqFd, 'capabilities'> | undefined, facts: PartitionFacts): PartitionCapabilities {
  const op = 'partitionCapabilities';
  const f = checkObject<Partial<Record<keyof PartitionFacts, unknown>>>(op, 'facts', facts);
  const backend = checkString(op, 'backend', f.backend);
  const irqfdReason = checkString(op, 'irqfdReason', f.irqfdReason, true);
  const resample = checkBoolean(op, 'resample', f.resample);
  const x2apic = checkBoolean(op, 'x2apic', f.x2apic);
  const maxApicId = checkInteger(op, 'maxApicId', f.maxApicId, 0, x2apic ? 0xfffffffe : 0xfe);
  const maxVcpus = checkInteger(op, 'maxVcpus', f.maxVcpus, 1, 0xffffffff);
  let caps: IrqFdCapabilities | undefined;
  if (irqfd !== undefined) caps = checkObject<{ capabilities: IrqFdCapabilities }>(op, 'irqfd', irqfd).capabilities;
  return Object.freeze({
    backend,
    irqfd: caps?.mediation ?? ('none' as const),
    irqfdReason,
    maxRoutes: caps?.maxRoutes ?? 0,
    resample,
    x2apic,
    maxApicId,
    maxVcpus,
  });
}
