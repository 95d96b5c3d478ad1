/**
 * The MSI-X capability's fixed facts (PCI Local Bus / PCIe Base: MSI-X capability, table, PBA;
 * values as in Linux `include/uapi/linux/pci_regs.h` `PCI_MSIX_*`) and the validated placement
 * of the table and the pending-bit array in the device's BARs.
 */
import { checkInteger, invalidArgument, checkOptions } from '@tsvmm/virt/implement';

/** Capability ID of MSI-X in the config-space capability list (capability +0; `PCI_CAP_ID_MSIX`). */
export const MSIX_CAPABILITY_ID = 0x11;
/** Bytes of the capability structure in config space (`PCI_CAP_MSIX_SIZEOF`). */
export const MSIX_CAPABILITY_SIZE = 12;
/** Most vectors one function can have: Table Size is an 11-bit field holding vectors - 1 (`PCI_MSIX_FLAGS_QSIZE` + 1). */
export const MSIX_MAX_VECTORS = 2048;
/** Bytes per table entry: address low, address high, data, vector control (`PCI_MSIX_ENTRY_SIZE`). */
export const MSIX_ENTRY_SIZE = 16;

/** Message Control (capability +2) bit 15: MSI-X Enable (`PCI_MSIX_FLAGS_ENABLE`). */
export const MSIX_CONTROL_ENABLE = 0x8000;
/** Message Control (capability +2) bit 14: Function Mask, which masks every vector without touching their Mask bits (`PCI_MSIX_FLAGS_MASKALL`). */
export const MSIX_CONTROL_FUNCTION_MASK = 0x4000;
/** Vector Control bit 0: the vector's Mask bit, set at reset (`PCI_MSIX_ENTRY_CTRL_MASKBIT`). */
export const MSIX_VECTOR_MASKED = 1;

/** Byte offset of Message Address (bits 31:0, DWORD aligned) in a table entry (`PCI_MSIX_ENTRY_LOWER_ADDR`). */
export const MSIX_ENTRY_ADDRESS_LO = 0;
/** Byte offset of Message Upper Address (bits 63:32) in a table entry (`PCI_MSIX_ENTRY_UPPER_ADDR`). */
export const MSIX_ENTRY_ADDRESS_HI = 4;
/** Byte offset of Message Data in a table entry (`PCI_MSIX_ENTRY_DATA`). */
export const MSIX_ENTRY_DATA = 8;
/** Byte offset of Vector Control (bit 0: Mask) in a table entry (`PCI_MSIX_ENTRY_VECTOR_CTRL`). */
export const MSIX_ENTRY_VECTOR_CONTROL = 12;

/** Where a structure lives: a BAR index (BIR 0-5) and a QWORD-aligned offset into it. */
export interface MsixPlacement {
  /** BAR Indicator: which BAR (0-5) holds the structure. */
  readonly bir: number;
  /** Byte offset in that BAR, a multiple of 8, at most 0xFFFFFFF8. */
  readonly offset: number;
}

/** Where the table and the PBA live, and how many vectors there are; checked by {@link checkLayout}. */
export interface MsixLayoutOptions {
  /** Number of vectors, 1 to 2048. */
  readonly vectors: number;
  /** Placement of the vector table (`vectors * 16` bytes). */
  readonly table: MsixPlacement;
  /** Placement of the pending-bit array (`ceil(vectors / 64) * 8` bytes); may share the table's BAR if they do not overlap. */
  readonly pba: MsixPlacement;
}

/** A checked layout: sizes and both placements. */
export interface MsixLayout {
  /** Number of vectors, 1 to 2048. */
  readonly vectors: number;
  /** BAR (0-5) holding the table. */
  readonly tableBir: number;
  /** Byte offset of the table in its BAR, QWORD aligned. */
  readonly tableOffset: number;
  /** `vectors * 16`. */
  readonly tableSize: number;
  /** BAR (0-5) holding the PBA. */
  readonly pbaBir: number;
  /** Byte offset of the PBA in its BAR, QWORD aligned. */
  readonly pbaOffset: number;
  /** `ceil(vectors / 64) * 8`: the PBA is made of whole QWORDs. */
  readonly pbaSize: number;
}

/**
 * Bytes of the vector table for `vectors` vectors: 16 per entry (PCIe Base, MSI-X Table Structure).
 *
 * @throws VirtError INVALID_ARGUMENT, naming `vectors`, unless it is an integer from 1 to
 * {@link MSIX_MAX_VECTORS} (2048: Table Size is an 11-bit field holding vectors - 1); nothing is coerced.
 */
export function tableSizeFor(vectors: number): number {
  return checkInteger('tableSizeFor', 'vectors', vectors, 1, MSIX_MAX_VECTORS) * MSIX_ENTRY_SIZE;
}

/**
 * Bytes of the pending-bit array for `vectors` vectors: one bit each, in whole QWORDs
 * (`ceil(vectors / 64) * 8`; PCIe Base, MSI-X PBA Structure).
 *
 * @throws VirtError INVALID_ARGUMENT, naming `vectors`, unless it is an integer from 1 to
 * {@link MSIX_MAX_VECTORS}; nothing is coerced.
 */
export function pbaSizeFor(vectors: number): number {
  return Math.ceil(checkInteger('pbaSizeFor', 'vectors', vectors, 1, MSIX_MAX_VECTORS) / 64) * 8;
}

/**
 * Checks a layout: 1-2048 vectors, BIR 0-5 (6 and 7 are reserved), offsets QWORD aligned and
 * representable in the 29-bit offset field, table and PBA not overlapping when they share a BAR.
 * Throws INVALID_ARGUMENT, naming the field.
 */
export function checkLayout(operation: string, options: MsixLayoutOptions): MsixLayout {
  if (typeof options !== 'object' || options === null) throw invalidArgument(operation, 'options must be an object');
  const vectors = checkInteger(operation, 'vectors', options.vectors, 1, MSIX_MAX_VECTORS);
  const place = (name: string, p: MsixPlacement | undefined): MsixPlacement => {
    if (typeof p !== 'object' || p === null) throw invalidArgument(operation, `${name} must be an object { bir, offset }`);
    checkOptions<MsixPlacement>(operation, name, p, ['bir', 'offset']);
    const bir = checkInteger(operation, `${name}.bir`, p.bir, 0, 5);
    const offset = checkInteger(operation, `${name}.offset`, p.offset, 0, 0xfffffff8);
    if (offset % 8 !== 0) {
      throw invalidArgument(operation, `${name}.offset must be QWORD aligned (a multiple of 8), got ${offset}`, 'The capability stores offset bits 31:3 only.');
    }
    return { bir, offset };
  };
  const table = place('table', options.table);
  const pba = place('pba', options.pba);
  const tableSize = tableSizeFor(vectors);
  const pbaSize = pbaSizeFor(vectors);
  if (table.bir === pba.bir && table.offset < pba.offset + pbaSize && pba.offset < table.offset + tableSize) {
    throw invalidArgument(
      operation,
      `the table (BAR ${table.bir}, 0x${table.offset.toString(16)}-0x${(table.offset + tableSize - 1).toString(16)}) ` +
        `overlaps the PBA (0x${pba.offset.toString(16)}-0x${(pba.offset + pbaSize - 1).toString(16)})`,
      'Place them apart: the table needs vectors*16 bytes, the PBA ceil(vectors/64)*8.',
    );
  }
  return Object.freeze({
    vectors,
    tableBir: table.bir,
    tableOffset: table.offset,
    tableSize,
    pbaBir: pba.bir,
    pbaOffset: pba.offset,
    pbaSize,
  });
}
