/**
 * A model of the Linux KVM interface as far as tsvmm uses it, behind the {@link Syscalls} seam:
 * /dev/kvm, VMs, vCPUs with their local APIC page, the GSI routing table, irqfds and eventfds.
 *
 * It is written from docs/interfaces/kvm.md and its sources (the UAPI header `include/uapi/linux/kvm.h`,
 * `Documentation/virt/kvm/api.rst`, `virt/kvm/eventfd.c`, `virt/kvm/irqchip.c`), never from the
 * backend's own definitions: ioctl numbers are the literal values of the header, and every
 * argument is decoded from raw bytes at the header's offsets. So a wrong number or offset in the
 * backend's ABI module shows up as a failed test, not as two copies of the same mistake.
 *
 * Descriptors and eventfds are the shared model table of `@tsvmm/linux-sys/testing`
 * ({@link ModelFileTable}): POSIX numbers (`dup` adds one for the same file, `close` removes one,
 * the file with its irqfd is released only with its last number), the process's real
 * RLIMIT_NOFILE, non-blocking 64-bit eventfd counters. A write to an eventfd assigned as an irqfd
 * drains it and injects through the committed table into an {@link ApicBus} as KVM does
 * (`virt/kvm/eventfd.c` `irqfd_wakeup`, `irqfd_update`, `irqfd_inject`; `arch/x86/kvm/irq.c`
 * `kvm_arch_set_irq_inatomic`): inside the write only for a GSI whose one route is an MSI that the
 * APIC map's fast path takes; otherwise (IOAPIC pins, resample irqfds, broadcasts, GSIs with no
 * route) from the irqfd's work item after the write returns ({@link KvmKernelModel.flushWork}).
 * MSIs are delivered as `arch/x86/kvm/lapic.c` does: the APIC map (`kvm_recalculate_apic_map`)
 * and `kvm_apic_map_get_dest_lapic` first, the match-every-vCPU loop where that declines.
 *
 * x2APIC as the kernel does it (`arch/x86/kvm/x86.c` `kvm_vm_ioctl_enable_cap`, `kvm_apic_set_base`,
 * `msr_io`; `arch/x86/kvm/lapic.c` `kvm_apic_state_fixup`, `kvm_apic_match_dest`, `kvm_apic_mda`;
 * `arch/x86/kvm/irq_comm.c` `kvm_set_msi_irq`, `kvm_msi_route_invalid`): KVM_ENABLE_CAP of
 * KVM_CAP_X2APIC_API (32-bit IDs from `address_hi` 31:8, whose bits 7:0 must then be 0; the
 * broadcast quirk), KVM_SET_CPUID2 (the x2APIC CPUID bit), KVM_GET_MSRS / KVM_SET_MSRS of
 * IA32_APIC_BASE (a vCPU enters x2APIC mode only with that CPUID bit), the APIC ID register of
 * KVM_GET_LAPIC / KVM_SET_LAPIC in each mode, and the destination match of each vCPU in its mode.
 *
 * Hazards, things that crashed or corrupted real hosts, are recorded in {@link hazards} (tests
 * assert it stays empty): an irqfd assigned on a GSI that the committed table does not route, and
 * a table commit that removes the route of a GSI while an irqfd is assigned on it.
 *
 * Wrap it with `FaultInjector` from `@tsvmm/linux-sys/testing` to fail chosen calls.
 */
import type { IoctlDef, Syscalls } from '@tsvmm/linux-sys';
import { type ModelEventFd, ModelKernel, isEventFd, modelStruct } from '@tsvmm/linux-sys/testing';
import { ApicBus, IoApicModel, type LocalApicModel } from '@tsvmm/virt/testing';
import { describeValue, invalidArgument, checkBoolean, checkInteger, checkObject, checkOptions } from '@tsvmm/virt/implement';

// errno values (x86_64, asm-generic/errno-base.h).
const ENOENT = 2;
const EBADF = 9;
const EFAULT = 14;
const EBUSY = 16;
const E2BIG = 7;
const EEXIST = 17;
const EINVAL = 22;
const ENOTTY = 25;
const ENXIO = 6;

// ioctl numbers, literally from the interface page's table (docs/interfaces/kvm.md, "ioctls").
const KVM_GET_API_VERSION = 0xae00;
const KVM_CREATE_VM = 0xae01;
const KVM_CHECK_EXTENSION = 0xae03;
const KVM_CREATE_VCPU = 0xae41;
const KVM_CREATE_IRQCHIP = 0xae60;
const KVM_SET_GSI_ROUTING = 0x4008ae6a;
const KVM_IRQFD = 0x4020ae76;
const KVM_SIGNAL_MSI = 0x4020aea5;
const KVM_GET_LAPIC = 0x8400ae8e;
const KVM_SET_LAPIC = 0x4400ae8f;
const KVM_ENABLE_CAP = 0x4068aea3;
const KVM_SET_CPUID2 = 0x4008ae90;
const KVM_GET_SUPPORTED_CPUID = 0xc008ae05;
const KVM_GET_MSRS = 0xc008ae88;
const KVM_SET_MSRS = 0x4008ae89;
const KVM_GET_IRQCHIP = 0xc208ae62;
const KVM_SET_IRQCHIP = 0x8208ae63;
/** `struct kvm_irqchip`: chip_id @0, pad @4, the chip union @8 (512 bytes); the IOAPIC is chip 2. */
const IRQCHIP_SIZE = 520;
const IRQCHIP_IOAPIC = 2;
/** `struct kvm_ioapic_state` inside the union: irr @16, redirtbl[24] of u64 @24. */
const IOAPIC_IRR = 8 + 16;
const IOAPIC_REDIRTBL = 8 + 24;
/** Source ids of `kvm_set_irq` (include/linux/kvm_host.h): user space, and every resample irqfd. */
const USERSPACE_IRQ_SOURCE_ID = 0;
const IRQFD_RESAMPLE_IRQ_SOURCE_ID = 1;

// KVM_CHECK_EXTENSION numbers the model reads itself (include/uapi/linux/kvm.h).
const CAP_MAX_VCPUS = 66;
const CAP_MAX_VCPU_ID = 128;
const CAP_X2APIC_API = 129;
/** KVM_X2APIC_API_USE_32BIT_IDS and KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK (include/uapi/linux/kvm.h). */
const X2APIC_API_USE_32BIT_IDS = 1;
const X2APIC_API_DISABLE_BROADCAST_QUIRK = 2;
/** KVM_MAX_CPUID_ENTRIES (arch/x86/include/asm/kvm_host.h). */
const MAX_CPUID_ENTRIES = 256;
/** CPUID leaf 1 ECX bit 21: x2APIC (Intel SDM, CPUID "Feature Information"). */
const CPUID_1_ECX_X2APIC = 1 << 21;
/** MAX_IO_MSRS (arch/x86/kvm/x86.c): KVM_GET_MSRS / KVM_SET_MSRS with this many or more is E2BIG. */
const MAX_IO_MSRS = 256;
/** IA32_APIC_BASE (Intel SDM): the MSR number, and bits 8 BSP, 10 EXTD (x2APIC), 11 EN. */
const MSR_APICBASE = 0x1b;
const APICBASE_BSP = 0x100;
const APICBASE_EXTD = 0x400;
const APICBASE_EN = 0x800;
/** APIC_DEFAULT_PHYS_BASE. */
const APIC_DEFAULT_PHYS_BASE = 0xfee00000;
/** The guest's physical address width when CPUID leaf 0x80000008 is absent (cpuid_query_maxphyaddr): 36 bits. */
const DEFAULT_MAXPHYADDR = 36;
/** Register offsets in the LAPIC page: ID, LDR, DFR. */
const APIC_ID = 0x20;
const APIC_LDR = 0xd0;
const APIC_DFR = 0xe0;
/** DFR values (arch/x86/include/asm/apicdef.h): flat model, cluster model. */
const APIC_DFR_FLAT = 0xffffffff;
const APIC_DFR_CLUSTER = 0x0fffffff;

/** KVM_MAX_IRQ_ROUTES on current kernels: the most entries and the GSI bound. */
const MAX_IRQ_ROUTES = 4096;
const ROUTING_TYPE_IRQCHIP = 1;
const ROUTING_TYPE_MSI = 2;
const IRQFD_FLAG_DEASSIGN = 1;
const IRQFD_FLAG_RESAMPLE = 2;

