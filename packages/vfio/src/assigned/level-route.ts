/**
 * The level-triggered irqfd route INTx is delivered through. These two types mirror
 * `LevelIrqFdRoute` and `IrqFd.newLevelRoute` of `@tsvmm/virt` field for field, so a backend's
 * routes fit as they are; where `@tsvmm/virt` exports them, this file becomes one re-export.
 */
import type { Disposable, Event } from '@tsvmm/virt';

/**
 * A level-triggered interrupt line (INTx) on an interrupt-controller input, asserted by an event
 * (mirrors `LevelIrqFdRoute` of `@tsvmm/virt`). On KVM: `KVM_IRQFD` with `KVM_IRQFD_FLAG_RESAMPLE`
 * (pci-msi-intx.md §7), which needs the full in-kernel irqchip.
 */
export interface LevelIrqFdRoute extends Disposable {
  /** The interrupt-controller input this route drives: on KVM the GSI of an IOAPIC pin (0-23). */
  readonly gsi: number;
  /**
   * The trigger: a signal asserts the line (KVM: the irqfd eventfd). Owned by the route; `event.fd`
   * is a close-on-exec duplicate. Handed to VFIO_DEVICE_SET_IRQS as the INTx trigger.
   */
  readonly event: Event;
  /**
   * Signalled by the hypervisor when the guest acknowledges the interrupt (EOI of the vector the
   * interrupt controller delivered for this input, or unmask of a pin with a latched request) and
   * the line has been deasserted. Handed to VFIO_DEVICE_SET_IRQS as the INTx unmask eventfd, so
   * vfio-pci unmasks (and signals `event` again while the device still asserts). Owned by the route.
   */
  readonly resample: Event;
  /** True once {@link dispose} ran. */
  readonly disposed: boolean;
  /** Deassigns (the line is deasserted), closes both events. Idempotent; never throws. */
  dispose(): void;
}

/**
 * Makes a level route on `gsi` (mirrors `IrqFd.newLevelRoute` of `@tsvmm/virt`: pass
 * `(gsi) => irqfd.newLevelRoute(gsi)`). Throws a `VirtError`: INVALID_ARGUMENT for a bad GSI,
 * UNSUPPORTED without resample, BUSY for a second route on one GSI, DISPOSED after dispose.
 */
export type NewLevelIrqFdRoute = (gsi: number) => LevelIrqFdRoute;
