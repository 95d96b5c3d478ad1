/**
 * A model of the Linux KVM interface as far as tsvmm uses it, behind the {@link Syscalls} seam:
 * /dev/kvm, VMs, vCPUs with their local APIC page, the GSI routing table, irqfds and eventfds.
 *
 * It is written from the reference facts (the UAPI header `include/uapi/linux/kvm.h`,
 * `Documentation/virt/kvm/api.rst`, `virt/kvm/eventfd.c`, `virt/kvm/irqchip.c`), never from the
 * backend's own definitions: ioctl numbers are the literal values of the header, and every
 * argument is decoded from raw bytes at the header's offsets. So a wrong number or offset in the
 * backend's ABI module shows up as a failed test, not as two copies of the same mistake.
 *
 * Descriptors and eventfds are the shared model table of `@tsvmm/linux-sys/testing`
 * ({@link ModelFileTable}): POSIX numbers (`dup` adds one for the same file, `close` removes one,
 * the file with its irqfd is released only with its last number), the process's real
 * RLIMIT_NOFILE, non-blocking 64-bit eventfd counters. A write to an eventfd assigned as an irqfd
 * drains it and injects through the committed table into an {@link ApicBus}, inside the write, as
 * KVM does.
 *
 * Hazards, things that crashed or corrupted real hosts, are recorded in {@link hazards} (tests
 * assert it stays empty): an irqfd assigned on a GSI that the committed table does not route, and
 * a table commit that removes the route of a GSI while an irqfd is assigned on it.
 *
 * Wrap it with `FaultInjector` from `@tsvmm/linux-sys/testing` to fail chosen calls.
 */
import type { DescriptorBudget, IoctlDef, Syscalls } from '@tsvmm/linux-sys';
import { type ModelEventFd, ModelFileTable, isEventFd } from '@tsvmm/linux-sys/testing';
import { ApicBus } from '@tsvmm/virt/testing';
import { describeValue, invalidArgument } from '@tsvmm/virt';
import { checkInteger, checkObject, checkOptions } from '@tsvmm/virt/implement';

// errno values (x86_64, asm-generic/errno-base.h).
const ENOENT = 2;
const EBADF = 9;
const EFAULT = 14;
const EBUSY = 16;
const EEXIST = 17;
const EINVAL = 22;
const ENOTTY = 25;
const ENOSYS = 38;

// ioctl numbers, literally from the reference table (kvm.md §1).
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

/** KVM_MAX_IRQ_ROUTES on current kernels: the most entries and the GSI bound. */
const MAX_IRQ_ROUTES = 4096;
const ROUTING_TYPE_IRQCHIP = 1;
const ROUTING_TYPE_MSI = 2;
const IRQFD_FLAG_DEASSIGN = 1;
const IRQFD_FLAG_RESAMPLE = 2;

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
  /** APIC IDs of the vCPUs the bus knows, in vCPU-id order (vCPU i must be created with id i). Default [0, 1]. */
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
  /** The vCPU id given to KVM_CREATE_VCPU: also its index in the VM's `ApicBus`. */
  readonly id: number;
}

/** An irqfd assigned with KVM_IRQFD: signals on `eventfd` inject through the routes of `gsi`. */
export interface ModelIrqfd {
  /** The open file: the kernel binds the eventfd context, never the number it was named by. */
  readonly eventfd: EventFdObject;
  /** The number it was assigned with (for messages only). */
  readonly fd: number;
  /** The GSI it was assigned on (not checked against the table at assign, as in KVM). */
  readonly gsi: number;
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

  constructor(
    /** The model this VM lives in. */
    readonly model: KvmKernelModel,
    /** The VM's local APICs: where its MSIs land. */
    readonly bus: ApicBus,
  ) {}

  /** The committed table's entries for `gsi` (several for a legacy GSI: IOAPIC and PIC; none when unrouted). */
  routesFor(gsi: number): ModelRoute[] {
    return this.routes.filter((r) => r.gsi === gsi);
  }

