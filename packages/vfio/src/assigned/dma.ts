/**
 * Guest RAM mapped for the device's DMA: `VFIO_IOMMU_MAP_DMA` on the type1v2 container (legacy
 * path) or `IOMMU_IOAS_MAP` at a fixed IOVA in the device's IOAS (cdev path), the IOVA being the
 * guest physical address (docs/interfaces/vfio.md, "DMA mapping"). Unmapped in reverse order on dispose.
 */
import type { VirtError} from '@tsvmm/virt';
import { describeValue, invalidArgument } from '@tsvmm/virt/implement';
import { failure } from '@tsvmm/linux-sys';
import * as calls from '../calls';
import type { VfioDevice } from '../device';

/** One range of guest RAM the device may DMA to. */
export interface GuestRamMapping {
  /** Guest physical address (the IOVA the device uses): a multiple of 4096, number or bigint. */
  readonly guestAddress: number | bigint;
  /** Where the VMM mapped that RAM in this process (the mmap address): a multiple of 4096. */
  readonly hostAddress: number | bigint;
  /** Bytes: a positive multiple of 4096. */
  readonly size: number | bigint;
}

const PAGE = 4096n;
const U64 = (1n << 64n) - 1n;

function toU64(op: string, name: string, value: unknown): bigint {
  if (typeof value === 'bigint' && value >= 0n && value <= U64) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  throw invalidArgument(op, `${name} must be an unsigned 64-bit integer (number or bigint), got ${describeValue(value)}`);
}

/** Checks `list` and returns it as DMA mappings; INVALID_ARGUMENT (nothing done) for a bad one or an overlap. */
export function checkGuestRam(op: string, list: unknown): calls.DmaMapping[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw invalidArgument(op, `dma must be an array of { guestAddress, hostAddress, size }, got ${describeValue(list)}`);
  const out = list.map((m: unknown, i) => {
    if (typeof m !== 'object' || m === null) throw invalidArgument(op, `dma[${i}] must be an object, got ${describeValue(m)}`);
    const r = m as Record<string, unknown>;
    const iova = toU64(op, `dma[${i}].guestAddress`, r.guestAddress);
    const vaddr = toU64(op, `dma[${i}].hostAddress`, r.hostAddress);
    const size = toU64(op, `dma[${i}].size`, r.size);
    if (size === 0n || (iova | vaddr | size) % PAGE !== 0n || iova + size - 1n > U64) {
      throw invalidArgument(op, `dma[${i}] must be 4096-byte aligned with a positive size that does not wrap (guestAddress ${iova}, hostAddress ${vaddr}, size ${size})`);
    }
    return { iova, vaddr, size };
  });
  const sorted = [...out].sort((a, b) => (a.iova < b.iova ? -1 : 1));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.iova < sorted[i - 1]!.iova + sorted[i - 1]!.size) throw invalidArgument(op, `dma ranges overlap at guest address ${sorted[i]!.iova}`);
  }
  return out;
}

/** The mappings made for one device; {@link unmapAll} undoes them. */
export class DmaMappings {
  private readonly done: calls.DmaMapping[] = [];

  constructor(private readonly device: VfioDevice) {}

  /** Maps each range in turn; on a failure throws the typed error, leaving those already made for {@link unmapAll}. */
  mapAll(op: string, list: readonly calls.DmaMapping[]): void {
    for (const m of list) {
      const d = this.device;
      const r = d.path === 'legacy' ? calls.mapDma(d.sys, d.iommuFd, m) : calls.ioasMap(d.sys, d.iommuFd, d.ioasId, m);
      if (r < 0) {
        const call = d.path === 'legacy' ? 'ioctl(VFIO_IOMMU_MAP_DMA)' : 'ioctl(IOMMU_IOAS_MAP)';
        throw failure(r, op, call, {
          detail: `${call} of guest RAM at ${m.iova} (${m.size} bytes) failed`,
          hint: 'Keep the range inside the IOMMU\'s usable IOVA ranges, raise RLIMIT_MEMLOCK (the range is pinned), and do not map it twice.',
        });
      }
      this.done.push(m);
    }
  }

  /** The ranges mapped now. */
  get mapped(): readonly calls.DmaMapping[] {
    return this.done;
  }

  /** Unmaps every range made, newest first; returns the failures (the kernel drops them with the container or iommufd anyway). */
  unmapAll(): VirtError[] {
    const errors: VirtError[] = [];
    const d = this.device;
    for (const m of this.done.splice(0).reverse()) {
      const r = d.path === 'legacy' ? calls.unmapDma(d.sys, d.iommuFd, m.iova, m.size) : calls.ioasUnmap(d.sys, d.iommuFd, d.ioasId, m.iova, m.size);
      if (typeof r === 'number' && r < 0) errors.push(failure(r, 'AssignedPciDevice.dispose', d.path === 'legacy' ? 'ioctl(VFIO_IOMMU_UNMAP_DMA)' : 'ioctl(IOMMU_IOAS_UNMAP)'));
    }
    return errors;
  }
}