/** The structs the ioctls pass, field by field: `[byte offset, C type]` as `include/uapi/linux/kvm.h` declares them. */
const ARG = {
  /** `struct kvm_msi` (KVM_SIGNAL_MSI). */
  msi: modelStruct(32, { addressLo: [0, 'u32'], addressHi: [4, 'u32'], data: [8, 'u32'], flags: [12, 'u32'] }),
  /** `struct kvm_cpuid2` header; `nent` 40-byte `struct kvm_cpuid_entry2` follow at byte 8. */
  cpuid2: modelStruct(8, { nent: [0, 'u32'] }),
  /** `struct kvm_msrs` header; `nmsrs` 16-byte `struct kvm_msr_entry` follow at byte 8. */
  msrs: modelStruct(8, { nmsrs: [0, 'u32'] }),
  /** `struct kvm_enable_cap`. */
  enableCap: modelStruct(104, { cap: [0, 'u32'], flags: [4, 'u32'], args0: [8, 'u64'] }),
  /** `struct kvm_irq_routing` header; `nr` 48-byte `struct kvm_irq_routing_entry` follow at byte 8. */
  irqRouting: modelStruct(8, { nr: [0, 'u32'], flags: [4, 'u32'] }),
  /** `struct kvm_irqfd`. */
  irqfd: modelStruct(32, { fd: [0, 'i32'], gsi: [4, 'u32'], flags: [8, 'u32'], resamplefd: [12, 'i32'] }),
  /** `struct kvm_irqchip`: `chip_id`, then the chip's state at byte 8. */
  irqchip: modelStruct(IRQCHIP_SIZE, { chipId: [0, 'u32'] }),
  /** `struct kvm_lapic_state`: the 1024-byte APIC register page; ID @0x20, LDR @0xd0, DFR @0xe0, SVR @0xf0 (apicdef.h). */
  /** `struct kvm_irq_routing_entry`, one element of `irqRouting`'s array: the union @16 read as its MSI member and as its IRQCHIP member. */
  routingEntry: modelStruct(48, {
    gsi: [0, 'u32'], type: [4, 'u32'], flags: [8, 'u32'], addressLo: [16, 'u32'], addressHi: [20, 'u32'], data: [24, 'u32'], irqchip: [16, 'u32'], pin: [20, 'u32'],
  }),
  /** `struct kvm_cpuid_entry2`, one element of `cpuid2`'s array. */
  cpuidEntry: modelStruct(40, { function: [0, 'u32'], index: [4, 'u32'], flags: [8, 'u32'], eax: [12, 'u32'], ebx: [16, 'u32'], ecx: [20, 'u32'], edx: [24, 'u32'] }),
  /** `struct kvm_msr_entry`, one element of `msrs`' array. */
  msrEntry: modelStruct(16, { index: [0, 'u32'], data: [8, 'u64'] }),
  lapic: modelStruct(1024, { id: [APIC_ID, 'u32'], ldr: [APIC_LDR, 'u32'], dfr: [APIC_DFR, 'u32'], svr: [0xf0, 'u32'] }),
} as const;

/** One entry of the routing table as the kernel holds it, decoded from `struct kvm_irq_routing_entry`. */
export type ModelRoute =
  | {
      /** The GSI the entry routes. */
      readonly gsi: number;
      /** KVM_IRQ_ROUTING_MSI (type 2). */
      readonly type: 'msi';
      /** MSI address bits 31:0 (`u.msi.address_lo`). */
      readonly addressLo: number;
      /** MSI address bits 63:32 (`u.msi.address_hi`). */
      readonly addressHi: number;
      /** MSI data (`u.msi.data`). */
      readonly data: number;
    }
  | {
      /** The GSI the entry routes. */
      readonly gsi: number;
      /** KVM_IRQ_ROUTING_IRQCHIP (type 1). */
      readonly type: 'irqchip';
      /** 0 PIC master, 1 PIC slave, 2 IOAPIC (`u.irqchip.irqchip`). */
      readonly irqchip: number;
      /** The pin on that irqchip (`u.irqchip.pin`): 0-7 on a PIC, 0-23 on the IOAPIC. */
      readonly pin: number;
    };

/** How to build a {@link KvmKernelModel}; every field is optional. */
export interface KvmModelOptions {
  /**
   * The vCPU ids tests will create (KVM makes each the vCPU's APIC ID), in vCPU order: the bus
   * holds one local APIC per id, in this order. Creating a vCPU id not listed here throws (the
   * model was set up wrong); the kernel's own checks (KVM_CAP_MAX_VCPU_ID, KVM_CAP_MAX_VCPUS, a
   * repeated id) give its errnos. Default [0, 1].
   */
  readonly apicIds?: readonly number[];
  /** What KVM_CHECK_EXTENSION(KVM_CAP_IRQ_ROUTING) reports, and the table limit it enforces. Default 4096. */
  readonly maxRoutes?: number;
  /** Capabilities reported by KVM_CHECK_EXTENSION, by number; default: the reference's development machines. */
  readonly capabilities?: Readonly<Record<number, number>>;
  /**
   * Most open fds (EMFILE beyond). Default: what this process may still open under its real
   * RLIMIT_NOFILE when the model is made (1 << 20 where procfs cannot tell, or no limit is set).
   */
  readonly maxFds?: number;
  /**
   * Whether KVM offers x2APIC: KVM_GET_SUPPORTED_CPUID sets leaf 1 ECX bit 21, and a vCPU whose
   * KVM_SET_CPUID2 has the bit may enter x2APIC mode (`kvm_apic_set_base` reserves the enable bit
   * unless both have it). False stands for a KVM module loaded with x2APIC turned off. Default true.
   */
  readonly x2apic?: boolean;
  /**
   * Whether a deferred injection (a resample irqfd's line, a broadcast MSI) runs by the second
   * KVM_GET_LAPIC / KVM_GET_IRQCHIP after it was queued, as a real kernel's workqueue runs on another
   * CPU while user space polls (default true). False: it runs only on the event loop's next turn or at
   * {@link KvmKernelModel.flushWork}, for tests that play a kernel whose work is late.
   */
  readonly workRunsWhilePolled?: boolean;
}

interface KvmDevice {
  readonly kind: 'kvm';
}

/** An eventfd as the model holds it (the shared model table's): one open file, whatever numbers name it. */
export type EventFdObject = ModelEventFd;

/** A vCPU made with KVM_CREATE_VCPU. */
export interface VcpuObject {
  /** Always `vcpu`. */
  readonly kind: 'vcpu';
  /** The VM it belongs to. */
  readonly vm: VmObject;
  /** The vCPU id given to KVM_CREATE_VCPU: its x2APIC ID, and the APIC ID its bus model carries. */
  readonly id: number;
  /** Its local APIC in the VM's bus. */
  readonly apic: LocalApicModel;
  /** IA32_APIC_BASE (a number: every bit KVM accepts lies below 2^36). */
  apicBase: number;
  /** The xAPIC ID (APIC ID register bits 31:24 in xAPIC mode): the vCPU id truncated to 8 bits at reset. */
  xapicId: number;
  /**
   * The logical destination register (LDR): in xAPIC mode as last set with KVM_SET_LAPIC (logical
   * ID in bits 31:24), in x2APIC mode derived from the x2APIC ID (kvm_apic_calc_x2apic_ldr). A
   * return to xAPIC mode leaves it as it was (__kvm_apic_set_base sets only the ID).
   */
  ldr: number;
  /** The xAPIC destination format register (DFR: 0xF in bits 31:28 flat model, 0 cluster), as last set; reset 0xFFFFFFFF. */
  dfr: number;
  /** CPUID leaf 1 ECX bit 21 as last set with KVM_SET_CPUID2. */
  cpuidX2apic: boolean;
}

/** Whether `v` is in x2APIC mode: IA32_APIC_BASE EN and EXTD both set. */
function x2apicMode(v: VcpuObject): boolean {
  return (v.apicBase & (APICBASE_EN | APICBASE_EXTD)) === (APICBASE_EN | APICBASE_EXTD);
}

/** kvm_apic_calc_x2apic_ldr: cluster id >> 4 in bits 31:16, bit id & 15 in bits 15:0. */
function x2apicLdr(id: number): number {
  return (((id >>> 4) << 16) | (1 << (id & 0xf))) >>> 0;
}

/** An irqfd assigned with KVM_IRQFD: signals on `eventfd` inject through the routes of `gsi`. */
export interface ModelIrqfd {
  /** The open file: the kernel binds the eventfd context, never the number it was named by. */
  readonly eventfd: EventFdObject;
  /** The number it was assigned with (for messages only). */
  readonly fd: number;
  /** The GSI it was assigned on (not checked against the table at assign, as in KVM). */
  readonly gsi: number;
  /** The resample eventfd (KVM_IRQFD_FLAG_RESAMPLE): the irqfd is level-triggered, under the GSI's resampler. */
  readonly resamplefd?: EventFdObject;
}