  /** Injects one interrupt for `gsi` through the table; false when the GSI has no route (the signal is consumed anyway). */
  injectGsi(gsi: number): boolean {
    this.injections.set(gsi, (this.injections.get(gsi) ?? 0) + 1);
    let any = false;
    for (const r of this.routesFor(gsi)) {
      if (r.type === 'msi') this.bus.deliver(r.addressLo, r.addressHi, r.data);
      any = true;
    }
    return any;
  }
}

type FdObject = KvmDevice | VmObject | VcpuObject | EventFdObject;

/**
 * The KVM model: a `Syscalls` that answers /dev/kvm, VM, vCPU and eventfd calls as the
 * kernel does (errnos included), decoding every ioctl argument from raw bytes at the offsets of
 * `include/uapi/linux/kvm.h`. Pass it as `sys` to `KvmPartition.create`. `poll` and epoll are not
 * modelled (ENOSYS): the overflow relay runs on {@link modelRelayPlatform} instead.
 */
export class KvmKernelModel implements Syscalls {
  private readonly apicIds: readonly number[];
  /** Things that crash or corrupt real hosts; a correct backend never causes one. */
  readonly hazards: string[] = [];
  /** Every VM created, in order (closed ones stay); {@link KvmKernelModel.vm} is the last. */
  readonly vms: VmObject[] = [];
  /** The process's descriptors and eventfds, shared vocabulary with the other kernel models. */
  get files(): ModelFileTable<object> {
    return this.table;
  }
  private readonly table: ModelFileTable<FdObject>;
  private readonly maxRoutes: number;
  private readonly caps: Readonly<Record<number, number>>;

  /**
   * A model with no VM yet. INVALID_ARGUMENT, naming the option, for an unknown option or a value
   * out of range (each read once): a wrong model must fail here, not as a strange errno later.
   */
  constructor(options: KvmModelOptions = {}) {
    const op = 'new KvmKernelModel';
    const o = checkOptions<KvmModelOptions>(op, 'options', options, ['apicIds', 'maxRoutes', 'capabilities', 'maxFds']);
    const apicIds: unknown = o.apicIds;
    const maxRoutes: unknown = o.maxRoutes;
    const capabilities: unknown = o.capabilities;
    const maxFds: unknown = o.maxFds;
    if (apicIds !== undefined && (!Array.isArray(apicIds) || apicIds.length < 1 || apicIds.length > 255)) {
      throw invalidArgument(op, `apicIds must be an array of 1 to 255 APIC IDs, got ${describeValue(apicIds)}`);
    }
    const ids = ((apicIds as unknown[] | undefined) ?? [0, 1]).map((id, i) => checkInteger(op, `apicIds[${i}]`, id, 0, 0xfe));
    this.apicIds = Object.freeze(ids);
    this.maxRoutes = maxRoutes === undefined ? MAX_IRQ_ROUTES : checkInteger(op, 'maxRoutes', maxRoutes, 1, 1 << 16);
    if (capabilities !== undefined) checkObject(op, 'capabilities', capabilities);
    this.table = new ModelFileTable<FdObject>({
      ...(maxFds === undefined ? {} : { maxFds: checkInteger(op, 'maxFds', maxFds, 0, 1 << 30) }),
      onRelease: (f) => this.release(f),
    });
    // IRQCHIP 0, NR_VCPUS 9, IRQ_ROUTING 25, IRQFD 32, MAX_VCPUS 66, SIGNAL_MSI 77, IRQFD_RESAMPLE 82, SPLIT_IRQCHIP 121, X2APIC_API 129.
    this.caps =
      (capabilities as Readonly<Record<number, number>> | undefined) ?? { 0: 1, 9: this.apicIds.length, 25: this.maxRoutes, 32: 1, 66: this.apicIds.length, 77: 1, 82: 1, 121: 1, 129: 1 };
  }

