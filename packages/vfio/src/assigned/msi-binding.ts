/**
 * Plain MSI on vfio-pci through irqfd: when the guest changes MSI Enable or Multiple Message
 * Enable (MsiEmulator's `onControl`), the MSI index is enabled with exactly the vectors granted,
 * vector k's eventfd being its irqfd route's event. vfio-pci cannot resize an MSI block
 * (VFIO_IRQ_INFO_NORESIZE is always set for MSI, docs/interfaces/vfio.md, "Interrupts"), so a new count is a disable and an
 * enable. Per-vector masking stays in the routes, as for MSI-X. An enable vfio refused (host
 * vectors short, a failing call) is asked for again at the guest's next write to the capability,
 * as an MSI-X vector left unbound is at its next unmask: no write of the guest is ever lost.
 */
import type { IrqFdRoute } from '@tsvmm/virt';
import type { VfioIrqIndex } from './irq-index';
import type { FailureSink } from './msix-binding';

/** Keeps vfio-pci's MSI block in step with the emulator's Enable and Multiple Message Enable. */
export class MsiBinding {
  private unsubscribe: (() => void)[] = [];

  constructor(
    private readonly routes: readonly IrqFdRoute[],
    private readonly irq: VfioIrqIndex,
    private readonly report: FailureSink,
  ) {
    routes.forEach((r, v) => {
      this.unsubscribe.push(
        r.onEventReplaced((e) => {
          if (!this.irq.active || v >= this.irq.allocated) return;
          const err = this.irq.bind(v, e.fd ?? -1, 'MSI event replacement');
          if (err) this.report(err, 'MSI event replacement');
        }),
      );
    });
  }

  /** Calls of {@link control} so far: a capability write that made none can retry a refused enable. */
  controls = 0;

  /** `MsiEmulator`'s onControl: `vectors` = 2^MME granted, `enabled` = MSI Enable. */
  control(enabled: boolean, vectors: number, op = 'MSI Message Control write'): void {
    this.controls++;
    if (this.irq.active && (!enabled || this.irq.allocated !== vectors)) {
      const e = this.irq.disable(op);
      if (e) this.report(e, op);
    }
    if (!enabled || this.irq.active) return;
    const e = this.irq.enable(
      this.routes.slice(0, vectors).map((r) => r.event.fd ?? -1),
      op,
    );
    if (e) this.report(e, op);
  }

  /**
   * After a guest write to the capability (or a restore) that changed neither Enable nor the
   * vectors granted: enables vfio's block if the emulator has MSI enabled and vfio does not (an
   * earlier enable was refused). `controlsBefore` is {@link controls} before the write.
   */
  retry(controlsBefore: number, enabled: boolean, vectors: number, op: string): void {
    if (this.controls === controlsBefore && enabled && !this.irq.active) this.control(true, vectors, op);
  }

  /** Unbinds everything in vfio (reset, restore, dispose). */
  disable(op: string): void {
    const e = this.irq.disable(op);
    if (e) this.report(e, op);
  }

  /** Stops listening for event replacement. */
  detach(): void {
    for (const u of this.unsubscribe.splice(0)) u();
  }
}