/** A VM made with KVM_CREATE_VM: its irqchip, routing table, irqfds, vCPUs and local APICs. */
export class VmObject {
  /** Always `vm`. */
  readonly kind = 'vm' as const;
  /** True once KVM_CREATE_IRQCHIP succeeded. */
  irqchip = false;
  /** The routing table the kernel holds: the last one accepted (KVM_CREATE_IRQCHIP installs the defaults). */
  routes: readonly ModelRoute[] = [];
  /** The irqfds assigned now, in assignment order. */
  readonly irqfds: ModelIrqfd[] = [];
  /** The vCPUs created, by id. */
  readonly vcpus = new Map<number, VcpuObject>();
  /** Injections per GSI through irqfds (including those at assign). */
  readonly injections = new Map<number, number>();
  /** KVM_X2APIC_API_USE_32BIT_IDS enabled (`kvm->arch.x2apic_format`). */
  x2apicFormat = false;
  /** KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK enabled (`kvm->arch.x2apic_broadcast_quirk_disabled`). */
  broadcastQuirkDisabled = false;
  /**
   * The in-kernel IOAPIC (`arch/x86/kvm/ioapic.c`), the model `@tsvmm/virt/testing` shares with the
   * software backend; acknowledgements reach the resample irqfds through the routing table.
   */
  readonly ioapic: IoApicModel;

  constructor(
    /** The model this VM lives in. */
    readonly model: KvmKernelModel,
    /** The VM's local APICs: where its MSIs land. */
    readonly bus: ApicBus,
  ) {
    this.ioapic = new IoApicModel(bus, {
      // kvm_notify_acked_irq -> irqfd_resampler_ack: deassert the resample source once, then signal every resamplefd of the GSI.
      acked: (pin) => {
        const gsi = this.gsiOfPin(pin);
        const resamplers = gsi === undefined ? [] : this.resamplersOn(gsi);
        if (resamplers.length === 0) return;
        this.ioapic.setIrq(pin, IRQFD_RESAMPLE_IRQ_SOURCE_ID, false);
        for (const q of resamplers) this.model.signalEventFd(q.resamplefd!);
      },
      // kvm_notify_irqfd_resampler: signal the resamplefds, leave the line as it is.
      notifyResampler: (pin) => {
        const gsi = this.gsiOfPin(pin);
        const resamplers = gsi === undefined ? [] : this.resamplersOn(gsi);
        for (const q of resamplers) this.model.signalEventFd(q.resamplefd!);
        return resamplers.length > 0;
      },
    });
  }

  /**
   * kvm_irq_map_chip_pin for the IOAPIC: the GSI the committed table routes to pin `pin`. Where
   * several entries name the pin, the last one wins: setup_routing_entry fills `chip[irqchip][pin]`
   * entry by entry, in table order.
   */
  gsiOfPin(pin: number): number | undefined {
    for (let i = this.routes.length - 1; i >= 0; i--) {
      const r = this.routes[i]!;
      if (r.type === 'irqchip' && r.irqchip === IRQCHIP_IOAPIC && r.pin === pin) return r.gsi;
    }
    return undefined;
  }

  /** The resample irqfds assigned on `gsi` (they share one resampler). */
  resamplersOn(gsi: number): ModelIrqfd[] {
    return this.irqfds.filter((q) => q.resamplefd !== undefined && q.gsi === gsi);
  }

  /**
   * Removes irqfd `i` (deassign, or its eventfd released): irqfd_shutdown, whose
   * irqfd_resampler_shutdown deasserts the GSI when the last resample irqfd of it leaves.
   */
  removeIrqfd(i: number): void {
    const [q] = this.irqfds.splice(i, 1);
    if (q?.resamplefd === undefined || this.resamplersOn(q.gsi).length > 0) return;
    for (const r of this.routesFor(q.gsi)) if (r.type === 'irqchip' && r.irqchip === IRQCHIP_IOAPIC) this.ioapic.setIrq(r.pin, IRQFD_RESAMPLE_IRQ_SOURCE_ID, false);
  }

  /**
   * An irqfd's signal, inside the eventfd write (irqfd_wakeup): when the GSI has exactly one route
   * and it is an MSI (irqfd_update keeps only such an entry), kvm_arch_set_irq_inatomic tries the
   * fast path; anything else (an IOAPIC route, a resample irqfd's line, a GSI with no route or
   * several, an MSI the fast path declines: a broadcast, or no APIC map) is left to the irqfd's
   * work item (schedule_work), which runs after the write returns: {@link KvmKernelModel.flushWork}.
   */
  wakeIrqfd(q: ModelIrqfd): void {
    const routes = this.routesFor(q.gsi);
    const only = routes.length === 1 ? routes[0]! : undefined;
    if (only?.type === 'msi') {
      if (this.msiInvalid(only.addressHi)) return; // kvm_arch_set_irq_inatomic: -EINVAL, nothing scheduled
      if (this.deliverMsiInAtomic(only.addressLo, only.addressHi, only.data) !== undefined) {
        this.injections.set(q.gsi, (this.injections.get(q.gsi) ?? 0) + 1);
        return;
      }
    }
    this.model.scheduleInject(this, q);
  }

  /**
   * The irqfd's work item (irqfd_inject): kvm_set_irq on its GSI, through every route the table has
   * for it then. An edge irqfd pulses (set then clear, user-space source); a resample irqfd asserts
   * under the resample source and leaves the line asserted. The PIC is not modelled.
   */
  injectIrqfd(q: ModelIrqfd): void {
    if (q.resamplefd === undefined) {
      this.injectGsi(q.gsi);
      return;
    }
    this.injections.set(q.gsi, (this.injections.get(q.gsi) ?? 0) + 1);
    for (const r of this.routesFor(q.gsi)) {
      if (r.type === 'msi') {
        if (!this.msiInvalid(r.addressHi)) this.deliverMsi(r.addressLo, r.addressHi, r.data);
      } else if (r.irqchip === IRQCHIP_IOAPIC) this.ioapic.setIrq(r.pin, IRQFD_RESAMPLE_IRQ_SOURCE_ID, true);
    }
  }

  /** The committed table's entries for `gsi` (several for a legacy GSI: IOAPIC and PIC; none when unrouted). */
  routesFor(gsi: number): ModelRoute[] {
    return this.routes.filter((r) => r.gsi === gsi);
  }

  /** Injects one interrupt for `gsi` through the table; false when the GSI has no route (the signal is consumed anyway). */
  injectGsi(gsi: number): boolean {
    this.injections.set(gsi, (this.injections.get(gsi) ?? 0) + 1);
    let any = false;
    for (const r of this.routesFor(gsi)) {
      if (r.type === 'msi') {
        if (!this.msiInvalid(r.addressHi)) this.deliverMsi(r.addressLo, r.addressHi, r.data); // kvm_set_msi: kvm_msi_route_invalid
      } else if (r.irqchip === IRQCHIP_IOAPIC) {
        this.ioapic.setIrq(r.pin, USERSPACE_IRQ_SOURCE_ID, true);
        this.ioapic.setIrq(r.pin, USERSPACE_IRQ_SOURCE_ID, false);
      }
      any = true;
    }
    return any;
  }

  /** kvm_msi_route_invalid: with 32-bit IDs, `address_hi` bits 7:0 must be 0. */
  msiInvalid(addressHi: number): boolean {
    return this.x2apicFormat && (addressHi & 0xff) !== 0;
  }

  /**
   * kvm_set_msi_irq then kvm_irq_delivery_to_apic (KVM_SIGNAL_MSI, and an irqfd's injection from
   * the workqueue): the fast path over the APIC map first, the match-every-vCPU loop only where the
   * fast path declines. Returns how many APICs accepted it; -1 (what KVM_SIGNAL_MSI then returns,
   * read as EPERM) when the loop ran and nothing matched.
   */
  deliverMsi(addressLo: number, addressHi: number, data: number): number {
    const irq = this.msiIrq(addressLo, addressHi, data);
    const fast = this.deliverFast(irq);
    return fast ?? this.deliverSlow(irq);
  }

  /**
   * kvm_arch_set_irq_inatomic for an MSI route: the fast path alone, as irqfd_wakeup tries it inside
   * the eventfd write. `undefined` when the fast path declines (the kernel's -EWOULDBLOCK: the
   * injection is left to the irqfd's work item).
   */
  deliverMsiInAtomic(addressLo: number, addressHi: number, data: number): number | undefined {
    return this.deliverFast(this.msiIrq(addressLo, addressHi, data));
  }

  /** kvm_set_msi_irq (arch/x86/kvm/irq.c): destination bits 31:8 from `address_hi` only with 32-bit IDs. */
  private msiIrq(addressLo: number, addressHi: number, data: number): MsiIrq {
    let dest = (addressLo >>> 12) & 0xff;
    if (this.x2apicFormat) dest = (dest | (addressHi & 0xffffff00)) >>> 0;
    return { dest, logical: (addressLo & 4) !== 0, redirHint: (addressLo & 8) !== 0, vector: data & 0xff, level: (data & 0x8000) !== 0, mode: (data >>> 8) & 7 };
  }