  // ---- inspection, for tests ---------------------------------------------------------------

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

  /** How many numbers refer to the open file behind `fd` (0 when `fd` is closed). */
  fileRefs(fd: number): number {
    return this.table.fileRefs(fd);
  }

  /** The eventfd's counter (undefined when `fd` is not an open eventfd). */
  eventfdCount(fd: number): bigint | undefined {
    return this.table.counter(fd);
  }

  /**
   * Calls `ready` whenever a write leaves the (unassigned) eventfd `fd` readable: the relay model's
   * waiter. Returns what stops it. Throws RangeError when `fd` is not an open eventfd.
   */
  watchEventFd(fd: number, ready: () => void): () => void {
    return this.table.watchEventFd(fd, ready);
  }

  // ---- Syscalls ------------------------------------------------------------------------------

  open(path: string, _flags: number): number {
    if (path !== '/dev/kvm') return -ENOENT;
    return this.allocate({ kind: 'kvm' });
  }

  /**
   * close(2) removes one number. The open file lives on while another number (a dup) still refers
   * to it; only the last close releases it.
   */
  close(fd: number): number {
    return this.table.close(fd);
  }

  /** The last number of `o` was closed: the open file is released. */
  private release(o: FdObject): void {
    if (!isEventFd(o)) return;
    // Releasing the eventfd deactivates its irqfd at once (virt/kvm/eventfd.c, irqfd_wakeup on
    // EPOLLHUP, under the irqfds lock); only the freeing is left to a workqueue.
    for (const vm of this.vms) {
      const i = vm.irqfds.findIndex((q) => q.eventfd === o);
      if (i >= 0) vm.irqfds.splice(i, 1);
    }
  }

  /**
   * `fcntl(fd, F_DUPFD_CLOEXEC, 0)` (POSIX dup): the lowest free number, referring to the same open
   * file (the same eventfd counter, the same irqfd bindings). EBADF for a closed number, EMFILE at
   * the limit.
   */
  dup(fd: number): number {
    return this.table.dup(fd);
  }

  /** `kcmp(pid, pid, KCMP_FILE, a, b)` as a yes/no: 1 when both numbers name one open file, 0 when not, -EBADF when either is closed. */
  sameFile(a: number, b: number): number {
    return this.table.sameFile(a, b);
  }

