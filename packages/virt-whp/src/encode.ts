/**
 * An x86 MSI as WHP's WHV_INTERRUPT_CONTROL, described over the shared MSI bit table: Destination = address
 * bits 19:12 with the upper address's bits 31:8 above them (`abi.WHV_DESTINATION_FROM_MSI`), DestinationMode = address bit 2, Vector = data 7:0, Type = data 10:8 (the x86
 * delivery-mode numbers), TriggerMode = data bit 15.
 *
 * This backend's own rule: SMI, RemoteRead and ExtINT (delivery modes 2, 3, 7) have no WHP
 * interrupt type and are refused with INVALID_MSI, as is any address outside 0xFEE00000-0xFEEFFFFF
 * and, in an xAPIC partition, any nonzero upper address (8-bit APIC IDs). In an x2APIC partition
 * the upper address carries destination bits 31:8 into the 32-bit `Destination`. What WHP does
 * with those raw modes is undocumented, so passing them through (as QEMU does) is not an option here.
 */
import type { MsiMessage, MsiPolicy } from '@tsvmm/virt';
import { type MsiStructField, checkMsiStructFields, encodeMsiFields, msiBits } from '@tsvmm/virt/implement';
import { packStruct } from '@tsvmm/ffi';
import { WHV_DESTINATION_FROM_MSI, WHV_INTERRUPT_CONTROL, WHV_TRIGGER_PARAMETERS, WHvTriggerTypeInterrupt } from './abi';

const WHP_DELIVERY_MODES = Object.freeze(['fixed', 'lowest-priority', 'nmi', 'init'] as const);

/**
 * The shared-codec policy for an xAPIC WHP partition: `addressHi` must be 0 (8-bit APIC IDs, an
 * extended destination ID refused), and only fixed, lowest-priority, NMI and INIT delivery modes
 * (SMI, RemoteRead and ExtINT have no WHP interrupt type; refusing them is this backend's own rule).
 */
export const WHP_MSI_POLICY: MsiPolicy = Object.freeze({
  addressHi: 'reject' as const,
  deliveryModes: WHP_DELIVERY_MODES,
  backend: 'WHP',
});

/**
 * The policy of an x2APIC WHP partition whose largest APIC ID is `maxApicId`: the upper address
 * carries destination bits 31:8 (into `Destination`, see `abi.WHV_DESTINATION_FROM_MSI`), an
 * extended destination ID (address bits 11:5) is translated to it before WHP sees the message
 * (WHP has no field for it: the VMM decodes the message), a destination above `maxApicId` is
 * INVALID_MSI naming it, and the delivery modes of {@link WHP_MSI_POLICY}.
 */
export function whpX2apicMsiPolicy(maxApicId: number): MsiPolicy {
  return Object.freeze({ addressHi: 'x2apic-ids' as const, extendedDestinationId: 'translate' as const, maxApicId, deliveryModes: WHP_DELIVERY_MODES, backend: 'WHP' });
}

const F = WHV_INTERRUPT_CONTROL.fields;
const B = WHV_INTERRUPT_CONTROL.bits;

/**
 * What each field of WHV_INTERRUPT_CONTROL takes from a message already validated with
 * {@link WHP_MSI_POLICY}, as data: the one encoding, run on the main thread by
 * {@link interruptControl} and {@link triggerParameters} and in the relay's waiter thread.
 */
export const INTERRUPT_CONTROL_FIELDS: readonly MsiStructField[] = checkMsiStructFields(
  'WHV_INTERRUPT_CONTROL',
  'fields',
  [
    {
      offset: F.Control.offset,
      type: 'u64',
      value: { bits: [msiBits('deliveryMode', B.Type.bit), msiBits('destinationMode', B.DestinationMode.bit), msiBits('triggerMode', B.TriggerMode.bit)] },
    },
    { offset: F.Destination.offset, type: 'u32', value: { bits: WHV_DESTINATION_FROM_MSI } },
    { offset: F.Vector.offset, type: 'u32', value: { bits: [msiBits('vector')] } },
  ],
  WHV_INTERRUPT_CONTROL.size,
);

/** A WHV_INTERRUPT_CONTROL (16 bytes) for WHvRequestInterrupt. */
export function interruptControl(msg: MsiMessage): Uint8Array {
  const out = new Uint8Array(WHV_INTERRUPT_CONTROL.size);
  encodeMsiFields(new DataView(out.buffer), INTERRUPT_CONTROL_FIELDS, msg.addressLo, msg.addressHi, msg.data);
  return out;
}

/** WHV_TRIGGER_PARAMETERS (32 bytes) of an Interrupt trigger for `msg`. */
export function triggerParameters(msg: MsiMessage): Uint8Array {
  const out = packStruct(WHV_TRIGGER_PARAMETERS, { TriggerType: WHvTriggerTypeInterrupt });
  const at = WHV_TRIGGER_PARAMETERS.fields['Interrupt.Control'].offset - F.Control.offset;
  encodeMsiFields(new DataView(out.buffer, out.byteOffset + at, WHV_INTERRUPT_CONTROL.size), INTERRUPT_CONTROL_FIELDS, msg.addressLo, msg.addressHi, msg.data);
  return out;
}