  /**
   * kvm_recalculate_apic_map, computed from the registers whenever asked (the kernel recomputes it
   * on every change of an input: APIC base, ID, LDR, DFR, software enable). `undefined` where the
   * kernel has no map: without 32-bit IDs, two present APICs with one physical ID.
   */
  apicMap(): ApicMap | undefined {
    const present = [...this.vcpus.values()].filter((v) => (v.apicBase & APICBASE_EN) !== 0);
    let maxApicId = 255;
    for (const v of present) maxApicId = Math.max(maxApicId, v.id);
    const map: ApicMap = { maxApicId, phys: new Map(), logicalMode: 'sw-disabled', flat: [], cluster: Array.from({ length: 16 }, () => []) };
    for (const v of present) {
      // kvm_recalculate_phys_map
      const x2 = x2apicMode(v);
      if (this.x2apicFormat) {
        if (x2 || v.id > 0xff) map.phys.set(v.id, v);
        if (!x2 && !map.phys.has(v.xapicId)) map.phys.set(v.xapicId, v);
      } else {
        const physicalId = x2 ? v.id : v.xapicId;
        if (map.phys.has(physicalId)) return undefined;
        map.phys.set(physicalId, v);
      }
      // kvm_recalculate_logical_map: software-enabled APICs with a nonzero LDR only, all in one mode.
      if (map.logicalMode === 'disabled' || !v.apic.softwareEnabled || v.ldr === 0) continue;
      const mode: ApicLogicalMode = x2 ? 'x2apic' : v.dfr === APIC_DFR_FLAT ? 'flat' : 'cluster';
      if (map.logicalMode === 'sw-disabled') map.logicalMode = mode;
      else if (map.logicalMode !== mode) {
        map.logicalMode = 'disabled';
        continue;
      }
      if (x2) continue; // x2APIC logical destinations are read back from the physical map
      const { cluster, mask } = logicalDest(map, v.ldr >>> 24)!;
      if (mask === 0) continue;
      const slot = 31 - Math.clz32(mask & -mask);
      if ((mask & (mask - 1)) !== 0 || cluster[slot] !== undefined) map.logicalMode = 'disabled';
      else cluster[slot] = v;
    }
    return map;
  }

  /** kvm_apic_is_broadcast_dest for a message with no source APIC. */
  private broadcastDest(dest: number, map: ApicMap): boolean {
    if (this.broadcastQuirkDisabled) return (dest === 0xff && map.logicalMode !== 'x2apic') || dest === 0xffffffff;
    return dest === 0xff;
  }

  /**
   * __kvm_irq_delivery_to_apic_fast with kvm_apic_map_get_dest_lapic: the number of APICs that
   * accepted, or `undefined` where the kernel declines (no map, a broadcast destination, logical
   * destinations with the logical map disabled).
   */
  private deliverFast(irq: MsiIrq): number | undefined {
    const map = this.apicMap();
    if (map === undefined || this.broadcastDest(irq.dest, map)) return undefined;
    if (!irq.logical) {
      if (irq.dest > map.maxApicId) return 0;
      const v = map.phys.get(irq.dest);
      return v === undefined ? 0 : this.acceptIrq(v, irq);
    }
    const dest = logicalDest(map, irq.dest);
    if (dest === undefined) return undefined;
    const { cluster } = dest;
    let { mask } = dest;
    if (irq.mode === 1 || irq.redirHint) {
      // Lowest priority with vector hashing (the default): the (vector mod n)-th destination bit.
      if (mask === 0) return 0;
      let nth = irq.vector % popcount(mask);
      let bit = 0;
      for (; bit < 16; bit++) if ((mask >>> bit) & 1 && nth-- === 0) break;
      if (cluster[bit] === undefined) return 0;
      mask = 1 << bit;
    }
    let r = 0;
    for (let bit = 0; bit < 16; bit++) {
      const v = cluster[bit];
      if ((mask >>> bit) & 1 && v !== undefined) r += this.acceptIrq(v, irq);
    }
    return r;
  }

  /** The rest of __kvm_irq_delivery_to_apic: every present vCPU matched in its own mode, in vCPU order. */
  private deliverSlow(irq: MsiIrq): number {
    let mode = irq.mode;
    if (!irq.logical && irq.dest === 0xff && (mode === 1 || irq.redirHint)) mode = 0; // "phys broadcast and lowest prio"
    const lowest = mode === 1 || irq.redirHint;
    let r = -1;
    const candidates: VcpuObject[] = [];
    for (const v of this.vcpus.values()) {
      if ((v.apicBase & APICBASE_EN) === 0) continue; // kvm_apic_present
      if (!this.matchDest(v, irq.dest, irq.logical)) continue;
      if (!lowest) r = Math.max(r, 0) + this.acceptIrq(v, { ...irq, mode });
      else if (v.apic.softwareEnabled) candidates.push(v);
    }
    if (candidates.length > 0) r = this.acceptIrq(candidates[irq.vector % candidates.length]!, { ...irq, mode });
    return r;
  }

  /** __apic_accept_irq: 1 when the APIC took it, 0 when it was discarded (fixed and lowest priority need an enabled APIC). */
  private acceptIrq(v: VcpuObject, irq: MsiIrq): number {
    switch (irq.mode) {
      case 0:
      case 1:
        return (v.apicBase & APICBASE_EN) !== 0 && v.apic.acceptVector(irq.vector, irq.level) ? 1 : 0;
      case 2:
        v.apic.smi++;
        return 1;
      case 3: // remote read: a paravirtual kick
      case 6: // start-up
        return 1;
      case 4:
        v.apic.nmi++;
        return 1;
      case 5:
        v.apic.init++;
        return 1;
      case 7:
        // ExtINT reaches a local APIC only through LINT0 (kvm_apic_accept_pic_intr): a message is not accepted.
        return 0;
      default:
        return 0;
    }
  }

  /** kvm_apic_match_dest for an MSI (no source APIC, no shorthand), with kvm_apic_mda's broadcast quirk. */
  private matchDest(v: VcpuObject, destId: number, logical: boolean): boolean {
    const x2 = x2apicMode(v);
    const mda = !this.broadcastQuirkDisabled && destId === 0xff && x2 ? 0xffffffff : destId;
    if (mda === (x2 ? 0xffffffff : 0xff)) return true; // kvm_apic_broadcast
    if (!logical) {
      // The hotplug rule: an ID an xAPIC cannot hold is matched against the x2APIC ID (the vCPU id).
      if (x2 || mda > 0xff) return mda === v.id;
      return mda === v.xapicId;
    }
    if (x2) return v.ldr >>> 16 === mda >>> 16 && (v.ldr & mda & 0xffff) !== 0;
    const logicalId = v.ldr >>> 24;
    const m = mda & 0xff;
    if (v.dfr === APIC_DFR_FLAT) return (logicalId & m) !== 0;
    if (v.dfr === APIC_DFR_CLUSTER) return logicalId >>> 4 === m >>> 4 && (logicalId & m & 0xf) !== 0;
    return false;
  }
}

/** An MSI as kvm_set_msi_irq decodes it into `struct kvm_lapic_irq`. */
interface MsiIrq {
  /** Destination ID (32 bits with 32-bit IDs, else 8). */
  readonly dest: number;
  /** Address bit 2: logical destination mode. */
  readonly logical: boolean;
  /** Address bit 3: redirection hint (makes the delivery lowest-priority). */
  readonly redirHint: boolean;
  /** Data bits 7:0. */
  readonly vector: number;
  /** Data bit 15: level-triggered. */
  readonly level: boolean;
  /** Data bits 10:8: delivery mode. */
  readonly mode: number;
}

/**
 * `enum kvm_apic_logical_mode` (arch/x86/include/asm/kvm_host.h): no software-enabled APIC with a
 * nonzero LDR yet, all x2APIC, all xAPIC flat, all xAPIC cluster, or mixed / aliased (no logical map).
 */
export type ApicLogicalMode = 'sw-disabled' | 'x2apic' | 'flat' | 'cluster' | 'disabled';

/** `struct kvm_apic_map`: physical IDs to APICs, and the logical map of the one mode all software-enabled APICs share. */
export interface ApicMap {
  /** The highest x2APIC ID of a present APIC, at least 255. */
  readonly maxApicId: number;
  /** `phys_map`. */
  readonly phys: Map<number, VcpuObject>;
  /** `logical_mode`. */
  logicalMode: ApicLogicalMode;
  /** `xapic_flat_map[8]`. */
  readonly flat: Array<VcpuObject | undefined>;
  /** `xapic_cluster_map[16][4]`. */
  readonly cluster: Array<Array<VcpuObject | undefined>>;
}

/**
 * kvm_apic_map_get_logical_dest: the cluster of APICs a logical destination names and the bits of
 * it that count; `undefined` when the logical map is disabled. x2APIC clusters are slices of the
 * physical map, 16 IDs per cluster.
 */
function logicalDest(map: ApicMap, dest: number): { cluster: ReadonlyArray<VcpuObject | undefined> & Array<VcpuObject | undefined>; mask: number } | undefined {
  switch (map.logicalMode) {
    case 'sw-disabled':
      return { cluster: map.flat, mask: 0 };
    case 'x2apic': {
      const offset = (dest >>> 16) * 16;
      if (offset > map.maxApicId) return { cluster: [], mask: 0 };
      const size = Math.min(map.maxApicId - offset + 1, 16);
      const cluster = Array.from({ length: size }, (_, i) => map.phys.get(offset + i));
      return { cluster, mask: dest & (0xffff >>> (16 - size)) };
    }
    case 'flat':
      return { cluster: map.flat, mask: dest & 0xff };
    case 'cluster':
      return { cluster: map.cluster[(dest >>> 4) & 0xf]!, mask: dest & 0xf };
    case 'disabled':
      return undefined;
  }
}

