/**
 * The BARs of an assigned function as the VMM's bus sees them: sizes and kinds from vfio
 * (region info, and the type bits vfio-pci's virtual BAR registers report), the guest's
 * virtual BAR registers with their sizing behaviour, and the mmap-able parts of each BAR with
 * the MSI-X table and PBA pages carved out.
 */
import type { MsixLayout } from '@tsvmm/pci-core';
import * as abi from '../abi';
import type { RegionInfo } from '../calls';

/** The page size of x86-64 Linux: the granule of BAR mmap and of the MSI-X carve-out. */
export const PAGE_SIZE = 4096;

/** A byte range inside a BAR. */
export interface BarRange {
  /** Bytes from the start of the BAR. */
  readonly offset: number;
  /** Bytes. */
  readonly size: number;
}

/** One BAR of the assigned function. */
export interface AssignedBar {
  /** BAR number 0-5 (a 64-bit BAR also takes the next number). */
  readonly index: number;
  /** `mem32`, `mem64` or `io` (PCI Local Bus 3.0, section 6.2.5.1). */
  readonly kind: 'mem32' | 'mem64' | 'io';
  /** Whether the memory BAR is prefetchable (BAR bit 3). */
  readonly prefetchable: boolean;
  /** Bytes (a power of two). */
  readonly size: number;
  /** The region's offset in the device fd (opaque; for pread, pwrite and mmap). */
  readonly regionOffset: number;
  /**
   * Page-aligned ranges the VMM may map into the guest directly: `mmap(NULL, size, PROT_READ |
   * PROT_WRITE, MAP_SHARED, deviceFd, regionOffset + offset)` and a memory slot at the BAR's guest
   * address + offset. Empty when vfio does not allow mmap of the region (no
   * VFIO_REGION_INFO_FLAG_MMAP, I/O BARs). Pages holding the MSI-X table or PBA are never listed:
   * their accesses must reach {@link AssignedPciDevice.barRead} / `barWrite` (the emulator).
   */
  readonly mappable: readonly BarRange[];
}

/** Where the MSI-X table and PBA lie: the fields of pci-core's `MsixLayout` the carve-out needs. */
export type MsixPlacementBytes = Pick<MsixLayout, 'tableBir' | 'tableOffset' | 'tableSize' | 'pbaBir' | 'pbaOffset' | 'pbaSize'>;

/** An {@link AssignedBar} from its region info and the type bits of its BAR register. */
export function barFromRegion(info: RegionInfo, typeBits: number, msix: MsixPlacementBytes | undefined): AssignedBar {
  const io = (typeBits & 1) === 1;
  const kind = io ? 'io' : ((typeBits >> 1) & 3) === 2 ? 'mem64' : 'mem32';
  return Object.freeze({
    index: info.index,
    kind,
    prefetchable: !io && (typeBits & 8) !== 0,
    size: info.size,
    regionOffset: info.offset,
    mappable: Object.freeze(mappableRanges(info, io, msix)),
  });
}

function mappableRanges(info: RegionInfo, io: boolean, msix: MsixPlacementBytes | undefined): BarRange[] {
  if (io || (info.flags & abi.VFIO_REGION_INFO_FLAG_MMAP) === 0) return [];
  let ranges: BarRange[] = info.sparseMmap ? info.sparseMmap.map((a) => ({ offset: a.offset, size: a.size })) : [{ offset: 0, size: info.size }];
  if (msix) {
    const holes: BarRange[] = [];
    if (msix.tableBir === info.index) holes.push(pageSpan(msix.tableOffset, msix.tableSize));
    if (msix.pbaBir === info.index) holes.push(pageSpan(msix.pbaOffset, msix.pbaSize));
    for (const h of holes) ranges = ranges.flatMap((r) => cut(r, h));
  }
  return ranges
    .map((r) => {
      const start = Math.ceil(r.offset / PAGE_SIZE) * PAGE_SIZE;
      const end = Math.floor((r.offset + r.size) / PAGE_SIZE) * PAGE_SIZE;
      return { offset: start, size: end - start };
    })
    .filter((r) => r.size > 0)
    .map((r) => Object.freeze(r));
}

function pageSpan(offset: number, size: number): BarRange {
  const start = Math.floor(offset / PAGE_SIZE) * PAGE_SIZE;
  const end = Math.ceil((offset + size) / PAGE_SIZE) * PAGE_SIZE;
  return { offset: start, size: end - start };
}

function cut(r: BarRange, h: BarRange): BarRange[] {
  const rEnd = r.offset + r.size;
  const hEnd = h.offset + h.size;
  if (hEnd <= r.offset || h.offset >= rEnd) return [r];
  const out: BarRange[] = [];
  if (h.offset > r.offset) out.push({ offset: r.offset, size: h.offset - r.offset });
  if (hEnd < rEnd) out.push({ offset: hEnd, size: rEnd - hEnd });
  return out;
}

/**
 * The guest's BAR and ROM BAR registers (config 0x10-0x27, 0x30-0x33): what the guest wrote,
 * read back masked to the size with the type bits, so that writing all ones sizes the BAR
 * (PCI Local Bus 3.0, section 6.2.5.1). The device keeps its host addresses; vfio-pci virtualises
 * these registers too, so nothing is forwarded.
 */
export class VirtualBars {
  /** The six BAR registers as written. */
  readonly regs = new Uint32Array(6);
  /** The ROM BAR register as written. */
  rom = 0;

  constructor(
    /** BAR by number (undefined: unimplemented or the upper half of a 64-bit BAR). */
    private readonly bars: readonly (AssignedBar | undefined)[],
    /** The ROM's size in bytes (0: none). */
    private readonly romSize: number,
  ) {}

  /** The register `i` (0-5) as the guest reads it. */
  read(i: number): number {
    const bar = this.bars[i];
    const v = this.regs[i]!;
    if (bar) {
      if (bar.kind === 'io') return ((v & ~(bar.size - 1) & ~3) | 1) >>> 0;
      const low = bar.size >= 0x1_0000_0000 ? 0 : v & ~(bar.size - 1) & ~0xf;
      return (low | (bar.kind === 'mem64' ? 4 : 0) | (bar.prefetchable ? 8 : 0)) >>> 0;
    }
    const lower = i > 0 ? this.bars[i - 1] : undefined;
    if (lower?.kind === 'mem64') {
      const hiSize = Math.floor(lower.size / 0x1_0000_0000);
      return hiSize === 0 ? v >>> 0 : (v & ~(hiSize - 1)) >>> 0;
    }
    return 0;
  }

  /** The ROM BAR register as the guest reads it: address bits masked to the size, Enable (bit 0) kept. */
  readRom(): number {
    if (this.romSize === 0) return 0;
    return ((this.rom & ~(this.romSize - 1) & 0xfffff800) | (this.rom & 1)) >>> 0;
  }

  /** The guest address of BAR `i` (64-bit BARs joined), or undefined when it is not a BAR. */
  address(i: number): number | undefined {
    const bar = this.bars[i];
    if (!bar) return undefined;
    const low = this.read(i) & (bar.kind === 'io' ? ~3 : ~0xf);
    const high = bar.kind === 'mem64' ? this.read(i + 1) : 0;
    return high * 0x1_0000_0000 + (low >>> 0);
  }

  /** Power-on: every register 0. */
  reset(): void {
    this.regs.fill(0);
    this.rom = 0;
  }
}
