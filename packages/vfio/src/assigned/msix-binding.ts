/**
 * MSI-X on vfio-pci through irqfd: vector v's eventfd is its irqfd route's event, handed to
 * `VFIO_DEVICE_SET_IRQS`, so the host handler signals it and the hypervisor injects with no user
 * space on the path (docs/interfaces/vfio.md, "Interrupts").
 *
 * - Lazy: a vector is bound the first time the guest lets it deliver (Enable set, Function Mask
 *   clear, its own Mask bit clear), as QEMU's vfio_msix_vector_use does. MSI-X Enable with no such
 *   vector enables the index with one allocated vector and no eventfd (QEMU
 *   vfio_enable_msix_no_vec).
 * - Growth: a vector past the allocated block is bound in place where the kernel allocates MSI-X
 *   vectors dynamically (no VFIO_IRQ_INFO_NORESIZE, Linux 6.5+); otherwise the index is disabled
 *   and re-enabled with the larger count and every bound eventfd. The eventfds are the routes'
 *   own, so counts latched in them survive the window.
 * - Masking stays in the routes (the irqfd is detached while masked, signals latch in the eventfd,
 *   the emulator's PBA read folds them in): vfio is not called, its binding stays.
 * - A route whose event is replaced (backends with `stableEvent: false`) is re-pointed inside the
 *   replacement listener, i.e. before the route releases the old event.
 */
import type { IrqFdRoute } from '@tsvmm/virt';
import type { MsixEmulator } from '@tsvmm/pci-core';
import type { VirtError } from '@tsvmm/virt';
import type { VfioIrqIndex } from './irq-index';

/** Reports a failure from a guest-driven path; never throws. */
export type FailureSink = (error: VirtError, operation: string) => void;

/** Keeps vfio-pci's MSI-X bindings in step with the emulator. */
export class MsixBinding {
  /** Vectors bound to their route's event in vfio now. */
  readonly bound: Uint8Array;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    private readonly emu: MsixEmulator,
    private readonly routes: readonly IrqFdRoute[],
    private readonly irq: VfioIrqIndex,
    /** False where VFIO_IRQ_INFO_NORESIZE is set: growth needs a disable and re-enable. */
    private readonly dynamic: boolean,
    private readonly report: FailureSink,
  ) {
    this.bound = new Uint8Array(emu.vectors);
    routes.forEach((r, v) => {
      this.unsubscribe.push(r.onEventReplaced((e) => this.repoint(v, e.fd)));
    });
  }

  private fd(v: number): number {
    return this.routes[v]!.event.fd ?? -1;
  }

  /** The event of vector `v` was replaced: point vfio at the new one before the old one goes. */
  private repoint(v: number, fd: number | undefined): void {
    if (!this.irq.active || this.bound[v] !== 1) return;
    const e = this.irq.bind(v, fd ?? -1, 'MSI-X event replacement');
    if (e) this.report(e, 'MSI-X event replacement');
  }

  /** After a change of Enable or Function Mask: enable, disable, or bind the vectors now open. */
  syncAll(op = 'MSI-X Message Control write'): void {
    if (!this.emu.enabled) {
      if (this.irq.active) {
        this.bound.fill(0);
        const e = this.irq.disable(op);
        if (e) this.report(e, op);
      }
      return;
    }
    const open: number[] = [];
    for (let v = 0; v < this.emu.vectors; v++) if (this.bound[v] === 0 && !this.emu.isMasked(v)) open.push(v);
    if (!this.irq.active) {
      const top = open.length === 0 ? 0 : open[open.length - 1]! + 1;
      const fds = top === 0 ? [-1] : Array.from({ length: top }, (_, v) => (open.includes(v) ? this.fd(v) : -1));
      const e = this.irq.enable(fds, op);
      if (e) return this.report(e, op);
      for (const v of open) this.bound[v] = 1;
      return;
    }
    this.bindVectors(open, op);
  }

  /**
   * After a restore: the vectors the restored state lets deliver, and `live` (the snapshot's live
   * vectors) whatever Function Mask or their own Mask bit say, bound while Enable is set. A vector
   * the guest once let deliver stays live until MSI-X is disabled, as on the device: a raise while
   * it is masked must latch in its route (the PBA shows it), not find no eventfd. With the index
   * disabled (the restore path disables it first) that is one enable with every such eventfd.
   */
  syncRestored(live: readonly number[]): void {
    const op = 'MSI-X restore';
    if (!this.emu.enabled || this.irq.active) {
      this.syncAll();
      if (this.emu.enabled && this.irq.active) this.bindVectors(live.filter((v) => v < this.emu.vectors && this.bound[v] === 0), op);
      return;
    }
    const want = new Set(live.filter((v) => v < this.emu.vectors));
    for (let v = 0; v < this.emu.vectors; v++) if (!this.emu.isMasked(v)) want.add(v);
    const top = want.size === 0 ? 0 : Math.max(...want) + 1;
    const fds = top === 0 ? [-1] : Array.from({ length: top }, (_, v) => (want.has(v) ? this.fd(v) : -1));
    const e = this.irq.enable(fds, op);
    if (e) return this.report(e, op);
    for (const v of want) this.bound[v] = 1;
  }

  /**
   * After a table write to vector `v`: bind it if it just opened. With MSI-X enabled in the
   * emulator but not in vfio (an enable vfio refused, e.g. too few host vectors), the unmask asks
   * vfio again for every open vector.
   */
  syncVector(v: number): void {
    if (this.bound[v] === 1 || !this.emu.enabled || this.emu.isMasked(v)) return;
    if (!this.irq.active) return this.syncAll('MSI-X table write');
    this.bindVectors([v], 'MSI-X table write');
  }

  private bindVectors(vectors: readonly number[], op: string): void {
    if (vectors.length === 0) return;
    const beyond = vectors.some((v) => v >= this.irq.allocated);
    if (beyond && !this.dynamic) {
      // NORESIZE: re-enable with the larger block; the events are the routes', so nothing latched is lost.
      const top = Math.max(this.irq.allocated, vectors[vectors.length - 1]! + 1);
      for (const v of vectors) this.bound[v] = 1;
      const fds = Array.from({ length: top }, (_, v) => (this.bound[v] === 1 ? this.fd(v) : -1));
      const d = this.irq.disable(op);
      if (d) this.report(d, op);
      const e = this.irq.enable(fds, op);
      if (e) {
        this.bound.fill(0);
        this.report(e, op);
      }
      return;
    }
    for (const v of vectors) {
      const e = this.irq.bind(v, this.fd(v), op);
      if (e) this.report(e, op);
      else this.bound[v] = 1;
    }
  }

  /** The vectors bound now (for save). */
  boundVectors(): number[] {
    const out: number[] = [];
    this.bound.forEach((b, v) => b === 1 && out.push(v));
    return out;
  }

  /** Unbinds everything in vfio (reset, restore, dispose). */
  disable(op: string): void {
    this.bound.fill(0);
    const e = this.irq.disable(op);
    if (e) this.report(e, op);
  }

  /** Stops listening for event replacement. */
  detach(): void {
    for (const u of this.unsubscribe.splice(0)) u();
  }
}