function popcount(x: number): number {
  let n = 0;
  for (let y = x >>> 0; y !== 0; y &= y - 1) n++;
  return n;
}

type FdObject = KvmDevice | VmObject | VcpuObject | EventFdObject;

/**
 * The KVM model: a `Syscalls` that answers /dev/kvm, VM, vCPU and eventfd calls as the
 * kernel does (errnos included), decoding every ioctl argument from raw bytes at the offsets of
 * `include/uapi/linux/kvm.h`. Pass it as `sys` to `KvmPartition.create`. `poll` and epoll are not
 * modelled (ENOSYS): the overflow relay runs on {@link modelRelayPlatform} instead.
 */
export class KvmKernelModel extends ModelKernel<FdObject> implements Syscalls {
  private readonly apicIds: readonly number[];
  /** Things that crash or corrupt real hosts; a correct backend never causes one. */
  readonly hazards: string[] = [];
  /** Every VM created, in order (closed ones stay); {@link KvmKernelModel.vm} is the last. */
  readonly vms: VmObject[] = [];
  private readonly maxRoutes: number;
  private readonly caps: Readonly<Record<number, number>>;
  /** KVM offers x2APIC ({@link KvmModelOptions.x2apic}). */
  private readonly x2apicOffered: boolean;
  /** The queued irqfd injections (irqfd_inject work items), in queuing order, with their VM. */
  private readonly work = new Map<ModelIrqfd, VmObject>();
  private workTimer: ReturnType<typeof setImmediate> | undefined;
  /** An observation (KVM_GET_LAPIC, KVM_GET_IRQCHIP) has answered since the queue last became non-empty. */
  private workObserved = false;
  private readonly workRunsWhilePolled: boolean;

  /**
   * A model with no VM yet. INVALID_ARGUMENT, naming the option, for an unknown option or a value
   * out of range (each read once): a wrong model must fail here, not as a strange errno later.
   */
  constructor(options: KvmModelOptions = {}) {
    const op = 'new KvmKernelModel';
    const o = checkOptions<KvmModelOptions>(op, 'options', options, ['apicIds', 'maxRoutes', 'capabilities', 'maxFds', 'x2apic', 'workRunsWhilePolled']);
    const x2apicOffered = checkBoolean(op, 'x2apic', o.x2apic, true);
    const workRunsWhilePolled = checkBoolean(op, 'workRunsWhilePolled', o.workRunsWhilePolled, true);
    const apicIds: unknown = o.apicIds;
    const maxRoutes: unknown = o.maxRoutes;
    const capabilities: unknown = o.capabilities;
    const maxFds: unknown = o.maxFds;
    if (apicIds !== undefined && (!Array.isArray(apicIds) || apicIds.length < 1 || apicIds.length > 1 << 16)) {
      throw invalidArgument(op, `apicIds must be an array of 1 to 65536 vCPU ids, got ${describeValue(apicIds)}`);
    }
    const ids = ((apicIds as unknown[] | undefined) ?? [0, 1]).map((id, i) => checkInteger(op, `apicIds[${i}]`, id, 0, 0xffffffff));
    if (new Set(ids).size !== ids.length) throw invalidArgument(op, 'apicIds must be distinct (one local APIC per vCPU id)');
    const routeLimit = maxRoutes === undefined ? MAX_IRQ_ROUTES : checkInteger(op, 'maxRoutes', maxRoutes, 1, 1 << 16);
    if (capabilities !== undefined) checkObject(op, 'capabilities', capabilities);
    super(maxFds === undefined ? undefined : checkInteger(op, 'maxFds', maxFds, 0, 1 << 30));
    this.x2apicOffered = x2apicOffered;
    this.workRunsWhilePolled = workRunsWhilePolled;
    this.apicIds = Object.freeze(ids);
    this.maxRoutes = routeLimit;
    // IRQCHIP 0, NR_VCPUS 9, IRQ_ROUTING 25, IRQFD 32, MAX_VCPUS 66, SIGNAL_MSI 77, IRQFD_RESAMPLE 82, SPLIT_IRQCHIP 121,
    // MAX_VCPU_ID 128 (4096, KVM_MAX_VCPU_IDS of current x86 kernels), X2APIC_API 129 (the two flags of the UAPI header).
    this.caps = (capabilities as Readonly<Record<number, number>> | undefined) ?? {
      0: 1,
      9: this.apicIds.length,
      25: this.maxRoutes,
      32: 1,
      66: this.apicIds.length,
      77: 1,
      82: 1,
      121: 1,
      128: 4096,
      129: X2APIC_API_USE_32BIT_IDS | X2APIC_API_DISABLE_BROADCAST_QUIRK,
    };
  }

  // ---- inspection, for tests ---------------------------------------------------------------

  /** The hint of the relay's ENOSYS on this model (no epoll): pass `modelRelayPlatform(model)`. */
  override relayPlatformAdvice(): string {
    return 'Pass relayPlatform: modelRelayPlatform(model) (from @tsvmm/virt-kvm/testing): it delivers relay routes on the model without a thread.';
  }

  /** Open fd numbers now (a dup counts as one more). */
  get openFds(): number {
    return this.table.size;
  }

  /** Open eventfd numbers now (an eventfd and its dup count as two). */
  get openEventFds(): number {
    return this.table.count(isEventFd);
  }

  /** The local APICs of the latest VM (each VM has its own). */
  get bus(): ApicBus {
    return this.vm.bus;
  }

  /** The latest VM created. */
  get vm(): VmObject {
    const vm = this.vms[this.vms.length - 1];
    if (!vm) throw new Error('the model has no VM');
    return vm;
  }

  /** MSI routes of the committed table, by GSI. */
  msiRoutes(vm = this.vm): Map<
    number,
    {
      /** MSI address bits 31:0. */
      addressLo: number;
      /** MSI address bits 63:32. */
      addressHi: number;
      /** MSI data. */
      data: number;
    }
  > {
    const out = new Map<number, { addressLo: number; addressHi: number; data: number }>();
    for (const r of vm.routes) if (r.type === 'msi') out.set(r.gsi, { addressLo: r.addressLo, addressHi: r.addressHi, data: r.data });
    return out;
  }

  /** The fd number of an object (a VM), or undefined when closed. */
  fdOf(o: object): number | undefined {
    return this.table.fdOf(o);
  }

  /** The GSI the eventfd open as `fd` (any of its numbers) is assigned on as an irqfd, or undefined. */
  irqfdGsi(fd: number, vm = this.vm): number | undefined {
    const o = this.table.eventFd(fd);
    return o === undefined ? undefined : vm.irqfds.find((i) => i.eventfd === o)?.gsi;
  }

  /** The eventfd's counter (undefined when `fd` is not an open eventfd). */
  eventfdCount(fd: number): bigint | undefined {
    return this.table.counter(fd);
  }

  // ---- Syscalls ------------------------------------------------------------------------------

  override open(path: string, _flags: number): number {
    if (path !== '/dev/kvm') return -ENOENT;
    return this.allocate({ kind: 'kvm' });
  }

  /**
   * The last number of `o` was closed: the open file is released.
   *
   * @hidden
   */
  protected override release(o: FdObject): void {
    if (!isEventFd(o)) return;
    // Releasing the eventfd deactivates its irqfd at once (virt/kvm/eventfd.c, irqfd_wakeup on
    // EPOLLHUP, under the irqfds lock); only the freeing is left to a workqueue.
    for (const vm of this.vms) {
      const i = vm.irqfds.findIndex((q) => q.eventfd === o);
      if (i < 0) continue;
      // irqfd_shutdown flushes the irqfd's queued injection (flush_work) before the resampler leaves.
      this.runInject(vm.irqfds[i]!);
      vm.removeIrqfd(i);
    }
  }

  override ioctl(fd: number, request: IoctlDef, arg?: number | Uint8Array): number {
    const o = this.table.get(fd);
    if (!o) return -EBADF;
    const req = request.request >>> 0;
    switch (o.kind) {
      case 'kvm':
        return this.kvmIoctl(req, arg);
      case 'vm':
        return this.vmIoctl(o, req, arg);
      case 'vcpu':
        return this.vcpuIoctl(o, req, arg);
      default:
        return -ENOTTY;
    }
  }

  /**
   * After a write to an eventfd: when it is assigned as an irqfd, the counter is drained and the
   * GSI injected once through the committed table, inside the write or from the irqfd's work item
   * as KVM does ({@link VmObject.wakeIrqfd}; a write of 0 too: the wakeup does not look at the
   * value); otherwise a watcher is told when the counter is non-zero.
   */
  protected override eventFdWritten(o: EventFdObject): void {
    const irqfd = this.irqfdOf(o);
    if (irqfd) {
      // Every successful write wakes the eventfd's waiters, even one adding 0 (eventfd_write), and
      // an assigned irqfd then drains the counter (irqfd_wakeup on EPOLLIN) and injects, inside the
      // write or from its work item.
      o.count = 0n;
      irqfd.vm.wakeIrqfd(irqfd.irqfd);
    } else {
      super.eventFdWritten(o);
    }
  }

