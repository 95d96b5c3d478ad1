/**
 * KVM level-triggered routes (INTx): KVM_IRQFD with KVM_IRQFD_FLAG_RESAMPLE on the GSI of an
 * IOAPIC pin (`virt/kvm/eventfd.c`): a signal on the irqfd eventfd asserts the GSI under the
 * resample source and leaves it asserted (`irqfd_inject`); the guest's EOI of the vector the IOAPIC
 * delivered deasserts it and signals the resamplefd (`irqfd_resampler_ack`); deassigning the last
 * resample irqfd of a GSI deasserts it (`irqfd_resampler_shutdown`). The default routes of
 * KVM_CREATE_IRQCHIP map GSIs 0-23 to IOAPIC pins 0-23, and every table the engine pushes keeps
 * them (`LEGACY_ROUTES`), so the GSI is the pin.
 */
import type { Event, LevelIrqFdRoute } from '@tsvmm/virt';
import { LevelRouteTable } from '@tsvmm/virt/implement';
import { EventFd, type Syscalls, failure } from '@tsvmm/linux-sys';
import { packStruct } from '@tsvmm/ffi';
import * as kvm from './abi';
import * as calls from './calls';

/** What {@link kvmLevelRoutes} needs from its partition. */
export interface KvmLevelRoutesOptions {
  /** The system calls the eventfds and KVM_IRQFD go through. */
  readonly sys: Syscalls;
  /** The VM fd (owned by the partition). */
  readonly vmFd: number;
  /**
   * Why this partition has no level routes (every `newLevelRoute` is then UNSUPPORTED with it), or
   * undefined where it has them: kernel irqfd in use and KVM_CAP_IRQFD_RESAMPLE present.
   */
  readonly unsupported?: string;
}

/**
 * The level routes of one KVM partition: one route per GSI (0-23), each a resample irqfd with two
 * eventfds of its own (close-on-exec; `event.fd` and `resample.fd` are the handed-out duplicates).
 * Every check and error of `IrqFd.newLevelRoute`: INVALID_ARGUMENT for a bad GSI before any
 * system call, UNSUPPORTED with the reason, DISPOSED, BUSY for a second route on a GSI, and a
 * refused KVM_IRQFD as the typed error of its errno (EINVAL without the full in-kernel irqchip,
 * BUSY for EBUSY), with both eventfds closed again.
 */
export function kvmLevelRoutes(o: KvmLevelRoutesOptions): LevelRouteTable {
  const { sys, vmFd } = o;
  return new LevelRouteTable('the KVM partition', (gsi, release) => KvmLevelRoute.assign(sys, vmFd, gsi, release), o.unsupported);
}

/** Passed by {@link KvmLevelRoute.assign} to the constructor. */
const ASSIGN: unique symbol = Symbol('KvmLevelRoute.assign');

class KvmLevelRoute implements LevelIrqFdRoute {
  readonly event: Event;
  readonly resample: Event;
  private isDisposed = false;
  private assigned = true;

  static assign(sys: Syscalls, vmFd: number, gsi: number, release: () => void): KvmLevelRoute {
    const op = 'IrqFd.newLevelRoute';
    const trigger = new EventFd(sys, op);
    let resample: EventFd;
    try {
      resample = new EventFd(sys, op);
    } catch (e) {
      trigger.dispose();
      throw e;
    }
    const r = calls.irqfd(sys, vmFd, irqfdArg(trigger.ownFd(), gsi, kvm.KVM_IRQFD_FLAG_RESAMPLE, resample.ownFd()));
    if (r < 0) {
      trigger.dispose();
      resample.dispose();
      throw failure(r, op, `ioctl(KVM_IRQFD, GSI ${gsi}, KVM_IRQFD_FLAG_RESAMPLE)`);
    }
    return new KvmLevelRoute(ASSIGN, sys, vmFd, gsi, trigger, resample, release);
  }

  private constructor(
    _token: typeof ASSIGN,
    private readonly sys: Syscalls,
    private readonly vmFd: number,
    readonly gsi: number,
    private readonly trigger: EventFd,
    private readonly resampleFd: EventFd,
    private readonly release: () => void,
  ) {
    this.event = trigger;
    this.resample = resampleFd;
  }

  get disposed(): boolean {
    return this.isDisposed;
  }

  /**
   * KVM_IRQFD with KVM_IRQFD_FLAG_DEASSIGN (the last resample irqfd of the GSI leaving deasserts
   * it), then both eventfds are closed. Closing the trigger would tear the irqfd down as well
   * (`irqfd_wakeup` on EPOLLHUP), so a refused deassign leaves nothing behind. Never throws.
   */
  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    this.deassign();
    this.trigger.dispose();
    this.resampleFd.dispose();
    this.release();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  private deassign(): void {
    if (!this.assigned) return;
    this.assigned = false;
    // A trigger someone disposed themselves was closed, which tore the irqfd down (EPOLLHUP); its
    // private number may name another file by now, so it is never passed to the kernel again.
    if (this.trigger.disposed) return;
    calls.irqfd(this.sys, this.vmFd, irqfdArg(this.trigger.ownFd(), this.gsi, kvm.KVM_IRQFD_FLAG_DEASSIGN, 0));
  }
}

/** `struct kvm_irqfd` for `fd` on `gsi` with `flags` and `resamplefd`. */
function irqfdArg(fd: number, gsi: number, flags: number, resamplefd: number): Uint8Array {
  return packStruct(kvm.KVM_IRQFD_LAYOUT, { fd, gsi, flags, resamplefd });
}
