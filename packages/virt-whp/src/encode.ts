/**
 * An x86 MSI as WHP's WHV_INTERRUPT_CONTROL, through the shared MSI codec: Destination = address
 * bits 19:12, DestinationMode = address bit 2, Vector = data 7:0, Type = data 10:8 (the x86
 * delivery-mode numbers), TriggerMode = data bit 15.
 *
 * This backend's own rule: SMI, RemoteRead and ExtINT (delivery modes 2, 3, 7) have no WHP
 * interrupt type and are refused with INVALID_MSI, as is any address outside 0xFEE00000-0xFEEFFFFF
 * and any nonzero upper address (the partition runs in xAPIC mode: 8-bit APIC IDs). What WHP does
 * with those raw modes is undocumented, so passing them through (as QEMU does) is not an option here.
 */
import { type MsiMessage, type MsiPolicy, decodeMsi } from '@tsvmm/virt';
import { packStruct } from '@tsvmm/ffi';
import { WHV_INTERRUPT_CONTROL, WHV_TRIGGER_PARAMETERS, WHvTriggerTypeInterrupt } from './abi';

/**
 * The shared-codec policy for WHP: `addressHi` must be 0 (xAPIC mode, 8-bit APIC IDs), and only
 * fixed, lowest-priority, NMI and INIT delivery modes (SMI, RemoteRead and ExtINT have no WHP
 * interrupt type; refusing them is this backend's own rule).
 */
export const WHP_MSI_POLICY: MsiPolicy = Object.freeze({
  addressHi: 'reject' as const,
  deliveryModes: Object.freeze(['fixed', 'lowest-priority', 'nmi', 'init'] as const),
  backend: 'WHP',
});

/** The control fields of a message already validated with {@link WHP_MSI_POLICY}. */
function controlValues(msg: MsiMessage) {
  const f = decodeMsi(msg);
  return {
    Type: f.deliveryModeCode,
    DestinationMode: f.destinationMode === 'logical' ? 1 : 0,
    TriggerMode: f.triggerMode === 'level' ? 1 : 0,
    Destination: f.destinationId,
    Vector: f.vector,
  };
}

/** A WHV_INTERRUPT_CONTROL (16 bytes) for WHvRequestInterrupt. */
export function interruptControl(msg: MsiMessage): Uint8Array {
  return packStruct(WHV_INTERRUPT_CONTROL, controlValues(msg));
}

/** WHV_TRIGGER_PARAMETERS (32 bytes) of an Interrupt trigger for `msg`. */
export function triggerParameters(msg: MsiMessage): Uint8Array {
  const c = controlValues(msg);
  return packStruct(WHV_TRIGGER_PARAMETERS, {
    TriggerType: WHvTriggerTypeInterrupt,
    'Interrupt.Type': c.Type,
    'Interrupt.DestinationMode': c.DestinationMode,
    'Interrupt.TriggerMode': c.TriggerMode,
    'Interrupt.Destination': c.Destination,
    'Interrupt.Vector': c.Vector,
  });
}