  // ---- ioctls ------------------------------------------------------------------------------

  private kvmIoctl(req: number, arg: number | Uint8Array | undefined): number {
    switch (req) {
      case KVM_GET_API_VERSION:
        return 12;
      case KVM_CHECK_EXTENSION:
        return typeof arg === 'number' ? (this.caps[arg] ?? 0) : -EINVAL;
      case KVM_GET_SUPPORTED_CPUID:
        return this.supportedCpuid(arg);
      case KVM_CREATE_VM: {
        if ((typeof arg === 'number' ? arg : 0) !== 0) return -EINVAL;
        const vm = new VmObject(this, new ApicBus({ apicIds: this.apicIds }));
        const fd = this.allocate(vm);
        if (fd >= 0) this.vms.push(vm);
        return fd;
      }
      default:
        return -ENOTTY;
    }
  }

  private vmIoctl(vm: VmObject, req: number, arg: number | Uint8Array | undefined): number {
    switch (req) {
      case KVM_CHECK_EXTENSION:
        return typeof arg === 'number' ? (this.caps[arg] ?? 0) : -EINVAL;
      case KVM_CREATE_IRQCHIP:
        if (vm.irqchip) return -EEXIST;
        if (vm.vcpus.size > 0) return -EINVAL;
        vm.irqchip = true;
        vm.routes = defaultRoutes();
        return 0;
      case KVM_CREATE_VCPU: {
        // kvm_vm_ioctl_create_vcpu: the id bound (KVM_MAX_VCPU_IDS), then the count (max_vcpus), then a repeated id.
        const id = typeof arg === 'number' ? arg : -1;
        const maxVcpuId = this.caps[CAP_MAX_VCPU_ID] || this.caps[CAP_MAX_VCPUS] || 0;
        if (id < 0 || id >= maxVcpuId) return -EINVAL;
        if (vm.vcpus.size >= (this.caps[CAP_MAX_VCPUS] ?? 0)) return -EINVAL;
        if (vm.vcpus.has(id)) return -EEXIST;
        const apic = vm.bus.byApicId(id);
        if (apic === undefined) throw new Error(`the KVM model has no local APIC for vCPU id ${id}: list it in the model's apicIds`);
        // kvm_lapic_reset: IA32_APIC_BASE = default base | EN (| BSP for vCPU 0), xAPIC ID = the id's low byte, DFR flat.
        const vcpu: VcpuObject = { kind: 'vcpu', vm, id, apic, apicBase: (APIC_DEFAULT_PHYS_BASE | APICBASE_EN | (id === 0 ? APICBASE_BSP : 0)) >>> 0, xapicId: id & 0xff, ldr: 0, dfr: 0xffffffff, cpuidX2apic: false };
        const fd = this.allocate(vcpu);
        if (fd >= 0) {
          vm.vcpus.set(id, vcpu);
          apic.softwareEnabled = false; // KVM's reset state: SVR = 0xFF, APIC software-disabled
        }
        return fd;
      }
      case KVM_ENABLE_CAP:
        return this.enableCap(vm, arg);
      case KVM_SET_GSI_ROUTING:
        return this.setGsiRouting(vm, arg);
      case KVM_IRQFD:
        return this.irqfd(vm, arg);
      case KVM_GET_IRQCHIP:
      case KVM_SET_IRQCHIP:
        if (req === KVM_GET_IRQCHIP) this.observeWork();
        return this.irqchipState(vm, arg, req === KVM_SET_IRQCHIP);
      case KVM_SIGNAL_MSI: {
        const m = ARG.msi.read(arg);
        if (typeof m === 'number') return m;
        if (!vm.irqchip) return -EINVAL;
        if ((m.flags & ~1) !== 0) return -EINVAL;
        if (vm.msiInvalid(m.addressHi)) return -EINVAL; // kvm_set_msi: kvm_msi_route_invalid
        return vm.deliverMsi(m.addressLo, m.addressHi, m.data);
      }
      default:
        return -ENOTTY;
    }
  }

  private vcpuIoctl(vcpu: VcpuObject, req: number, arg: number | Uint8Array | undefined): number {
    switch (req) {
      case KVM_GET_LAPIC:
      case KVM_SET_LAPIC: {
        // kvm_arch_vcpu_ioctl: without an in-kernel local APIC both are EINVAL before the page is
        // touched; then SET_LAPIC's memdup_user, GET_LAPIC's copy_to_user, of 1024 bytes (EFAULT).
        if (!vcpu.vm.irqchip) return -EINVAL;
        const page = ARG.lapic.read(arg);
        if (typeof page === 'number') return page;
        if (req === KVM_GET_LAPIC) this.observeWork();
        return req === KVM_GET_LAPIC ? this.getLapic(vcpu, page.view) : this.setLapic(vcpu, page);
      }
      case KVM_SET_CPUID2:
        return this.setCpuid2(vcpu, arg);
      case KVM_GET_MSRS:
      case KVM_SET_MSRS:
        return this.msrIo(vcpu, arg, req === KVM_SET_MSRS);
      default:
        return -ENOTTY;
    }
  }

  /** KVM_GET_LAPIC (kvm_apic_get_state, then kvm_apic_state_fixup with set = false). */
  private getLapic(vcpu: VcpuObject, v: DataView): number {
    const apic = vcpu.apic;
    bytes(v).fill(0, 0, 1024);
    let id: number;
    if (x2apicMode(vcpu)) id = vcpu.vm.x2apicFormat ? vcpu.id : (vcpu.id << 24) >>> 0;
    else id = (vcpu.xapicId << 24) >>> 0;
    v.setUint32(APIC_ID, id, true);
    v.setUint32(APIC_LDR, vcpu.ldr, true);
    v.setUint32(APIC_DFR, vcpu.dfr, true);
    v.setUint32(0xf0, 0xff | (apic.softwareEnabled ? 0x100 : 0), true);
    for (let w = 0; w < 8; w++) {
      v.setUint32(0x100 + w * 16, apic.isr[w]!, true);
      v.setUint32(0x180 + w * 16, apic.tmr[w]!, true);
      v.setUint32(0x200 + w * 16, apic.irr[w]!, true);
    }
    return 0;
  }

  /**
   * KVM_SET_LAPIC (kvm_apic_set_state): in x2APIC mode with 32-bit IDs the ID register must hold
   * the vCPU's x2APIC ID (EINVAL, nothing changed, otherwise); in xAPIC mode the page's ID, LDR
   * and DFR are taken.
   */
  private setLapic(vcpu: VcpuObject, page: Exclude<ReturnType<typeof ARG.lapic.read>, number>): number {
    const apic = vcpu.apic;
    const v = page.view;
    if (x2apicMode(vcpu) && vcpu.vm.x2apicFormat && page.id !== vcpu.id) return -EINVAL;
    if (!x2apicMode(vcpu)) {
      vcpu.xapicId = page.id >>> 24;
      vcpu.ldr = page.ldr;
    } else {
      vcpu.ldr = x2apicLdr(vcpu.id); // kvm_apic_state_fixup: in x2APIC mode the LDR follows the ID
    }
    vcpu.dfr = page.dfr;
    apic.softwareEnabled = (page.svr & 0x100) !== 0;
    for (let w = 0; w < 8; w++) {
      apic.isr[w] = v.getUint32(0x100 + w * 16, true);
      apic.tmr[w] = v.getUint32(0x180 + w * 16, true);
      apic.irr[w] = v.getUint32(0x200 + w * 16, true);
    }
    return 0;
  }

  /**
   * KVM_GET_SUPPORTED_CPUID (kvm_dev_ioctl_get_cpuid): E2BIG for `nent` below 1 or below the
   * entries the model has (leaf 0 with the highest basic leaf, 1; leaf 1 with ECX bit 21 when
   * x2APIC is offered), a `nent` above KVM_MAX_CPUID_ENTRIES taken as that many; then the entries
   * and `nent` set to their number.
   */
  private supportedCpuid(arg: number | Uint8Array | undefined): number {
    const a = ARG.cpuid2.read(arg);
    if (typeof a === 'number') return a;
    const v = a.view;
    const nent = Math.min(a.nent, MAX_CPUID_ENTRIES);
    const entries = [
      { fn: 0, eax: 1, ecx: 0 },
      { fn: 1, eax: 0, ecx: this.x2apicOffered ? CPUID_1_ECX_X2APIC : 0 },
    ];
    if (nent < entries.length) return -E2BIG;
    if (v.byteLength < 8 + entries.length * 40) return -EFAULT;
    v.setUint32(0, entries.length, true);
    entries.forEach((e, i) => {
      const at = 8 + i * 40;
      bytes(v).fill(0, at, at + 40);
      v.setUint32(at, e.fn, true);
      v.setUint32(at + 12, e.eax, true);
      v.setUint32(at + 20, e.ecx, true);
    });
    return 0;
  }

