/** The MSI a backend's behaviour tests program into a route, in the shapes they need it in. */
import { type MsiEncodeInput, type MsiMessage, encodeMsi } from '@tsvmm/virt';

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
 * takes them, and the whole message.
 * @throws VirtError INVALID_ARGUMENT from `encodeMsi` where a field is out of range.
 */
export function msiTo(apicId: number, vector: number, extra: Omit<MsiEncodeInput, 'destinationId' | 'vector'> = {}): TestMsi {
  const msi = encodeMsi({ destinationId: apicId, vector, ...extra });
  return { address: msi.addressLo, data: msi.data, msi };
}
