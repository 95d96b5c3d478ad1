/** How a backend delivers irqfd signals. */
export type IrqFdMediation =
  /** The hypervisor injects straight from the signal, with no trip through the VMM (KVM_IRQFD, MSHV_IRQFD, WHP triggers). */
  | 'kernel'
  /** A user-space relay waits for the signal and injects with `requestMsi`. */
  | 'emulated';

/** What a partition can do. Immutable (frozen) once the partition exists. */
export interface PartitionCapabilities {
  /** Backend name: `kvm`, `mshv`, `whp`, `software`. */
  readonly backend: string;
  /** Whether `irqfd()` returns kernel-mediated routes, a user-space relay, or nothing. */
  readonly irqfd: IrqFdMediation | 'none';
  /** Why irqfd is emulated or missing, for people (empty when kernel-mediated). */
  readonly irqfdReason: string;
  /** Most irqfd routes that can exist at once (0 without irqfd). */
  readonly maxRoutes: number;
  /** Level-triggered irqfds with a resample event are available. */
  readonly resample: boolean;
  /** APIC IDs above 255 can be addressed (through the upper MSI address). */
  readonly x2apic: boolean;
  /**
   * The largest APIC ID an MSI's physical destination can reach on this partition (the all-ones
   * broadcast ID aside); a larger one is INVALID_MSI naming this limit, before any system call.
   * Each backend derives it from what its host reports (KVM: KVM_CAP_MAX_VCPU_ID, and whether
   * 32-bit x2APIC IDs are enabled); at most 0xFE without `x2apic` (0xFF is the broadcast ID).
   */
  readonly maxApicId: number;
  /** Most vCPUs this host allows in one partition. */
  readonly maxVcpus: number;
}

/** What an {@link IrqFd} offers. Immutable (frozen). */
export interface IrqFdCapabilities {
  /** `kernel` when the hypervisor injects straight from the signal, `emulated` for the user-space relay; each route says which applies to it in `route.mediation`, which differs only beyond `maxKernelRoutes`. */
  readonly mediation: IrqFdMediation;
  /**
   * Most routes that can exist at once; one more is an EXHAUSTED error. On the Linux backends a
   * route holds two file descriptors (its eventfd and the close-on-exec duplicate handed out as
   * `event.fd`), so unless the caller sets it this is derived, when the partition is created, from
   * the descriptors RLIMIT_NOFILE still allows; the process shares that limit with everything else
   * it opens, and running out of descriptors first is an EXHAUSTED error too.
   */
  readonly maxRoutes: number;
  /**
   * Most routes the hypervisor itself delivers at once, where that is fewer than `maxRoutes`
   * (Linux backends: GSIs, which a route holds only while it has an MSI; `maxRoutes` is a
   * file-descriptor budget). Routes beyond it are delivered from
   * user space (`route.mediation` says which): the first `maxKernelRoutes` routes to get an MSI
   * are kernel-delivered, and a route moves to the kernel when one frees up. Absent where every
   * route is hypervisor-delivered.
   */
  readonly maxKernelRoutes?: number;
  /**
   * Route changes are committed to a hypervisor routing table, so `batch()` turns N changes into
   * one commit. False where each route is programmed on its own (WHP triggers, the relay).
   */
  readonly routingTable: boolean;
  /** `route.event` never changes. False where a route re-creates its event (WHP without in-place update). */
  readonly stableEvent: boolean;
  /** One sentence on the mechanism, for people and `tsvmm probe`. */
  readonly mechanism: string;
}