  /** KVM_SET_CPUID2 (kvm_vcpu_ioctl_set_cpuid2): E2BIG above KVM_MAX_CPUID_ENTRIES; keeps what the model reads (leaf 1 ECX bit 21). */
  private setCpuid2(vcpu: VcpuObject, arg: number | Uint8Array | undefined): number {
    const a = ARG.cpuid2.read(arg);
    if (typeof a === 'number') return a;
    const { nent, view: v } = a;
    if (nent > MAX_CPUID_ENTRIES) return -E2BIG;
    if (v.byteLength < 8 + nent * 40) return -EFAULT;
    let x2apic = false;
    for (let i = 0; i < nent; i++) {
      const e = ARG.cpuidEntry.entry(v, 8, i);
      if (typeof e === 'number') return e;
      if (e.function === 1 && e.index === 0) x2apic = (e.ecx & (1 << 21)) !== 0;
    }
    // guest_cpu_cap_has(X86_FEATURE_X2APIC): the guest's bit, limited to what KVM offers.
    vcpu.cpuidX2apic = x2apic && this.x2apicOffered;
    return 0;
  }

  /**
   * KVM_GET_MSRS / KVM_SET_MSRS (msr_io, __msr_io): E2BIG for MAX_IO_MSRS entries or more; then
   * entry by entry, stopping at the first the kernel refuses; returns how many were done. The
   * model knows IA32_APIC_BASE only: any other MSR stops the loop.
   */
  private msrIo(vcpu: VcpuObject, arg: number | Uint8Array | undefined, set: boolean): number {
    const a = ARG.msrs.read(arg);
    if (typeof a === 'number') return a;
    const { nmsrs: n, view: v } = a;
    if (n >= MAX_IO_MSRS) return -E2BIG;
    if (v.byteLength < 8 + n * 16) return -EFAULT;
    let i = 0;
    for (; i < n; i++) {
      const e = ARG.msrEntry.entry(v, 8, i);
      if (typeof e === 'number') return e;
      if (e.index !== MSR_APICBASE) break;
      if (!set) {
        e.view.setBigUint64(8, BigInt(vcpu.apicBase), true);
        continue;
      }
      if (!this.setApicBase(vcpu, e.data)) break;
    }
    return i;
  }

  /**
   * kvm_apic_set_base, host-initiated: refused (false) for reserved bits (above the guest's
   * physical address width, bits 7:0 and 9, and EXTD without the x2APIC CPUID bit) or EXTD without
   * EN; the mode transitions a guest may not make are allowed to the host (__kvm_apic_set_base).
   * Enabling the APIC makes the id's low byte the xAPIC ID; entering x2APIC mode makes the vCPU id
   * the APIC ID and derives the LDR from it (kvm_apic_set_x2apic_id); leaving it to xAPIC sets the
   * xAPIC ID again and leaves the LDR as it was.
   */
  private setApicBase(vcpu: VcpuObject, value: bigint): boolean {
    if (value === BigInt(vcpu.apicBase)) return true;
    let reserved = (((1n << 64n) - 1n) >> BigInt(DEFAULT_MAXPHYADDR)) << BigInt(DEFAULT_MAXPHYADDR);
    reserved |= 0x2ffn;
    if (!vcpu.cpuidX2apic) reserved |= BigInt(APICBASE_EXTD);
    if ((value & reserved) !== 0n) return false;
    const bits = Number(value);
    if ((bits & APICBASE_EXTD) !== 0 && (bits & APICBASE_EN) === 0) return false; // LAPIC_MODE_INVALID
    const was = vcpu.apicBase;
    vcpu.apicBase = bits;
    if ((was ^ bits) & APICBASE_EN && bits & APICBASE_EN) vcpu.xapicId = vcpu.id & 0xff;
    if (((was ^ bits) & APICBASE_EXTD) !== 0) {
      if ((bits & APICBASE_EXTD) !== 0) vcpu.ldr = x2apicLdr(vcpu.id);
      else if ((bits & APICBASE_EN) !== 0) vcpu.xapicId = vcpu.id & 0xff;
    }
    return true;
  }

  /** KVM_ENABLE_CAP on a VM (kvm_vm_ioctl_enable_cap): `flags` must be 0; only KVM_CAP_X2APIC_API is modelled. */
  private enableCap(vm: VmObject, arg: number | Uint8Array | undefined): number {
    const a = ARG.enableCap.read(arg);
    if (typeof a === 'number') return a;
    if (a.flags !== 0) return -EINVAL;
    if (a.cap !== CAP_X2APIC_API) return -EINVAL;
    const flags = a.args0;
    if ((flags & ~BigInt(this.caps[CAP_X2APIC_API] ?? 0)) !== 0n) return -EINVAL;
    if (flags & BigInt(X2APIC_API_USE_32BIT_IDS)) vm.x2apicFormat = true;
    if (flags & BigInt(X2APIC_API_DISABLE_BROADCAST_QUIRK)) vm.broadcastQuirkDisabled = true;
    return 0;
  }

  /** KVM_SET_GSI_ROUTING: the whole table, all or nothing (kvm_set_irq_routing). */
  private setGsiRouting(vm: VmObject, arg: number | Uint8Array | undefined): number {
    const a = ARG.irqRouting.read(arg);
    if (typeof a === 'number') return a;
    const { nr, flags, view: v } = a;
    if (!vm.irqchip) return -EINVAL;
    if (nr > this.maxRoutes) return -EINVAL;
    if (flags !== 0) return -EINVAL;
    if (v.byteLength < 8 + nr * 48) return -EFAULT;
    const routes: ModelRoute[] = [];
    for (let i = 0; i < nr; i++) {
      const e = ARG.routingEntry.entry(v, 8, i);
      if (typeof e === 'number') return e;
      const { gsi, type, flags: eflags } = e;
      if (gsi >= this.maxRoutes) return -EINVAL;
      if (type === ROUTING_TYPE_MSI) {
        if ((eflags & ~1) !== 0) return -EINVAL; // only KVM_MSI_VALID_DEVID
        // setup_routing_entry: a GSI with an MSI entry has no other entry.
        if (routes.some((r) => r.gsi === gsi)) return -EINVAL;
        if (vm.msiInvalid(e.addressHi)) return -EINVAL; // kvm_set_routing_entry: kvm_msi_route_invalid
        routes.push({ gsi, type: 'msi', addressLo: e.addressLo, addressHi: e.addressHi, data: e.data });
      } else if (type === ROUTING_TYPE_IRQCHIP) {
        if (eflags !== 0) return -EINVAL;
        const { irqchip, pin } = e;
        if (irqchip > 2 || pin >= (irqchip === 2 ? 24 : 8)) return -EINVAL;
        // setup_routing_entry: one entry per irqchip for a GSI, and none beside an MSI entry.
        if (routes.some((r) => r.gsi === gsi && (r.type !== 'irqchip' || r.irqchip === irqchip))) return -EINVAL;
        routes.push({ gsi, type: 'irqchip', irqchip, pin });
      } else {
        return -EINVAL;
      }
    }
    for (const q of vm.irqfds) {
      const had = vm.routes.some((r) => r.gsi === q.gsi);
      const has = routes.some((r) => r.gsi === q.gsi);
      if (had && !has) this.hazards.push(`the route of GSI ${q.gsi} was removed while eventfd ${q.fd} is assigned on it as an irqfd`);
    }
    vm.routes = Object.freeze(routes);
    return 0;
  }

