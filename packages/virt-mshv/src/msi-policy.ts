/**
 * Which MSIs the mshv backend accepts, checked before any system call. The shared x86 rules
 * (`validateMsi` of `@tsvmm/virt`: the 0xFEE window, reserved bits, delivery modes, vectors below
 * 16) plus what mshv's kernel gets wrong if it is given them (`drivers/hv/mshv_irq.c`,
 * `mshv_eventfd.c`):
 *
 * - a nonzero upper address: MSHV_SET_MSI_ROUTING rejects the whole table with EINVAL, so only
 *   APIC IDs 0-255 are addressable;
 * - an address outside 0xFEExxxxx: the kernel does not check the window and would inject whatever
 *   the bits decode to;
 * - a physical destination without a VP: the root-scheduler fast path indexes the VP array by APIC
 *   ID (APIC ID = VP index) and dereferences the missing VP, a host kernel oops;
 * - vector 0, which is also what an unrouted GSI injects, so it never means anything else.
 */
import { type MsiFields, type MsiMessage, type MsiPolicy, VirtError, decodeMsi, describeMsi, toMsiMessage, validateMsi } from '@tsvmm/virt';
import { parseMsiWords } from '@tsvmm/virt/implement';

/**
 * The shared-codec policy for mshv: `addressHi` must be 0 (MSHV_SET_MSI_ROUTING rejects the whole
 * table otherwise). {@link parseMshvMsi} adds the checks that depend on the partition.
 */
export const MSHV_MSI_POLICY: MsiPolicy = Object.freeze({ addressHi: 'reject', backend: 'mshv' });

/**
 * Turns `(address, data)` into a message this partition can take, or throws INVALID_ARGUMENT /
 * INVALID_MSI saying why. `vcpuCount`: VP indexes (= APIC IDs) 0 .. vcpuCount-1 exist.
 */
export function parseMshvMsi(operation: string, address: unknown, data: unknown, vcpuCount: number): MsiMessage {
  const msg = toMsiMessage(operation, address, data);
  return checkMshvMsi(operation, msg, validateMsi(operation, msg, MSHV_MSI_POLICY), vcpuCount);
}

/**
 * {@link parseMshvMsi} for a message held as its three 32-bit words (an MSI-X table entry): the
 * address is never joined. INVALID_ARGUMENT unless each word is an integer from 0 to 0xFFFFFFFF;
 * then the same checks and errors.
 */
export function parseMshvMsiWords(operation: string, addressLo: number, addressHi: number, data: number, vcpuCount: number): MsiMessage {
  const msg = parseMsiWords(operation, addressLo, addressHi, data, MSHV_MSI_POLICY);
  return checkMshvMsi(operation, msg, decodeMsi(msg), vcpuCount);
}

/** The checks that depend on the partition, on a message the shared rules accepted (`f`: its fields). */
function checkMshvMsi(operation: string, msg: MsiMessage, f: MsiFields, vcpuCount: number): MsiMessage {
  const fail = (detail: string, hint: string): VirtError =>
    new VirtError('INVALID_MSI', { operation, detail: `${detail}: ${describeMsi(msg)}`, hint: `${hint} Nothing was changed.` });
  if (f.destinationMode === 'physical' && f.destinationId >= vcpuCount) {
    throw fail(
      `physical destination APIC ID ${f.destinationId} has no VP in this partition (VPs 0-${vcpuCount - 1}; APIC ID = VP index), ` +
        'and the mshv kernel would index its VP array with it',
      `Target an APIC ID from 0 to ${vcpuCount - 1}, or use logical destination mode.`,
    );
  }
  if (f.vector === 0) {
    throw fail('vector 0 is refused on mshv (an unrouted GSI injects vector 0, so it never means a real interrupt)', 'Use a vector from 16 to 255.');
  }
  return msg;
}

/** The delivery fields a hypervisor interrupt needs, from a validated message. */
export function msiToInterrupt(msg: MsiMessage): { type: number; logical: boolean; level: boolean; destination: number; vector: number } {
  const f = decodeMsi(msg);
  return { type: f.deliveryModeCode, logical: f.destinationMode === 'logical', level: f.triggerMode === 'level', destination: f.destinationId & 0xff, vector: f.vector };
}
