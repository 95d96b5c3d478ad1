/**
 * INTx of a vfio-pci function, on one of two paths (docs/interfaces/vfio.md, "Interrupts"; docs/interfaces/pci-msi.md, "INTx"):
 *
 * - Level irqfd with resample: the route's event is vfio's INTx trigger and its resample event is
 *   vfio's unmask eventfd. vfio masks the line at each interrupt (AUTOMASKED) and signals the
 *   trigger; the hypervisor holds the GSI asserted until the guest's EOI, then deasserts it and
 *   signals the resample event; vfio's virqfd unmasks, signalling the trigger again while the device
 *   still asserts. Nothing in user space is on the path. Enabled as QEMU's vfio_intx_enable and
 *   vfio_intx_enable_kvm do: TRIGGER (this enables INTx; vfio_pci_set_intx_mask refuses a MASK
 *   before it with EINVAL), MASK for a known state, UNMASK with the resample eventfd, UNMASK.
 * - User space: vfio signals an eventfd of this object; the VMM watches it, raises its own
 *   interrupt controller's input through `onLevel`, and on the guest's EOI calls `eoi()`, which
 *   lowers the line and unmasks vfio (DATA_NONE | ACTION_UNMASK; QEMU vfio_intx_eoi). vfio signals
 *   the trigger from inside that ioctl when the device still asserts, so `eoi()` reads it at once
 *   and the line rises again: one interrupt per EOI cycle, none lost.
 *
 * One mode at a time (vfio_pci_intrs.c): MSI or MSI-X is enabled only after INTx is disabled here,
 * and INTx comes back when both are off. Disabling INTx deasserts the line (the route is disposed:
 * KVM deasserts a resampled GSI when its last resampler goes); the device's own condition is level,
 * so a device still asserting is seen again when INTx is enabled again (QEMU vfio_intx_disable and
 * vfio_msi_disable_common do the same).
 */
import { type Event, type IrqFd, type LevelIrqFdRoute, VirtError, newLevelRoute } from '@tsvmm/virt';
import { failure } from '@tsvmm/linux-sys';
import * as abi from '../abi';
import * as calls from '../calls';
import type { VfioSyscalls } from '../sys';
import type { FailureSink } from './msix-binding';

/** How INTx reaches the guest. */
export type IntxDelivery =
  | { readonly kind: 'irqfd'; readonly gsi: number; readonly irqfd: IrqFd }
  | { readonly kind: 'user-space'; readonly trigger: Event; readonly onLevel: ((level: boolean) => void) | undefined };

const INTX = abi.VFIO_PCI_IRQ.VFIO_PCI_INTX_IRQ_INDEX;

/** Keeps vfio-pci's INTx index and the line in step with the guest. */
export class IntxBinding {
  /** Whether INTx is enabled in vfio-pci now. */
  active = false;
  /** The level route while INTx is enabled on the irqfd path. */
  route: LevelIrqFdRoute | undefined;
  /** User space: the trigger was signalled and the guest has not EOI'd since. */
  private latched = false;
  /** User space: the line as last reported through `onLevel`. */
  private line = false;
  /** The guest's Command INTx Disable. */
  private guestDisabled = false;

  constructor(
    private readonly sys: VfioSyscalls,
    private readonly deviceFd: number,
    readonly delivery: IntxDelivery,
    private readonly report: FailureSink,
  ) {}

  /** The line as the guest's interrupt controller sees it (user space), or undefined on the irqfd path (the hypervisor holds it). */
  get level(): boolean | undefined {
    return this.delivery.kind === 'user-space' ? this.line : undefined;
  }

  /** User space: a trigger signal not yet EOI'd. The irqfd path: false (the latch is the hypervisor's). */
  get pending(): boolean {
    return this.delivery.kind === 'user-space' && this.latched;
  }

  /** Set by {@link close}. */
  private closed = false;

  /** No SET_IRQS from now on (the owner is disposed): every later call is a no-op. */
  close(): void {
    this.closed = true;
  }

  private set(action: calls.IrqAction, data: calls.IrqSetData, operation: string, what: string): VirtError | undefined {
    // Closed: the owner was disposed; its device fd and eventfd numbers may be someone else's now.
    if (this.closed) return undefined;
    const r = calls.setIrqs(this.sys, this.deviceFd, INTX, action, 0, data);
    return r < 0 ? failure(r, operation, `ioctl(VFIO_DEVICE_SET_IRQS, INTx ${what})`) : undefined;
  }