  /** KVM_IRQFD (kvm_irqfd, kvm_irqfd_assign, kvm_irqfd_deassign). */
  private irqfd(vm: VmObject, arg: number | Uint8Array | undefined): number {
    const a = ARG.irqfd.read(arg);
    if (typeof a === 'number') return a;
    const { fd, gsi, flags } = a;
    if ((flags & ~(IRQFD_FLAG_DEASSIGN | IRQFD_FLAG_RESAMPLE)) !== 0) return -EINVAL;
    // kvm_irqfd: a deassign goes straight to kvm_irqfd_deassign; only an assign needs the irqchip (kvm_arch_irqfd_allowed).
    if ((flags & IRQFD_FLAG_DEASSIGN) === 0 && !vm.irqchip) return -EINVAL;
    const o = this.table.get(fd);
    if (!o) return -EBADF;
    if (!isEventFd(o)) return -EINVAL;
    if (flags & IRQFD_FLAG_DEASSIGN) {
      // Matches (eventfd, gsi); 0 even when nothing matched. Deassign drains without injecting;
      // the last resample irqfd of a GSI leaving deasserts it (irqfd_resampler_shutdown).
      // kvm_irqfd_deassign waits for irqfd_shutdown, which flushes a queued injection first.
      const i = vm.irqfds.findIndex((q) => q.eventfd === o && q.gsi === gsi);
      if (i >= 0) {
        this.runInject(vm.irqfds[i]!);
        vm.removeIrqfd(i);
        o.count = 0n;
      }
      return 0;
    }
    let resamplefd: EventFdObject | undefined;
    if (flags & IRQFD_FLAG_RESAMPLE) {
      // kvm_arch_irqfd_allowed: resample only with the full in-kernel irqchip (the model has no split irqchip);
      // then eventfd_ctx_fdget(resamplefd): EBADF for a closed number, EINVAL for a file that is not an eventfd.
      const r = this.table.get(a.resamplefd);
      if (!r) return -EBADF;
      if (!isEventFd(r)) return -EINVAL;
      resamplefd = r;
    }
    if (this.irqfdOf(o)) return -EBUSY; // newer kernels: across all VMs
    if (!vm.routes.some((r) => r.gsi === gsi)) this.hazards.push(`eventfd ${fd} was assigned as an irqfd on GSI ${gsi}, which the committed table does not route`);
    const q: ModelIrqfd = resamplefd === undefined ? { eventfd: o, fd, gsi } : { eventfd: o, fd, gsi, resamplefd };
    vm.irqfds.push(q);
    // A signal already pending at assign is injected from the irqfd's work item (schedule_work), and
    // the counter stays readable (stale) until the next signal or the deassign.
    if (o.count > 0n) this.scheduleInject(vm, q);
    return 0;
  }

  /**
   * KVM_GET_IRQCHIP / KVM_SET_IRQCHIP (kvm_vm_ioctl_get_irqchip, kvm_vm_ioctl_set_irqchip): ENXIO
   * without the in-kernel irqchip, EINVAL for a chip id above 2; the IOAPIC (chip 2) as
   * `kvm_get_ioapic` / `kvm_set_ioapic` read and write it. The PIC (chips 0 and 1) is not modelled.
   */
  private irqchipState(vm: VmObject, arg: number | Uint8Array | undefined, set: boolean): number {
    const a = ARG.irqchip.read(arg);
    if (typeof a === 'number') return a;
    if (!vm.irqchip) return -ENXIO;
    const { chipId: chip, view: v } = a;
    if (chip > IRQCHIP_IOAPIC) return -EINVAL;
    if (chip !== IRQCHIP_IOAPIC) throw new Error(`the KVM model has no PIC (KVM_${set ? 'SET' : 'GET'}_IRQCHIP of chip ${chip})`);
    if (set) {
      const lo: number[] = [];
      const hi: number[] = [];
      for (let p = 0; p < 24; p++) {
        lo.push(v.getUint32(IOAPIC_REDIRTBL + p * 8, true));
        hi.push(v.getUint32(IOAPIC_REDIRTBL + p * 8 + 4, true));
      }
      vm.ioapic.setState({ lo, hi, irr: v.getUint32(IOAPIC_IRR, true) & 0xffffff });
      return 0;
    }
    const s = vm.ioapic.getState();
    bytes(v).fill(0, 8, IRQCHIP_SIZE);
    v.setUint32(8, 0xfec00000, true); // IOAPIC_DEFAULT_BASE_ADDRESS
    v.setUint32(IOAPIC_IRR, s.irr, true);
    for (let p = 0; p < 24; p++) {
      v.setUint32(IOAPIC_REDIRTBL + p * 8, s.lo[p]!, true);
      v.setUint32(IOAPIC_REDIRTBL + p * 8 + 4, s.hi[p]!, true);
    }
    return 0;
  }

  /**
   * schedule_work(&irqfd->inject): queues the irqfd's injection; queuing it again before it ran
   * changes nothing (one work item per irqfd). The queue runs on the event loop's next turn
   * (`setImmediate`), as the kernel's workqueue runs after the write returns, or at once with
   * {@link flushWork}.
   */
  scheduleInject(vm: VmObject, q: ModelIrqfd): void {
    if (this.work.has(q)) return;
    if (this.work.size === 0) this.workObserved = false;
    this.work.set(q, vm);
    if (this.workTimer === undefined) this.workTimer = setImmediate(() => this.flushWork());
  }

  /**
   * The kernel's workqueue runs on another CPU while user space polls: the first observation after
   * an injection was queued still sees the state before it (as a read right after `write` may on a
   * real kernel), the next one sees it run. A test that reads once fails here as it would there; a
   * bounded poll passes on both, in a synchronous loop as well.
   */
  private observeWork(): void {
    if (this.work.size === 0 || !this.workRunsWhilePolled) return;
    if (this.workObserved) this.flushWork();
    else this.workObserved = true;
  }

  /** Injections queued and not run yet (each irqfd's work item counts once). */
  get pendingWork(): number {
    return this.work.size;
  }

  /**
   * Runs every queued injection now, oldest first (what the kernel's workqueue does shortly after
   * the write; `flush_workqueue`). Returns how many ran. Tests that must not wait for the event loop
   * call it; an injection queued while it runs runs too.
   */
  flushWork(): number {
    if (this.workTimer !== undefined) clearImmediate(this.workTimer);
    this.workTimer = undefined;
    this.workObserved = false;
    let n = 0;
    for (let next = this.work.keys().next(); !next.done; next = this.work.keys().next()) {
      this.runInject(next.value);
      n++;
    }
    return n;
  }

  /** flush_work(&irqfd->inject): runs the irqfd's queued injection, if any. */
  private runInject(q: ModelIrqfd): void {
    const vm = this.work.get(q);
    if (vm === undefined) return;
    this.work.delete(q);
    vm.injectIrqfd(q);
  }

  /**
   * Adds 1 to an eventfd's counter as `eventfd_signal` does from inside the kernel (a resamplefd):
   * readable for its watchers.
   */
  signalEventFd(o: EventFdObject): void {
    o.count += 1n;
    this.table.notifyReadable(o);
  }

  /**
   * The guest's EOI of `vector` on the vCPU with id `vcpuId` (no guest runs in the model): the
   * local APIC takes and EOIs the vector, and a level-triggered one's EOI reaches the IOAPIC
   * (`kvm_ioapic_update_eoi`): the pins delivering it are acknowledged (resample irqfds deassert
   * and signal their resamplefds) and a pin still asserted delivers again. False when the vector
   * was neither requested nor in service.
   *
   * @throws VirtError INVALID_ARGUMENT (`@tsvmm/virt`) for a vCPU id the VM does not have or a
   *   vector outside 0-255, before anything changes.
   */
  eoi(vcpuId: number, vector: number, vm = this.vm): boolean {
    const op = 'KvmKernelModel.eoi';
    const vcpu = vm.vcpus.get(vcpuId);
    if (!vcpu) throw invalidArgument(op, `the VM has no vCPU ${describeValue(vcpuId)} (its vCPU ids: ${[...vm.vcpus.keys()].join(', ') || 'none'})`);
    checkInteger(op, 'vector', vector, 0, 255);
    return vm.ioapic.guestEoi(vcpu.apic, vector);
  }

  /**
   * The entry point `KvmPartition.guestEoi()` finds on its `sys` (a real kernel has none): the
   * guest's EOI of `vector` on the vCPU with id `vcpuId` of the VM open as `vmFd`, as {@link eoi}.
   * The partition checks its arguments first; here a number that is not an open VM, or a vCPU id
   * the VM does not have, throws VirtError INVALID_ARGUMENT.
   */
  modelGuestEoi(vmFd: number, vcpuId: number, vector: number): boolean {
    const vm = this.table.get(vmFd);
    if (!(vm instanceof VmObject)) throw invalidArgument('KvmKernelModel.modelGuestEoi', `fd ${describeValue(vmFd)} is not an open VM of the model`);
    return this.eoi(vcpuId, vector, vm);
  }

  private irqfdOf(o: EventFdObject): { vm: VmObject; irqfd: ModelIrqfd } | undefined {
    for (const vm of this.vms) {
      const irqfd = vm.irqfds.find((q) => q.eventfd === o);
      if (irqfd) return { vm, irqfd };
    }
    return undefined;
  }

  private allocate(o: FdObject): number {
    return this.table.install(o);
  }
}

/** The caller's bytes under a struct view, for what the kernel zeroes before it copies a struct out. */
function bytes(v: DataView): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/**
 * kvm_setup_default_irq_routing on x86: GSIs 0-15 to the IOAPIC pin and the PIC (master 0-7,
 * slave 8-15), GSIs 16-23 to the IOAPIC only (irqchip numbers: PIC master 0, slave 1, IOAPIC 2).
 */
function defaultRoutes(): readonly ModelRoute[] {
  const out: ModelRoute[] = [];
  for (let gsi = 0; gsi < 24; gsi++) {
    out.push({ gsi, type: 'irqchip', irqchip: 2, pin: gsi });
    if (gsi < 16) out.push({ gsi, type: 'irqchip', irqchip: gsi < 8 ? 0 : 1, pin: gsi % 8 });
  }
  return Object.freeze(out);
}