  ioctl(fd: number, request: IoctlDef, arg?: number | Uint8Array): number {
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

  read(fd: number, buf: Uint8Array, length: number): number {
    return this.table.readEventFd(fd, buf, length);
  }

  /**
   * write(2) of 8 bytes to an eventfd: adds the little-endian u64 to its counter (EINVAL for
   * 0xFFFFFFFFFFFFFFFF or fewer than 8 bytes, EAGAIN when it would overflow). When the eventfd is
   * assigned as an irqfd, the counter is drained and the GSI injected once through the committed
   * table, inside the write, as KVM does (a write of 0 too: the wakeup does not look at the value);
   * otherwise a watcher is told when the counter is non-zero. Returns 8 or -errno.
   */
  write(fd: number, buf: Uint8Array, length: number): number {
    const o = this.table.addToEventFd(fd, buf, length);
    if (typeof o === 'number') return o;
    const irqfd = this.irqfdOf(o);
    if (irqfd) {
      // Every successful write wakes the eventfd's waiters, even one adding 0 (eventfd_write), and
      // an assigned irqfd then drains the counter and injects once (edge), inside the write
      // (irqfd_wakeup on EPOLLIN reads the counter and injects whatever it read).
      o.count = 0n;
      irqfd.vm.injectGsi(irqfd.irqfd.gsi);
    } else {
      this.table.notifyReadable(o);
    }
    return 8;
  }

  eventfd(initval: number, _flags: number): number {
    return this.table.createEventFd(initval);
  }

  poll(): number {
    return -ENOSYS;
  }

  epollCreate(): number {
    return -ENOSYS;
  }

  epollCtl(): number {
    return -ENOSYS;
  }

  epollWait(): number {
    return -ENOSYS;
  }

  // ---- ioctls ------------------------------------------------------------------------------

  private kvmIoctl(req: number, arg: number | Uint8Array | undefined): number {
    switch (req) {
      case KVM_GET_API_VERSION:
        return 12;
      case KVM_CHECK_EXTENSION:
        return typeof arg === 'number' ? (this.caps[arg] ?? 0) : -EINVAL;
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
        const id = typeof arg === 'number' ? arg : -1;
        if (id < 0 || id >= vm.bus.apics.length || vm.vcpus.has(id)) return id >= 0 && vm.vcpus.has(id) ? -EEXIST : -EINVAL;
        const vcpu: VcpuObject = { kind: 'vcpu', vm, id };
        const fd = this.allocate(vcpu);
        if (fd >= 0) {
          vm.vcpus.set(id, vcpu);
          vm.bus.apics[id]!.softwareEnabled = false; // KVM's reset state: SVR = 0xFF, APIC software-disabled
        }
        return fd;
      }
      case KVM_SET_GSI_ROUTING:
        return arg instanceof Uint8Array ? this.setGsiRouting(vm, arg) : -EFAULT;
      case KVM_IRQFD:
        return arg instanceof Uint8Array ? this.irqfd(vm, arg) : -EFAULT;
      case KVM_SIGNAL_MSI: {
        if (!(arg instanceof Uint8Array) || arg.length < 32) return -EFAULT;
        if (!vm.irqchip) return -EINVAL;
        const v = view(arg);
        if ((v.getUint32(12, true) & ~1) !== 0) return -EINVAL;
        return vm.bus.deliver(v.getUint32(0, true), v.getUint32(4, true), v.getUint32(8, true)) ? 1 : 0;
      }
      default:
        return -ENOTTY;
    }
  }

  private vcpuIoctl(vcpu: VcpuObject, req: number, arg: number | Uint8Array | undefined): number {
    if (!(arg instanceof Uint8Array) || arg.length < 1024) return req === KVM_GET_LAPIC || req === KVM_SET_LAPIC ? -EFAULT : -ENOTTY;
    // Without an in-kernel local APIC, KVM_GET_LAPIC / KVM_SET_LAPIC are EINVAL (kvm_arch_vcpu_ioctl).
    if (!vcpu.vm.irqchip) return req === KVM_GET_LAPIC || req === KVM_SET_LAPIC ? -EINVAL : -ENOTTY;
    const apic = vcpu.vm.bus.apics[vcpu.id]!;
    const v = view(arg);
    switch (req) {
      case KVM_GET_LAPIC: {
        arg.fill(0, 0, 1024);
        v.setUint32(0x20, (apic.apicId << 24) >>> 0, true);
        v.setUint32(0xf0, 0xff | (apic.softwareEnabled ? 0x100 : 0), true);
        for (let w = 0; w < 8; w++) {
          v.setUint32(0x100 + w * 16, apic.isr[w]!, true);
          v.setUint32(0x180 + w * 16, apic.tmr[w]!, true);
          v.setUint32(0x200 + w * 16, apic.irr[w]!, true);
        }
        return 0;
      }
      case KVM_SET_LAPIC: {
        apic.softwareEnabled = (v.getUint32(0xf0, true) & 0x100) !== 0;
        for (let w = 0; w < 8; w++) {
          apic.isr[w] = v.getUint32(0x100 + w * 16, true);
          apic.tmr[w] = v.getUint32(0x180 + w * 16, true);
          apic.irr[w] = v.getUint32(0x200 + w * 16, true);
        }
        return 0;
      }
      default:
        return -ENOTTY;
    }
  }

