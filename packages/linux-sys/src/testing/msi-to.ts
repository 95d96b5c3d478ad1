/** The MSI a backend's behaviour tests program into a route, in the shapes they need it in. */
import { type MsiEncodeInput, type MsiMessage, encodeMsi } from '@tsvmm/virt';
import { invalidArgument } from '@tsvmm/virt/implement';

/** An MSI as the tests use it. */
export interface TestMsi {
  /** The address's low 32 bits (`addressLo`), the first argument of a route's `setMsi`. */
  readonly address: number;
  /** The data word, the second argument of `setMsi`. */
  readonly data: number;
  /** The whole message, as `encodeMsi` returns it. */
  readonly msi: MsiMessage;
}

/**
 * An MSI to APIC ID `apicId` at `vector` (fixed, physical, edge unless `extra` says otherwise, as
 * `encodeMsi` of @tsvmm/virt makes it): `address` and `data` as a route's `setMsi(address, data)`
 * takes them, and the whole message. `address` is the low 32 bits only, so a message that needs the
 * upper address (an APIC ID above 255) is refused: program those with `encodeMsi` and a 64-bit address.
 * @throws VirtError INVALID_ARGUMENT from `encodeMsi` where a field is out of range, or when the
 *   message has a nonzero upper address.
 */
export function msiTo(apicId: number, vector: number, extra: Omit<MsiEncodeInput, 'destinationId' | 'vector'> = {}): TestMsi {
  // `extra` first: from JavaScript it could carry a destinationId or vector of its own.
  const msi = encodeMsi({ ...extra, destinationId: apicId, vector });
  if (msi.addressHi !== 0) throw invalidArgument('msiTo', `APIC ID ${apicId} needs the upper address (0x${msi.addressHi.toString(16)}), which address (its low 32 bits) would drop`, 'Use encodeMsi and pass the 64-bit address to setMsi.');
  return { address: msi.addressLo, data: msi.data, msi };
}