  /** Enables INTx in vfio (no-op when it is). Returns the failure, with nothing left enabled. */
  enable(operation: string): VirtError | undefined {
    if (this.active) return undefined;
    const d = this.delivery;
    if (d.kind === 'user-space') {
      const fd = d.trigger.fd;
      if (fd === undefined) return new VirtError('UNSUPPORTED', { operation, detail: 'the INTx trigger event has no fd', hint: 'Use an eventfd.' });
      const e = this.set('trigger', { eventfds: [fd] }, operation, 'trigger');
      if (e) return e;
      this.active = true;
      this.poll();
      return undefined;
    }
    let route: LevelIrqFdRoute;
    try {
      route = newLevelRoute(d.irqfd, d.gsi);
    } catch (e) {
      return e instanceof VirtError ? e : new VirtError('INTERNAL', { operation, detail: `newLevelRoute(irqfd, ${d.gsi}) threw a non-VirtError: ${e instanceof Error ? e.message : String(e)}`, hint: 'The irqfd backend reports failures as VirtError.', cause: e });
    }
    const ev = route.event.fd;
    const rs = route.resample.fd;
    if (ev === undefined || rs === undefined) {
      route.dispose();
      return new VirtError('UNSUPPORTED', { operation, detail: `the level route on GSI ${d.gsi} has no eventfds (event ${ev}, resample ${rs})`, hint: 'vfio-pci needs eventfds: use a Linux backend, or the user-space INTx path.' });
    }
    let e = this.set('trigger', { eventfds: [ev] }, operation, 'trigger');
    if (e) {
      route.dispose();
      return e;
    }
    e = this.set('mask', { none: 1 }, operation, 'mask') ?? this.set('unmask', { eventfds: [rs] }, operation, 'unmask eventfd') ?? this.set('unmask', { none: 1 }, operation, 'unmask');
    if (e) {
      // vfio_intx_disable also drops a registered unmask eventfd: nothing of this route stays in vfio.
      this.set('trigger', { none: 0 }, operation, 'disable');
      route.dispose();
      return e;
    }
    this.route = route;
    this.active = true;
    return undefined;
  }

  /**
   * Disables INTx in vfio (count 0: trigger and unmask eventfd unregistered), then disposes the
   * route: the line is deasserted.
   */
  disable(operation: string): void {
    if (!this.active) return;
    this.active = false;
    const e = this.set('trigger', { none: 0 }, operation, 'disable');
    if (e) this.report(e, operation);
    this.route?.dispose();
    this.route = undefined;
    if (this.delivery.kind === 'user-space') {
      this.delivery.trigger.consume();
      this.latched = false;
      this.update(operation);
    }
  }

  /** User space: takes the trigger's signals; a signal latches the line. Returns the line. */
  poll(): boolean {
    if (this.delivery.kind !== 'user-space') return false;
    if (this.active && this.delivery.trigger.consume() > 0) this.latched = true;
    this.update('INTx poll');
    return this.line;
  }

  /** User space: the guest's EOI of the line's vector. The line falls; vfio unmasks and, while the device still asserts, signals again. */
  eoi(operation: string): void {
    if (this.delivery.kind !== 'user-space' || !this.active) return;
    this.latched = false;
    this.update(operation);
    const e = this.set('unmask', { none: 1 }, operation, 'unmask');
    if (e) this.report(e, operation);
    this.poll();
  }

  /** The guest wrote Command's INTx Disable (already forwarded: vfio masks or unmasks for it). */
  guestDisable(disabled: boolean): void {
    this.guestDisabled = disabled;
    this.poll();
  }

  /** A pending line from a snapshot: latched again (user space) or asserted once more through the route. */
  restorePending(pending: boolean): void {
    if (!pending || !this.active) return;
    if (this.delivery.kind === 'user-space') {
      this.latched = true;
      this.update('AssignedPciDevice.restore');
    } else {
      this.route?.event.signal();
    }
  }

  private update(operation: string): void {
    if (this.delivery.kind !== 'user-space') return;
    const level = this.latched && !this.guestDisabled;
    if (level === this.line) return;
    this.line = level;
    try {
      this.delivery.onLevel?.(level);
    } catch (e) {
      this.report(new VirtError('INTERNAL', { operation, detail: `onLevel(${level}) threw: ${e instanceof Error ? e.message : String(e)}`, hint: 'onLevel must not throw.' }), operation);
    }
  }
}
