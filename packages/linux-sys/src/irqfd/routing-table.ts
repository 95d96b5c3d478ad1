/**
 * The partition's routing table as two copies: `desired` (what the routes want now) and
 * `committed` (exactly what the kernel has: it changes only after the routing ioctl succeeded, and
 * the kernel keeps its old table when the ioctl fails, so the two never disagree). A commit pushes
 * the backend's fixed entries, then every desired MSI route, in one ioctl; it is skipped when
 * `desired` already equals `committed`. The table is written from the backend's layout (offsets)
 * and the ioctl issued here, so a commit never calls into the backend's package.
 */
import { type MsiMessage } from '@tsvmm/virt';
import { sameMsi as sameMsiExport } from '@tsvmm/virt/implement';
import { check } from '../check';
import type { IrqFdBackend } from './backend';

/** Bound once: the package entry's re-exports are getters, one extra call per entry of a commit. */
const sameMsi = sameMsiExport;

/**
 * The routing table of one {@link IrqFdEngine}, by GSI, as two copies: desired (what the routes
 * want now) and committed (what the kernel last accepted; a failed routing ioctl leaves the
 * kernel's table as it was). {@link commit} pushes the backend's fixed entries and every desired
 * MSI route in one ioctl, only when the two differ. The engine exposes it as `table` for
 * diagnostics.
 */
export class RoutingTable {
  // Indexed by GSI: a commit of thousands of entries walks arrays, and only the changed entries
  // are copied into `committed` afterwards.
  private readonly desired: (MsiMessage | undefined)[];
  private readonly committed: (MsiMessage | undefined)[];
  private desiredCount = 0;
  /** 1 for each GSI whose desired entry differs from the committed one; a commit is needed while `differingGsis` > 0. */
  private readonly differs: Uint8Array;
  private differingGsis = 0;
  private commits = 0;
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly fixedBytes: number;
  private readonly fixedCount: number;

  constructor(private readonly backend: IrqFdBackend) {
    const t = backend.table;
    this.bytes = new Uint8Array(t.headerSize + t.entrySize * backend.maxTableEntries);
    this.view = new DataView(this.bytes.buffer);
    this.fixedCount = fixedEntryCount(backend);
    this.bytes.set(t.fixedEntries, t.headerSize);
    this.fixedBytes = t.headerSize + t.fixedEntries.length;
    // GSIs run from firstGsi to firstGsi + (maxTableEntries - fixed entries) - 1.
    const gsis = backend.firstGsi + backend.maxTableEntries;
    this.desired = new Array<MsiMessage | undefined>(gsis).fill(undefined);
    this.committed = new Array<MsiMessage | undefined>(gsis).fill(undefined);
    this.differs = new Uint8Array(gsis);
  }

  /** Successful commits so far. */
  get commitCount(): number {
    return this.commits;
  }

  /** True when `desired` differs from what the kernel has. */
  get pending(): boolean {
    return this.differingGsis > 0;
  }

  /** How many GSIs' desired entries differ from the kernel's. */
  get differingCount(): number {
    return this.differingGsis;
  }

  /** What the kernel has now, per GSI in ascending order (fixed entries not included). A copy. */
  kernelRoutes(): ReadonlyMap<number, MsiMessage> {
    const out = new Map<number, MsiMessage>();
    this.committed.forEach((m, gsi) => {
      if (m !== undefined) out.set(gsi, m);
    });
    return out;
  }

  /** The MSI of `gsi` in the table the kernel last accepted, or undefined when it routes no MSI there. */
  kernelMsi(gsi: number): MsiMessage | undefined {
    return this.committed[gsi];
  }

  /** The MSI of `gsi` in the table the next commit pushes, or undefined. */
  desiredMsi(gsi: number): MsiMessage | undefined {
    return this.desired[gsi];
  }

  /** Sets or removes (`undefined`) the desired entry of `gsi`. */
  set(gsi: number, msi: MsiMessage | undefined): void {
    const old = this.desired[gsi];
    if (msi === undefined) {
      if (old === undefined) return;
      this.desiredCount--;
    } else if (old === undefined) {
      this.desiredCount++;
    } else if (sameMsi(old, msi)) {
      return;
    }
    this.desired[gsi] = msi;
    const flag = sameMsi(msi, this.committed[gsi]) ? 0 : 1;
    this.differingGsis += flag - this.differs[gsi]!;
    this.differs[gsi] = flag;
  }

  /**
   * Pushes `desired` if it differs from the kernel's table, its MSI entries in ascending GSI order.
   * On failure throws the typed error and nothing changes (the kernel keeps its table: the ioctl is
   * all or nothing).
   */
  commit(operation: string): void {
    if (this.differingGsis === 0) return;
    const b = this.backend;
    const t = b.table;
    const e = t.msiEntry;
    const type = e.type;
    const n = this.fixedCount + this.desiredCount;
    const view = this.view;
    this.bytes.fill(0, this.fixedBytes, t.headerSize + n * t.entrySize);
    let at = this.fixedBytes;
    const desired = this.desired;
    for (let gsi = 0; gsi < desired.length; gsi++) {
      const m = desired[gsi];
      if (m === undefined) continue;
      if (type !== undefined) view.setUint32(at + type.offset, type.value, true);
      view.setUint32(at + e.gsi, gsi, true);
      view.setUint32(at + e.addressLo, m.addressLo >>> 0, true);
      view.setUint32(at + e.addressHi, m.addressHi >>> 0, true);
      view.setUint32(at + e.data, m.data >>> 0, true);
      at += t.entrySize;
    }
    view.setUint32(t.countOffset, n, true);
    const arg = this.bytes.subarray(0, t.headerSize + n * t.entrySize);
    check(b.sys.ioctl(b.fd, b.ioctls.setRouting, arg), operation, `ioctl(${b.ioctls.setRouting.name}, ${n} entries)`);
    this.commits++;
    const differs = this.differs;
    for (let gsi = 0; gsi < differs.length; gsi++) {
      if (differs[gsi] === 0) continue;
      this.committed[gsi] = desired[gsi];
      differs[gsi] = 0;
    }
    this.differingGsis = 0;
  }
}

/** How many fixed entries every table of `backend` starts with. */
export function fixedEntryCount(backend: IrqFdBackend): number {
  return backend.table.fixedEntries.length / backend.table.entrySize;
}
