/**
 * One VFIO interrupt index (MSI or MSI-X) as this package drives it: enable with a block of
 * eventfds, rebind single vectors, disable. Every call goes through `VFIO_DEVICE_SET_IRQS`; a
 * failure is returned as a typed error for the caller to report, never thrown into a guest path.
 */
import { VirtError } from '@tsvmm/virt';
import { failure } from '@tsvmm/linux-sys';
import * as calls from '../calls';
import type { VfioSyscalls } from '../sys';

/** The SET_IRQS calls for one index of one device fd. */
export class VfioIrqIndex {
  /** Whether this index is enabled in vfio-pci now (its host vectors allocated). */
  active = false;
  /** Host vectors allocated by the last enable (vfio allocates `start + count`). */
  allocated = 0;
  /** Set by {@link close}: the owner is disposed, and its device fd may be closed or someone else's. */
  private closed = false;

  constructor(
    private readonly sys: VfioSyscalls,
    private readonly deviceFd: number,
    /** `VFIO_PCI_MSI_IRQ_INDEX` or `VFIO_PCI_MSIX_IRQ_INDEX`. */
    readonly index: number,
    private readonly name: string,
  ) {}

  /**
   * Enables the index with `fds` for vectors 0.. (-1: allocated, no eventfd). vfio answers a
   * positive count when the host has fewer vectors than asked: nothing is enabled then (docs/interfaces/vfio.md, "Interrupts").
   */
  enable(fds: readonly number[], operation: string): VirtError | undefined {
    if (this.closed) return undefined;
    const r = calls.setIrqs(this.sys, this.deviceFd, this.index, 'trigger', 0, { eventfds: fds });
    if (r > 0) {
      return new VirtError('EXHAUSTED', {
        operation,
        detail: `VFIO_DEVICE_SET_IRQS could allocate only ${r} host ${this.name} vector(s) of the ${fds.length} asked for; nothing was enabled`,
        hint: 'The host is short of interrupt vectors: free some (other assigned devices) or use fewer vectors in the guest.',
      });
    }
    if (r < 0) return failure(r, operation, `ioctl(VFIO_DEVICE_SET_IRQS, ${this.name} enable)`);
    this.active = true;
    this.allocated = fds.length;
    return undefined;
  }

  /** Rebinds vector `vector` to `fd` (-1 unbinds); with dynamic MSI-X a vector past the block is allocated. */
  bind(vector: number, fd: number, operation: string): VirtError | undefined {
    if (this.closed) return undefined;
    const r = calls.setIrqs(this.sys, this.deviceFd, this.index, 'trigger', vector, { eventfds: [fd] });
    if (r < 0) return failure(r, operation, `ioctl(VFIO_DEVICE_SET_IRQS, ${this.name} vector ${vector})`);
    if (vector >= this.allocated) this.allocated = vector + 1;
    return undefined;
  }

  /** Disables the index: every host vector freed, every eventfd unbound. */
  disable(operation: string): VirtError | undefined {
    if (!this.active || this.closed) return undefined;
    const r = calls.setIrqs(this.sys, this.deviceFd, this.index, 'trigger', 0, { none: 0 });
    // Whatever the answer, vfio's disable path does not leave the index half-enabled.
    this.active = false;
    this.allocated = 0;
    return r < 0 ? failure(r, operation, `ioctl(VFIO_DEVICE_SET_IRQS, ${this.name} disable)`) : undefined;
  }

  /**
   * No call from now on: the owner was disposed (perhaps from inside a callback of a guest access
   * still under way), and a SET_IRQS naming its eventfds or its device fd could reach numbers that
   * now belong to someone else. Every later call is a no-op.
   */
  close(): void {
    this.closed = true;
    this.active = false;
    this.allocated = 0;
  }
}
