/**
 * The plain MSI capability's fixed facts (PCI Local Bus 3.0, section 6.8.1; PCIe Base, "MSI
 * Capability Structure"; offsets and bits as in Linux `include/uapi/linux/pci_regs.h`
 * `PCI_MSI_*`): its ID, the Message Control bits, and where each register lies in each of the
 * four layouts (32 or 64-bit address, with or without per-vector masking).
 */
import { describeValue, invalidArgument } from '@tsvmm/virt/implement';

/** Capability ID of MSI in the config-space capability list (capability +0; `PCI_CAP_ID_MSI`). */
export const MSI_CAPABILITY_ID = 0x05;
/** Most vectors one function can have: Multiple Message Capable 101b = 32. */
export const MSI_MAX_VECTORS = 32;
/** The vector counts a function can request: 2^(Multiple Message Capable), MMC 000b-101b. */
export const MSI_VECTOR_COUNTS: readonly number[] = Object.freeze([1, 2, 4, 8, 16, 32]);

/** Message Control (capability +2) bit 0: MSI Enable (`PCI_MSI_FLAGS_ENABLE`). */
export const MSI_CONTROL_ENABLE = 0x0001;
/** Message Control bits 3:1: Multiple Message Capable, log2 of the vectors requested; read-only (`PCI_MSI_FLAGS_QMASK`). */
export const MSI_CONTROL_MMC = 0x000e;
/** Message Control bits 6:4: Multiple Message Enable, log2 of the vectors granted (`PCI_MSI_FLAGS_QSIZE`). */
export const MSI_CONTROL_MME = 0x0070;
/** Message Control bit 7: 64-bit Address Capable; read-only, selects the layout (`PCI_MSI_FLAGS_64BIT`). */
export const MSI_CONTROL_64BIT = 0x0080;
/** Message Control bit 8: Per-Vector Masking Capable; read-only, adds Mask Bits and Pending Bits (`PCI_MSI_FLAGS_MASKBIT`). */
export const MSI_CONTROL_PER_VECTOR_MASKING = 0x0100;

/** Byte offset of Message Address (bits 31:2; bits 1:0 read 0) in every layout (`PCI_MSI_ADDRESS_LO`). */
export const MSI_ADDRESS_LO = 0x04;
/** Byte offset of Message Upper Address in the 64-bit layouts (`PCI_MSI_ADDRESS_HI`). */
export const MSI_ADDRESS_HI = 0x08;

/** The shape of one MSI capability: what {@link MsiEmulator} is built for. */
export interface MsiLayoutOptions {
  /** Vectors the function requests, 2^(Multiple Message Capable): 1, 2, 4, 8, 16 or 32. */
  readonly vectors: number;
  /** 64-bit Address Capable: adds Message Upper Address (+08) and moves Data to +0C. */
  readonly address64: boolean;
  /** Per-Vector Masking Capable: adds Mask Bits and Pending Bits after Data. */
  readonly perVectorMasking: boolean;
}

/** A checked layout: the options, and each register's byte offset from the capability start. */
export interface MsiLayout extends MsiLayoutOptions {
  /** Multiple Message Capable, log2(`vectors`): 0-5. */
  readonly multipleMessageCapable: number;
  /** Bytes of the structure: 0x0A, 0x0E (64-bit), 0x14 (masking) or 0x18 (both). */
  readonly size: number;
  /** Offset of the 16-bit Message Data: 0x08, or 0x0C with a 64-bit address (`PCI_MSI_DATA_32/64`). */
  readonly dataOffset: number;
  /** Offset of Mask Bits (0x0C, or 0x10 with a 64-bit address), or -1 without per-vector masking (`PCI_MSI_MASK_32/64`). */
  readonly maskOffset: number;
  /** Offset of Pending Bits (Mask Bits + 4), or -1 without per-vector masking (`PCI_MSI_PENDING_32/64`). */
  readonly pendingOffset: number;
}

/**
 * Bytes of the MSI capability structure for a layout: 10, +4 with a 64-bit address, +10 with
 * per-vector masking (Linux vfio-pci `vfio_msi_cap_len`, QEMU `msi_cap_sizeof`).
 *
 * @throws VirtError INVALID_ARGUMENT, naming the argument, unless both are booleans (nothing is
 * coerced: `"false"` or `0` is refused, not read as a flag).
 */
export function msiCapabilitySize(address64: boolean, perVectorMasking: boolean): number {
  if (typeof address64 !== 'boolean') throw invalidArgument('msiCapabilitySize', `address64 (64-bit Address Capable) must be a boolean, got ${describeValue(address64)}`);
  if (typeof perVectorMasking !== 'boolean') {
    throw invalidArgument('msiCapabilitySize', `perVectorMasking (Per-Vector Masking Capable) must be a boolean, got ${describeValue(perVectorMasking)}`);
  }
  return 0x0a + (address64 ? 4 : 0) + (perVectorMasking ? 10 : 0);
}

/** Checks the layout options. Throws INVALID_ARGUMENT, naming the field. */
export function checkMsiLayout(operation: string, options: MsiLayoutOptions): MsiLayout {
  if (typeof options !== 'object' || options === null) throw invalidArgument(operation, 'options must be an object');
  const { vectors, address64, perVectorMasking } = options;
  if (typeof vectors !== 'number' || !MSI_VECTOR_COUNTS.includes(vectors)) {
    throw invalidArgument(operation, `vectors must be 1, 2, 4, 8, 16 or 32 (2^Multiple Message Capable), got ${describeValue(vectors)}`);
  }
  if (typeof address64 !== 'boolean') throw invalidArgument(operation, `address64 (64-bit Address Capable) must be a boolean, got ${describeValue(address64)}`);
  if (typeof perVectorMasking !== 'boolean') {
    throw invalidArgument(operation, `perVectorMasking (Per-Vector Masking Capable) must be a boolean, got ${describeValue(perVectorMasking)}`);
  }
  const dataOffset = address64 ? 0x0c : 0x08;
  const maskOffset = perVectorMasking ? dataOffset + 4 : -1;
  return Object.freeze({
    vectors,
    address64,
    perVectorMasking,
    multipleMessageCapable: Math.log2(vectors),
    size: msiCapabilitySize(address64, perVectorMasking),
    dataOffset,
    maskOffset,
    pendingOffset: perVectorMasking ? maskOffset + 4 : -1,
  });
}