  /** KVM_SET_GSI_ROUTING: the whole table, all or nothing (kvm_set_irq_routing). */
  private setGsiRouting(vm: VmObject, arg: Uint8Array): number {
    if (arg.length < 8) return -EFAULT;
    const v = view(arg);
    const nr = v.getUint32(0, true);
    const flags = v.getUint32(4, true);
    if (!vm.irqchip) return -EINVAL;
    if (nr > this.maxRoutes) return -EINVAL;
    if (flags !== 0) return -EINVAL;
    if (arg.length < 8 + nr * 48) return -EFAULT;
    const routes: ModelRoute[] = [];
    const msiGsis = new Set<number>();
    for (let i = 0; i < nr; i++) {
      const at = 8 + i * 48;
      const gsi = v.getUint32(at, true);
      const type = v.getUint32(at + 4, true);
      const eflags = v.getUint32(at + 8, true);
      if (gsi >= this.maxRoutes) return -EINVAL;
      if (type === ROUTING_TYPE_MSI) {
        if ((eflags & ~1) !== 0) return -EINVAL; // only KVM_MSI_VALID_DEVID
        if (msiGsis.has(gsi)) return -EINVAL; // a second MSI entry for one GSI
        msiGsis.add(gsi);
        routes.push({ gsi, type: 'msi', addressLo: v.getUint32(at + 16, true), addressHi: v.getUint32(at + 20, true), data: v.getUint32(at + 24, true) });
      } else if (type === ROUTING_TYPE_IRQCHIP) {
        if (eflags !== 0) return -EINVAL;
        const irqchip = v.getUint32(at + 16, true);
        const pin = v.getUint32(at + 20, true);
        if (irqchip > 2 || pin >= (irqchip === 2 ? 24 : 8)) return -EINVAL;
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
  private irqfd(vm: VmObject, arg: Uint8Array): number {
    if (arg.length < 32) return -EFAULT;
    const v = view(arg);
    const fd = v.getInt32(0, true);
    const gsi = v.getUint32(4, true);
    const flags = v.getUint32(8, true);
    if ((flags & ~(IRQFD_FLAG_DEASSIGN | IRQFD_FLAG_RESAMPLE)) !== 0) return -EINVAL;
    if (!vm.irqchip) return -EINVAL;
    const o = this.table.get(fd);
    if (!o) return -EBADF;
    if (!isEventFd(o)) return -EINVAL;
    if (flags & IRQFD_FLAG_DEASSIGN) {
      // Matches (eventfd, gsi); 0 even when nothing matched. Deassign drains without injecting.
      const i = vm.irqfds.findIndex((q) => q.eventfd === o && q.gsi === gsi);
      if (i >= 0) {
        vm.irqfds.splice(i, 1);
        o.count = 0n;
      }
      return 0;
    }
    // Level-triggered resample is not modelled (tsvmm never asks for it): refused like an unknown flag.
    if (flags & IRQFD_FLAG_RESAMPLE) return -EINVAL;
    if (this.irqfdOf(o)) return -EBUSY; // newer kernels: across all VMs
    if (!vm.routes.some((r) => r.gsi === gsi)) this.hazards.push(`eventfd ${fd} was assigned as an irqfd on GSI ${gsi}, which the committed table does not route`);
    vm.irqfds.push({ eventfd: o, fd, gsi });
    // Assign injects a signal already pending, and leaves the counter readable (stale) until the next signal or the deassign.
    if (o.count > 0n) vm.injectGsi(gsi);
    return 0;
  }

  private irqfdOf(o: EventFdObject): { vm: VmObject; irqfd: ModelIrqfd } | undefined {
    for (const vm of this.vms) {
      const irqfd = vm.irqfds.find((q) => q.eventfd === o);
      if (irqfd) return { vm, irqfd };
    }
    return undefined;
  }

  /** The model's own budget: {@link KvmModelOptions.maxFds} and the numbers it has open. */
  descriptorBudget(): DescriptorBudget {
    return this.table.budget();
  }

  private allocate(o: FdObject): number {
    return this.table.install(o);
  }
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
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
