/**
 * The partition's routing table as two copies: `desired` (what the routes want now) and
 * `committed` (exactly what the kernel has: it changes only after the routing ioctl succeeded, and
 * the kernel keeps its old table when the ioctl fails, so the two never disagree). A commit pushes
 * the backend's fixed entries, then every desired MSI route, in one ioctl; it is skipped when
 * `desired` already equals `committed`.
 */
import { type MsiMessage, sameMsi } from '@tsvmm/virt';
import { check } from '../check';
import type { IrqFdBackend } from './backend';

/**
 * The routing table of one {@link IrqFdEngine}, by GSI, as two copies: desired (what the routes
 * want now) and committed (what the kernel last accepted; a failed routing ioctl leaves the
 * kernel's table as it was). {@link commit} pushes the backend's fixed entries and every desired
 * MSI route in one ioctl, only when the two differ. The engine exposes it as `table` for
 * diagnostics.
 */
export class RoutingTable {
  private desired = new Map<number, MsiMessage>();
  private committed = new Map<number, MsiMessage>();
  /** GSIs whose desired entry differs from the committed one: a commit is needed when not empty. */
  private readonly differing = new Set<number>();
  private commits = 0;
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly fixedBytes: number;

  constructor(private readonly backend: IrqFdBackend) {
    const t = backend.table;
    this.bytes = new Uint8Array(t.headerSize + t.entrySize * backend.maxTableEntries);
    this.view = new DataView(this.bytes.buffer);
    for (let i = 0; i < t.fixedEntryCount; i++) t.encodeFixedEntry(this.view, t.headerSize + i * t.entrySize, i);
    this.fixedBytes = t.headerSize + t.fixedEntryCount * t.entrySize;
  }

  /** Successful commits so far. */
  get commitCount(): number {
    return this.commits;
  }

  /** True when `desired` differs from what the kernel has. */
  get pending(): boolean {
    return this.differing.size > 0;
  }

  /** What the kernel has now, per GSI (fixed entries not included). A copy. */
  kernelRoutes(): ReadonlyMap<number, MsiMessage> {
    return new Map(this.committed);
  }

  /** The MSI of `gsi` in the table the kernel last accepted, or undefined when it routes no MSI there. */
  kernelMsi(gsi: number): MsiMessage | undefined {
    return this.committed.get(gsi);
  }

  /** The MSI of `gsi` in the table the next commit pushes, or undefined. */
  desiredMsi(gsi: number): MsiMessage | undefined {
    return this.desired.get(gsi);
  }

  /** Sets or removes (`undefined`) the desired entry of `gsi`. */
  set(gsi: number, msi: MsiMessage | undefined): void {
    const old = this.desired.get(gsi);
    if (msi === undefined) {
      if (old === undefined) return;
      this.desired.delete(gsi);
    } else {
      if (old !== undefined && sameMsi(old, msi)) return;
      this.desired.set(gsi, msi);
    }
    if (sameMsi(this.desired.get(gsi), this.committed.get(gsi))) this.differing.delete(gsi);
    else this.differing.add(gsi);
  }

  /**
   * Pushes `desired` if it differs from the kernel's table. On failure throws the typed error and
   * nothing changes (the kernel keeps its table: the ioctl is all or nothing).
   */
  commit(operation: string): void {
    if (this.differing.size === 0) return;
    const t = this.backend.table;
    const n = t.fixedEntryCount + this.desired.size;
    this.bytes.fill(0, this.fixedBytes, t.headerSize + n * t.entrySize);
    let at = this.fixedBytes;
    for (const [gsi, m] of this.desired) {
      t.encodeMsiEntry(this.view, at, gsi, m);
      at += t.entrySize;
    }
    t.encodeHeader(this.view, n);
    const arg = this.bytes.subarray(0, t.headerSize + n * t.entrySize);
    check(this.backend.calls.setRouting(arg), operation, `ioctl(${this.backend.ioctlNames.setRouting}, ${n} entries)`);
    this.commits++;
    this.committed = new Map(this.desired);
    this.differing.clear();
  }
}
