/**
 * Where an x86 MSI lands: a model of the interrupt bus over a set of {@link LocalApicModel}s, shared
 * by the software backend and by the kernel and DLL models that tests put behind a backend's
 * system-call or FFI seam, so every model delivers the same way.
 *
 * Decoding follows the Intel SDM ("Message Signalled Interrupts"; see the MSI codec): physical mode
 * picks the APIC whose ID matches (all-ones broadcasts: 0xFF, or 0xFFFFFFFF with x2APIC). Logical
 * mode in xAPIC uses the flat model with logical ID `1 << apicId` (the model has no guest to
 * program LDR), so only APIC IDs 0-7 are logically addressable; in x2APIC it uses the cluster
 * model, whose logical ID the hardware derives from the APIC ID (Intel SDM "Logical Destination
 * Mode in x2APIC Mode": cluster `id >> 4` in bits 31:16, bit `id & 15` in bits 15:0). Lowest
 * priority picks the first matching APIC, deterministically.
 */
import { invalidArgument } from '../errors';
import { decodeMsi } from '../msi/codec';
import { checkBoolean, checkInteger, checkObject, describeValue } from '../validate';
import { LocalApicModel } from './local-apic-model';

/** The vCPUs an {@link ApicBus} delivers to, and how wide its destination IDs are. */
export interface ApicBusOptions {
  /** APIC ID of each vCPU, in vCPU order. */
  readonly apicIds: readonly number[];
  /** Destination IDs are 32-bit (x2APIC, upper bits from `addressHi`); else 8-bit. Default false. */
  readonly x2apic?: boolean;
}

/**
 * The interrupt bus: decodes an MSI and delivers it to the {@link LocalApicModel}s it names
 * (physical, logical flat, lowest priority, broadcast), counting the non-vectored modes.
 */
export class ApicBus {
  /** One model per vCPU, in vCPU order. */
  readonly apics: readonly LocalApicModel[];
  private readonly x2apic: boolean;

  /** INVALID_ARGUMENT unless `options.apicIds` is an array of APIC IDs; each option is read once. */
  constructor(options: ApicBusOptions) {
    const o = checkObject<Partial<Record<keyof ApicBusOptions, unknown>>>('ApicBus', 'options', options);
    const ids = o.apicIds;
    const x2apic = checkBoolean('ApicBus', 'x2apic', o.x2apic, false);
    if (!Array.isArray(ids)) throw invalidArgument('ApicBus', `apicIds must be an array, got ${describeValue(ids)}`);
    this.apics = Object.freeze((ids as unknown[]).map((id) => new LocalApicModel(id as number)));
    this.x2apic = x2apic;
  }

  /** The model of the vCPU whose APIC ID is `apicId`, or undefined when no vCPU has it. */
  byApicId(apicId: number): LocalApicModel | undefined {
    return this.apics.find((a) => a.apicId === apicId);
  }

  /**
   * Delivers one message. Returns true when at least one APIC accepted it; false when no APIC
   * matched or every matching one is software-disabled (the guest blocked it).
   */
  deliver(addressLo: number, addressHi: number, data: number): boolean {
    const f = decodeMsi({ addressLo, addressHi, data });
    let targets: LocalApicModel[];
    if (f.destinationMode === 'physical') {
      const broadcast = f.destinationId === (this.x2apic ? 0xffffffff : 0xff);
      targets = this.apics.filter((a) => broadcast || a.apicId === f.destinationId);
    } else if (this.x2apic) {
      const mda = f.destinationId;
      targets = this.apics.filter((a) => {
        const ldr = logicalIdOf(a.apicId);
        return mda === 0xffffffff || (ldr >>> 16 === mda >>> 16 && (ldr & mda & 0xffff) !== 0);
      });
    } else {
      targets = this.apics.filter((a) => a.apicId < 8 && (f.destinationId & (1 << a.apicId)) !== 0);
    }
    if (f.deliveryMode === 'lowest-priority') targets = targets.slice(0, 1);
    let delivered = false;
    for (const apic of targets) {
      switch (f.deliveryMode) {
        case 'fixed':
        case 'lowest-priority':
          delivered = apic.acceptVector(f.vector, f.triggerMode === 'level') || delivered;
          break;
        case 'nmi':
        case 'smi':
        case 'init':
        case 'extint':
          // A message without a vector is counted in the model's field named after its mode.
          apic[f.deliveryMode]++;
          delivered = true;
          break;
        default:
          break;
      }
    }
    return delivered;
  }
}

/**
 * The logical ID an x2APIC derives from its APIC ID (Intel SDM, "Logical Destination Mode in
 * x2APIC Mode"): cluster `apicId >> 4` in bits 31:16, bit `apicId & 15` set in bits 15:0.
 * INVALID_ARGUMENT unless `apicId` is an integer from 0 to 0xFFFFFFFF.
 */
export function x2apicLogicalId(apicId: number): number {
  return logicalIdOf(checkInteger('x2apicLogicalId', 'apicId', apicId, 0, 0xffffffff));
}

function logicalIdOf(apicId: number): number {
  return (((apicId >>> 4) << 16) | (1 << (apicId & 0xf))) >>> 0;
}
