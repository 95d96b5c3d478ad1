/**
 * A model of the Linux mshv driver (`drivers/hv/mshv_root_main.c`, `mshv_eventfd.c`,
 * `mshv_irq.c`) and the eventfds it binds, behind the {@link Syscalls} seam, for unit tests of
 * anything that drives /dev/mshv.
 *
 * It decodes the raw bytes of every ioctl argument with offsets written out here from the UAPI
 * header (`include/uapi/linux/mshv.h`), never through the package's encoders, so a wrong encoder
 * and a wrong model cannot agree. It returns the kernel's errnos, behaves like the kernel with
 * eventfds (a signal on an assigned irqfd drains the counter and injects; a count pending at
 * assign is injected but stays readable until the next signal or the deassign; deassign drains
 * without injecting; releasing an eventfd tears its irqfd down; an eventfd assigned in several
 * partitions wakes only its oldest irqfd), and delivers into an
 * {@link ApicBus} per partition. Where the real kernel would inject garbage or crash the host, it
 * does what the kernel does and also records a {@link MshvHazard}: tests assert `hazards` is empty.
 *
 * Descriptors and eventfds are the shared model table of `@tsvmm/linux-sys/testing`
 * ({@link ModelFileTable}): POSIX numbers (`dup` gives the lowest free number for the same open file,
 * `close` removes one, and the file is released, an eventfd's irqfds torn down, a partition's
 * reference dropped, only with its last number), the process's real RLIMIT_NOFILE, non-blocking
 * 64-bit eventfd counters.
 *
 * Pointers inside ioctl arguments (`in_ptr`, `buf_ptr`) are resolved in the model's own address
 * space ({@link UserMemory}): an address it did not hand out is an EFAULT.
 *
 * Compose fault injection with `new FaultInjector(model)` from `@tsvmm/linux-sys/testing`.
 */
import { ApicBus, type LocalApicModel } from '@tsvmm/virt/testing';
import { EBADF, EBUSY, EEXIST, EFAULT, EINVAL, ENOENT, ENOSYS, ENOTTY, type IoctlDef, type Syscalls } from '@tsvmm/linux-sys';
import { type ModelEventFd, ModelKernel, isEventFd, modelStruct } from '@tsvmm/linux-sys/testing';
import type { PinnedBuffer, UserMemory } from '../memory';

// ---- the ABI in the model's own words (include/uapi/linux/mshv.h, Linux 6.15+) ----
const REQ = {
  CREATE_PARTITION: 0x4010b800,
  INITIALIZE_PARTITION: 0xb800,
  CREATE_VP: 0x4004b801,
  IRQFD: 0x4010b803,
  SET_MSI_ROUTING: 0x4008b805,
  ROOT_HVCALL: 0xc020b807,
  RUN_VP: 0x8100b800,
  GET_VP_STATE: 0xc010b801,
  SET_VP_STATE: 0xc010b802,
} as const;
// LAPIC, X2APIC, GPA_SUPER_PAGES. X2APIC (HV_PARTITION_CREATION_FLAG_X2APIC_CAPABLE) changes none
// of the checks below: VP indexes stay below 256 and a nonzero address_hi is still EINVAL.
const PT_FLAGS_KNOWN = 0b111n;
const IRQFD_DEASSIGN = 1;
const IRQFD_RESAMPLE = 2;
const MAX_ROUTES = 4096;
const MAX_VPS = 256;
const HVCALL_ASSERT_VIRTUAL_INTERRUPT = 0x94;
/** The hypercalls this model lets through MSHV_ROOT_HVCALL (the kernel's allow-list has more). */
const HVCALL_ALLOWED = new Set([HVCALL_ASSERT_VIRTUAL_INTERRUPT]);
const HV_STATUS_INVALID_PARAMETER = 0x5;
const PAGE = 4096;
/** The hypervisor's local APIC format (hv_local_interrupt_controller_state). */
const LAPIC = { apicId: 0, spurious: 16, isr: 20, tmr: 52, irr: 84, size: 176 } as const;
const SPURIOUS_ENABLE = 0x100;
const SPURIOUS_RESET = 0xff;
/** The structs the ioctls pass, field by field: `[byte offset, C type]` as the header declares them. */
const ARG = {
  /** `struct mshv_create_partition`. */
  createPartition: modelStruct(16, { ptFlags: [0, 'u64'], ptIsolation: [8, 'u64'] }),
  /** `struct mshv_create_vp`. */
  createVp: modelStruct(4, { vpIndex: [0, 'u32'] }),
  /** `struct mshv_user_irqfd`. */
  irqfd: modelStruct(16, { fd: [0, 'i32'], resamplefd: [4, 'i32'], gsi: [8, 'u32'], flags: [12, 'u32'] }),
  /** `struct mshv_user_irq_table` header; `nr` 16-byte `struct mshv_user_irq_entry` follow at byte 8. */
  irqTable: modelStruct(8, { nr: [0, 'u32'], rsvd: [4, 'u32'] }),
  /** `struct mshv_root_hvcall`. */
  rootHvcall: modelStruct(32, {
    code: [0, 'u16'], reps: [2, 'u16'], inSz: [4, 'u16'], outSz: [6, 'u16'], status: [8, 'u16'],
    rsvd0: [10, 'u16'], rsvd1: [12, 'u16'], rsvd2: [14, 'u16'], inPtr: [16, 'u64'], outPtr: [24, 'u64'],
  }),
  /** `struct mshv_get_set_vp_state`. */
  vpState: modelStruct(16, { type: [0, 'u8'], rsvd0: [1, 'u8'], rsvd1: [2, 'u8'], rsvd2: [3, 'u8'], bufSz: [4, 'u32'], bufPtr: [8, 'u64'] }),
  /** `struct mshv_user_irq_entry`, one element of `irqTable`'s array. */
  irqEntry: modelStruct(16, { gsi: [0, 'u32'], addressLo: [4, 'u32'], addressHi: [8, 'u32'], data: [12, 'u32'] }),
  /** `struct hv_input_assert_virtual_interrupt` (hvhdk.h), the input page of HvCallAssertVirtualInterrupt that `in_ptr` points to. */
  assertInterrupt: modelStruct(32, {
    partitionId: [0, 'u64'], control: [8, 'u64'], destination: [16, 'u64'], vector: [24, 'u32'], targetVtl: [28, 'u8'], rsvdZ0: [29, 'u8'], rsvdZ1: [30, 'u16'],
  }),
} as const;

/** Something the real kernel would do wrong (inject garbage, oops) if a backend did it. */
export interface MshvHazard {
  /** Which mistake (each value is explained where it is declared). */
  readonly kind:
    /** A signal on a GSI without a route, below the highest routed GSI (or on GSI 0): injects vector 0, fixed, to APIC 0. */
    | 'unrouted-signal-injects-vector-0'
    /** A signal on a GSI without a route above the highest: dropped, but the irqfd has no route. */
    | 'unrouted-signal-dropped'
    /** MSHV_IRQFD assigned on a GSI with no route. */
    | 'irqfd-without-route'
    /** An irqfd assigned on GSI 0 (which every hole of the routing table aliases). */
    | 'irqfd-on-gsi-0'
    /** MSHV_SET_MSI_ROUTING removed the route of a GSI that still has an irqfd assigned. */
    | 'route-removed-under-irqfd'
    /** A physical-mode route or hypercall to an APIC ID with no VP (the fast path oopses). */
    | 'destination-without-vp'
    /** A partition used before MSHV_INITIALIZE_PARTITION. */
    | 'not-initialized';
  /** What happened, with the GSI, fd, APIC ID or partition involved. */
  readonly detail: string;
}

/** Which kernel the model behaves as; every field is optional. */
export interface MshvKernelModelOptions {
  /** What open('/dev/mshv') gets: the device (default), ENOENT (not a root partition) or an errno such as EACCES. */
  readonly device?: 'present' | 'missing' | number;
  /**
   * Kernels before the 2026 stable fix "Fix duplicate GSI detection for GSI 0" accept a duplicate
   * GSI 0 (the later entry wins). Default false: the fixed behaviour (EINVAL).
   */
  readonly duplicateGsi0Accepted?: boolean;
  /**
   * Kernels before the 2026 stable fix "Fix level-triggered check on uninitialized data" fail
   * every RESAMPLE assign with EINVAL (default true); after it, the route must exist and be
   * level-triggered.
   */
  readonly resampleAlwaysEinval?: boolean;
  /**
   * Newer kernels' MSHV_ROOT_HVCALL (`mshv_ioctl_passthru_hvcall` with its deposit loop) deposits a
   * page and calls the hypervisor again itself when it is short of memory, so EAGAIN never comes
   * back, and copies the output page to `out_ptr` only after a success. Default false: older
   * kernels, which return EAGAIN (status HV_STATUS_INSUFFICIENT_MEMORY) and copy the output
   * whatever the result, so an unmapped `out_ptr` is EFAULT even for a refused hypercall. Only the
   * output copy changes here: `failNextHypercall` still returns what it is given.
   */
  readonly hypercallRetriedInKernel?: boolean;
  /**
   * Most open fds (EMFILE beyond). Default: what this process may still open under its real
   * RLIMIT_NOFILE when the model is made.
   */
  readonly maxFds?: number;
}

/** An eventfd as the model holds it (the shared model table's): one open file, whatever numbers name it. */
export type EventFdObject = ModelEventFd;
interface DeviceObject {
  readonly kind: 'mshv';
}
interface PartitionObject {
  readonly kind: 'partition';
  readonly partition: ModelPartition;
}
interface VpObject {
  readonly kind: 'vp';
  readonly partition: ModelPartition;
  readonly vp: ModelVp;
}
type FileObject = EventFdObject | DeviceObject | PartitionObject | VpObject;

/** A routing-table entry as the kernel keeps it. */
export interface ModelRoute {
  /** The GSI, 0 to 4095. */
  readonly gsi: number;
  /** MSI address bits 31:0 (`address_lo`). */
  readonly addressLo: number;
  /** MSI address bits 63:32 (`address_hi`); always 0, since the kernel rejects a table with any other. */
  readonly addressHi: number;
  /** MSI data (`data`). */
  readonly data: number;
}

/** An irqfd assigned with MSHV_IRQFD: signals on `eventfd` inject through the route of `gsi`. */
export interface ModelIrqfd {
  /** The open eventfd file (the kernel binds the file, not the number). */
  readonly eventfd: EventFdObject;
  /** The fd number it was assigned with, for messages only (the kernel binds the file, not the number). */
  readonly fd: number;
  /** The GSI it was assigned on (not range-checked at assign, as in the kernel). */
  readonly gsi: number;
  /** Assigned with MSHV_IRQFD_FLAG_RESAMPLE (possible only with `resampleAlwaysEinval: false`). */
  readonly resample: boolean;
}

/** A VP made with MSHV_CREATE_VP, as far as its local APIC state goes. */
export interface ModelVp {
  /** The VP index, 0 to 255; also its APIC ID. */
  readonly index: number;
  /** The last 176 bytes written with MSHV_SET_VP_STATE (live fields are refreshed from the APIC model on read). */
  readonly page: Uint8Array;
  /** The spurious-interrupt vector register (offset 16 of the hypervisor's format): 0xFF at reset, bit 8 = software enable. */
  spurious: number;
}

/** A partition made with MSHV_CREATE_PARTITION, with its VPs, routing table, irqfds and APICs. */
export class ModelPartition {
  /** 1 for the first partition of the model, then 2, 3, ... */
  readonly id: number;
  /** The `pt_flags` it was created with (MSHV_PT_BIT_*). */
  readonly flags: bigint;
  /** True once MSHV_INITIALIZE_PARTITION ran; any other partition ioctl before that is a hazard. */
  initialized = false;
  /** Open file references: the partition fd and every VP fd. */
  refs = 1;
  /** False once the last number of the partition fd was closed (which tears every irqfd down). */
  partitionFdOpen = true;
  /** The VPs created, by index. */
  readonly vps = new Map<number, ModelVp>();
  /** The committed routing table, by GSI: the last one MSHV_SET_MSI_ROUTING accepted. */
  routes = new Map<number, ModelRoute>();
  /** The irqfds assigned now, in assignment order. */
  readonly irqfds: ModelIrqfd[] = [];
  /** Where this partition's interrupts land: one APIC per VP, APIC ID = VP index. */
  bus = new ApicBus({ apicIds: [] });
  /** MSHV_SET_MSI_ROUTING calls that succeeded. */
  routingCommits = 0;
  /** Interrupts injected (irqfd signals and hypercalls). */
  injections = 0;

  constructor(id: number, flags: bigint) {
    this.id = id;
    this.flags = flags;
  }

  /** The APIC of VP `index`, or undefined. */
  apic(index: number): LocalApicModel | undefined {
    return this.bus.byApicId(index);
  }

  /** Highest GSI in the routing table, or -1 when it is empty. */
  highestGsi(): number {
    let max = -1;
    for (const g of this.routes.keys()) if (g > max) max = g;
    return max;
  }
}

interface Region {
  readonly address: bigint;
  readonly bytes: Uint8Array;
}

const NEXT_ADDRESS_BASE = 0x7f00_0000_0000n;

/**
 * The mshv model: a `Syscalls` (and the {@link UserMemory} the kernel reads through) that answers
 * /dev/mshv, partition, VP and eventfd calls as the driver does, errnos included. Pass it as both
 * `sys` and `memory` to `MshvPartition.create`; `hazards` must stay empty.
 */
export class MshvKernelModel extends ModelKernel<FileObject> implements Syscalls, UserMemory {
  /** Hazards seen so far; tests assert this stays empty. */
  readonly hazards: MshvHazard[] = [];
  /** Every partition created, in order (disposed ones stay, with `refs` 0). */
  readonly partitions: ModelPartition[] = [];
  private readonly regions: Region[] = [];
  private nextAddress = NEXT_ADDRESS_BASE;
  private readonly options: MshvKernelModelOptions;
  private readonly hvcallFaults: Array<{ errno: number; status: number }> = [];
  /**
   * Each eventfd's irqfds, in every partition, oldest first: its wait queue's priority waiters
   * (`mshv_irqfd_queue_proc` queues each as an exclusive priority waiter, behind the older ones).
   */
  private readonly waiters = new Map<EventFdObject, Array<{ readonly partition: ModelPartition; readonly irqfd: ModelIrqfd }>>();

  constructor(options: MshvKernelModelOptions = {}) {
    super(options.maxFds);
    this.options = options;
  }

  // ---- inspection ----

  /** The hint of the relay's ENOSYS on this model (no epoll): pass `modelRelayPlatform(model)`. */
  override relayPlatformAdvice(): string {
    return 'Pass relayPlatform: modelRelayPlatform(model) (from @tsvmm/virt-mshv/testing): it delivers relay routes on the model without a thread.';
  }

  /** Open fd numbers of any kind, or of one kind (a file and its dup count as two). */
  openFds(kind?: FileObject['kind']): number {
    return this.table.count((f) => kind === undefined || f.kind === kind);
  }

  /** The partition behind a partition or VP fd. */
  partitionOf(fd: number): ModelPartition | undefined {
    const f = this.table.get(fd);
    return f?.kind === 'partition' || f?.kind === 'vp' ? f.partition : undefined;
  }

  /** The fd of the newest partition whose partition fd is open. */
  newestPartitionFd(): number | undefined {
    let best: [number, number] | undefined;
    for (const [fd, f] of this.table.entries()) if (f.kind === 'partition' && (best === undefined || f.partition.id > best[1])) best = [fd, f.partition.id];
    return best?.[0];
  }

  /** The GSI the irqfd of the eventfd open as `fd` (any of its numbers) is assigned on in the partition behind `partitionFd`, or undefined. */
  irqfdGsi(partitionFd: number, fd: number): number | undefined {
    const f = this.table.get(fd);
    if (f?.kind !== 'eventfd') return undefined;
    return this.partitionOf(partitionFd)?.irqfds.find((i) => i.eventfd === f)?.gsi;
  }

  /** The counter of an eventfd (what a read would return), or undefined when `fd` is not one. */
  eventfdCounter(fd: number): bigint | undefined {
    return this.table.counter(fd);
  }

  /**
   * The next MSHV_ROOT_HVCALL fails: with `errno` and, when `status` is nonzero, that hypervisor
   * status written back (`mshv_ioctl_passthru_hvcall` writes it back after every hypercall). A
   * hypervisor short of memory is, on older kernels, EAGAIN with status 0x0B
   * (HV_STATUS_INSUFFICIENT_MEMORY) once the kernel deposited a page; on every kernel, the
   * deposit's own errno with that status when the deposit failed.
   */
  failNextHypercall(errno: number, status = 0, times = 1): void {
    for (let i = 0; i < times; i++) this.hvcallFaults.push({ errno, status });
  }

  // ---- UserMemory: the model's address space ----

  allocate(size: number, align: number): PinnedBuffer {
    const a = BigInt(align);
    const address = ((this.nextAddress + a - 1n) / a) * a;
    this.nextAddress = address + BigInt(size) + BigInt(PAGE); // a guard gap after each buffer
    const region: Region = { address, bytes: new Uint8Array(size) };
    this.regions.push(region);
    return Object.freeze({ address, bytes: region.bytes });
  }

  free(buffer: PinnedBuffer): void {
    const i = this.regions.findIndex((r) => r.address === buffer.address && r.bytes === buffer.bytes);
    if (i >= 0) this.regions.splice(i, 1);
  }

  /** Buffers allocated and not freed (leak tests). */
  get allocatedBuffers(): number {
    return this.regions.length;
  }

  /** `length` bytes at user address `address`, or undefined (EFAULT) when not all mapped. */
  private user(address: bigint, length: number): Uint8Array | undefined {
    for (const r of this.regions) {
      const off = address - r.address;
      if (off >= 0n && off + BigInt(length) <= BigInt(r.bytes.byteLength)) return r.bytes.subarray(Number(off), Number(off) + length);
    }
    return undefined;
  }

  // ---- Syscalls ----

  override open(path: string, _flags: number): number {
    if (path !== '/dev/mshv') return -ENOENT;
    const device = this.options.device ?? 'present';
    if (device === 'missing') return -ENOENT;
    if (typeof device === 'number') return -device;
    return this.install({ kind: 'mshv' });
  }

  /**
   * The last number of `f` was closed: the open file is released. An eventfd's irqfds are torn
   * down; a partition fd's release tears every irqfd of the partition down.
   *
   * @hidden
   */
  protected override release(f: FileObject): void {
    switch (f.kind) {
      case 'eventfd':
        // The eventfd's irqfds are deactivated at once (EPOLLHUP); only their freeing is deferred.
        for (const p of this.partitions) this.removeIrqfds(p, (i) => i.eventfd === f);
        break;
      case 'partition':
        f.partition.partitionFdOpen = false;
        this.removeIrqfds(f.partition, () => true);
        f.partition.refs--;
        break;
      case 'vp':
        f.partition.refs--;
        break;
      default:
        break;
    }
  }

  override ioctl(fd: number, request: IoctlDef, arg?: number | Uint8Array): number {
    const f = this.table.get(fd);
    if (f === undefined) return -EBADF;
    const req = request.request >>> 0;
    switch (f.kind) {
      case 'mshv':
        return req === REQ.CREATE_PARTITION ? this.createPartition(arg) : -ENOTTY;
      case 'partition':
        return this.partitionIoctl(f.partition, req, arg);
      case 'vp':
        return this.vpIoctl(f.partition, f.vp, req, arg);
      default:
        return -ENOTTY;
    }
  }

  /**
   * After a write to an eventfd: each irqfd bound to it drains it and injects through its GSI's
   * route (a write of 0 too: the wakeup does not look at the value), inside the write; an unrouted
   * GSI does what the kernel does (vector 0 on APIC 0 below the highest route, else nothing) and is
   * recorded as a hazard.
   */
  protected override eventFdWritten(f: EventFdObject): void {
    // Every successful write wakes the eventfd's waiters, even one adding 0 (eventfd_write); an
    // assigned irqfd's wakeup reads the counter and injects whatever it read (mshv_irqfd_wakeup).
    this.wake(f);
    super.eventFdWritten(f);
  }

  /** poll(2) over eventfds: POLLIN for a readable one, POLLNVAL for a closed number. Never waits. */
  override poll(fds: Uint8Array, nfds: number, _timeoutMs: number): number {
    const v = new DataView(fds.buffer, fds.byteOffset, fds.byteLength);
    let ready = 0;
    for (let i = 0; i < nfds; i++) {
      const fd = v.getInt32(i * 8, true);
      const events = v.getInt16(i * 8 + 4, true);
      const f = this.table.get(fd);
      let revents = 0;
      if (f === undefined) revents = 0x20; // POLLNVAL
      else if (isEventFd(f) && f.count > 0n) revents = events & 1; // POLLIN
      v.setInt16(i * 8 + 6, revents, true);
      if (revents) ready++;
    }
    return ready;
  }

  // ---- the driver ----

  /** Like the kernel, the lowest free fd number (0-2 are taken by stdio); -EMFILE at the limit. */
  private install(f: FileObject): number {
    return this.table.install(f);
  }

  private hazard(kind: MshvHazard['kind'], detail: string): void {
    this.hazards.push({ kind, detail });
  }

  private createPartition(arg: number | Uint8Array | undefined): number {
    const a = ARG.createPartition.read(arg);
    if (typeof a === 'number') return a;
    const { ptFlags: flags, ptIsolation: isolation } = a;
    if ((flags & ~PT_FLAGS_KNOWN) !== 0n) return -EINVAL;
    if (isolation !== 0n) return -EINVAL; // the model knows only "no isolation"
    const p = new ModelPartition(this.partitions.length + 1, flags);
    this.partitions.push(p);
    return this.install({ kind: 'partition', partition: p });
  }

  private partitionIoctl(p: ModelPartition, req: number, arg: number | Uint8Array | undefined): number {
    if (req === REQ.INITIALIZE_PARTITION) {
      p.initialized = true;
      return 0;
    }
    if (!p.initialized) this.hazard('not-initialized', `ioctl 0x${req.toString(16)} on partition ${p.id} before MSHV_INITIALIZE_PARTITION`);
    switch (req) {
      case REQ.CREATE_VP:
        return this.createVp(p, arg);
      case REQ.IRQFD:
        return this.irqfd(p, arg);
      case REQ.SET_MSI_ROUTING:
        return this.setMsiRouting(p, arg);
      case REQ.ROOT_HVCALL:
        return this.rootHvcall(p, arg);
      default:
        return -ENOTTY;
    }
  }

  private vpIoctl(p: ModelPartition, vp: ModelVp, req: number, arg: number | Uint8Array | undefined): number {
    switch (req) {
      case REQ.GET_VP_STATE:
        return this.vpState(p, vp, arg, 'get');
      case REQ.SET_VP_STATE:
        return this.vpState(p, vp, arg, 'set');
      case REQ.ROOT_HVCALL:
        return this.rootHvcall(p, arg);
      case REQ.RUN_VP:
        return -ENOSYS; // running guest code is not modelled
      default:
        return -ENOTTY;
    }
  }

  private createVp(p: ModelPartition, arg: number | Uint8Array | undefined): number {
    const a = ARG.createVp.read(arg);
    if (typeof a === 'number') return a;
    const index = a.vpIndex;
    if (index >= MAX_VPS) return -EINVAL;
    if (p.vps.has(index)) return -EEXIST;
    const vp: ModelVp = { index, page: new Uint8Array(LAPIC.size), spurious: SPURIOUS_RESET };
    p.vps.set(index, vp);
    // The bus is rebuilt with one more APIC; the existing APICs keep their state.
    const old = p.bus;
    p.bus = new ApicBus({ apicIds: [...p.vps.keys()] });
    for (const apic of p.bus.apics) {
      const was = old.byApicId(apic.apicId);
      if (was) apic.copyStateFrom(was);
      else apic.softwareEnabled = false; // reset state: spurious 0xFF, APIC software-disabled
    }
    p.refs++;
    return this.install({ kind: 'vp', partition: p, vp });
  }

  private irqfd(p: ModelPartition, arg: number | Uint8Array | undefined): number {
    const a = ARG.irqfd.read(arg);
    if (typeof a === 'number') return a;
    const { fd, resamplefd, gsi, flags } = a;
    if (flags & ~(IRQFD_DEASSIGN | IRQFD_RESAMPLE)) return -EINVAL;
    const f = this.table.get(fd);
    if (f === undefined) return -EBADF;
    if (f.kind !== 'eventfd') return -EINVAL;
    if (flags & IRQFD_DEASSIGN) {
      // Matches (eventfd, gsi); 0 even when nothing matched. The counter is drained, nothing injected.
      this.removeIrqfds(p, (i) => i.eventfd === f && i.gsi === gsi);
      return 0;
    }
    // mshv_irqfd_assign: the resamplefd is looked up first; kernels before the fix then test the
    // level-triggered bit of a still-zeroed interrupt (always EINVAL) before the EBUSY check,
    // fixed kernels test the route's bit after it.
    const resample = (flags & IRQFD_RESAMPLE) !== 0;
    if (resample) {
      const r = this.table.get(resamplefd);
      if (r === undefined) return -EBADF;
      if (r.kind !== 'eventfd') return -EINVAL;
      if (this.options.resampleAlwaysEinval ?? true) return -EINVAL;
    }
    if (p.irqfds.some((i) => i.eventfd === f)) return -EBUSY;
    if (resample) {
      const route = p.routes.get(gsi);
      if (route === undefined || (route.data & 0x8000) === 0) return -EINVAL;
    }
    if (gsi === 0) this.hazard('irqfd-on-gsi-0', `eventfd ${fd} assigned on GSI 0 of partition ${p.id}`);
    if (!p.routes.has(gsi)) this.hazard('irqfd-without-route', `eventfd ${fd} assigned on GSI ${gsi} of partition ${p.id}, which has no route`);
    const irqfd: ModelIrqfd = { eventfd: f, fd, gsi, resample };
    p.irqfds.push(irqfd);
    const queue = this.waiters.get(f) ?? [];
    queue.push({ partition: p, irqfd });
    this.waiters.set(f, queue);
    // A count pending at assign is injected (through the slow path) but the counter is left as it is.
    if (f.count > 0n) this.inject(p, gsi);
    return 0;
  }

  private removeIrqfds(p: ModelPartition, match: (i: ModelIrqfd) => boolean): void {
    for (let k = p.irqfds.length - 1; k >= 0; k--) {
      const i = p.irqfds[k]!;
      if (!match(i)) continue;
      p.irqfds.splice(k, 1);
      i.eventfd.count = 0n; // eventfd_ctx_remove_wait_queue drains the counter
      const queue = this.waiters.get(i.eventfd) ?? [];
      const at = queue.findIndex((w) => w.irqfd === i);
      if (at >= 0) queue.splice(at, 1);
      if (queue.length === 0) this.waiters.delete(i.eventfd);
    }
  }

  /**
   * A write woke the eventfd: only its oldest irqfd runs. The eventfd wakes one exclusive waiter
   * (`wake_up_locked_poll`, nr_exclusive 1) and `mshv_irqfd_wakeup` returns 1 for EPOLLIN, so an
   * eventfd also assigned in a younger partition injects there only once the older irqfd is gone.
   */
  private wake(f: EventFdObject): void {
    const first = this.waiters.get(f)?.[0];
    if (first === undefined) return;
    f.count = 0n; // eventfd_ctx_do_read: drained on every signal
    this.inject(first.partition, first.irqfd.gsi);
  }

  /**
   * The slow path (`mshv_assert_irq_slow`). The routing table is an array whose holes are zero
   * entries; `mshv_ret_girq_entry` gives a GSI beyond it (or any GSI while there is no table) an
   * entry naming that GSI, which is dropped unless the GSI is 0.
   */
  private inject(p: ModelPartition, gsi: number): void {
    const route = p.routes.get(gsi);
    if (route !== undefined) {
      p.injections++;
      p.bus.deliver(route.addressLo, route.addressHi, route.data);
      return;
    }
    if (gsi <= p.highestGsi() || gsi === 0) {
      const where = p.routes.size === 0 ? 'no routing table' : `no route, below GSI ${p.highestGsi()}`;
      this.hazard('unrouted-signal-injects-vector-0', `signal on GSI ${gsi} of partition ${p.id} (${where}): vector 0 injected on APIC 0`);
      p.injections++;
      p.bus.deliver(0, 0, 0);
      return;
    }
    this.hazard('unrouted-signal-dropped', `signal on GSI ${gsi} of partition ${p.id}, which has no route: dropped`);
  }

  private setMsiRouting(p: ModelPartition, arg: number | Uint8Array | undefined): number {
    const a = ARG.irqTable.read(arg);
    if (typeof a === 'number') return a;
    const { nr, rsvd, view: v } = a;
    if (nr > MAX_ROUTES || rsvd !== 0) return -EINVAL;
    if (v.byteLength < 8 + 16 * nr) return -EFAULT;
    const next = new Map<number, ModelRoute>();
    for (let k = 0; k < nr; k++) {
      const entry = ARG.irqEntry.entry(v, 8, k);
      if (typeof entry === 'number') return entry;
      const e: ModelRoute = { gsi: entry.gsi, addressLo: entry.addressLo, addressHi: entry.addressHi, data: entry.data };
      if (e.gsi >= MAX_ROUTES || e.addressHi !== 0) return -EINVAL;
      if (next.has(e.gsi) && !(e.gsi === 0 && this.options.duplicateGsi0Accepted)) return -EINVAL;
      next.set(e.gsi, e);
    }
    for (const e of next.values()) {
      const physical = (e.addressLo & 4) === 0;
      const dest = (e.addressLo >>> 12) & 0xff;
      if (physical && !p.vps.has(dest)) this.hazard('destination-without-vp', `GSI ${e.gsi} routed to APIC ID ${dest}, and partition ${p.id} has no VP ${dest}`);
    }
    for (const i of p.irqfds) {
      if (p.routes.has(i.gsi) && !next.has(i.gsi)) this.hazard('route-removed-under-irqfd', `the route of GSI ${i.gsi} was removed while eventfd ${i.fd} is assigned on it`);
    }
    p.routes = next;
    p.routingCommits++;
    return 0;
  }

  private rootHvcall(p: ModelPartition, arg: number | Uint8Array | undefined): number {
    const a = ARG.rootHvcall.read(arg);
    if (typeof a === 'number') return a;
    const { code, reps, inSz, outSz, status, inPtr, outPtr, view: v } = a;
    const rsvd = a.rsvd0 | a.rsvd1 | a.rsvd2;
    if (status !== 0 || rsvd !== 0 || inPtr === 0n || inSz < 8 || inSz > PAGE) return -EINVAL;
    if (outPtr !== 0n && (outSz === 0 || outSz > PAGE)) return -EINVAL;
    if (!HVCALL_ALLOWED.has(code)) return -EINVAL;
    const input = this.user(inPtr, inSz);
    if (input === undefined) return -EFAULT;
    // After the hypercall the kernel copies the output page to out_ptr (older kernels whatever the
    // result, newer ones after a success only): an unmapped out_ptr is then EFAULT, with the
    // status written back all the same.
    const copiesOutput = (r: number): boolean => r === 0 || !(this.options.hypercallRetriedInKernel ?? false);
    const outFault = (r: number): number => (outPtr !== 0n && copiesOutput(r) && this.user(outPtr, outSz) === undefined ? -EFAULT : r);
    const fault = this.hvcallFaults.shift();
    if (fault !== undefined) {
      v.setUint16(8, fault.status, true);
      return outFault(-fault.errno);
    }
    const hvFail = (): number => {
      v.setUint16(8, HV_STATUS_INVALID_PARAMETER, true);
      return outFault(-EINVAL);
    };
    // HvCallAssertVirtualInterrupt: a simple call (no reps, no output) with a 32-byte input.
    if (reps !== 0 || outSz !== 0 || inSz < 32) return hvFail();
    const hv = ARG.assertInterrupt.read(input);
    if (typeof hv === 'number') return hvFail();
    const { control, destination, vector, targetVtl } = hv;
    const reserved = hv.rsvdZ0 | hv.rsvdZ1;
    const type = Number(control & 0xffff_ffffn);
    // A destination above 0xFF is refused in every partition: no VP has an APIC ID above 255
    // (VP index < 256, APIC ID = VP index) and the backend never sends one; what the hypervisor
    // answers for it in an x2APIC-capable partition is not documented.
    if ((control >> 34n) !== 0n || type > 7 || vector > 0xff || targetVtl !== 0 || reserved !== 0 || destination > 0xffn) return hvFail();
    const logical = (control >> 33n) & 1n;
    const level = (control >> 32n) & 1n;
    if (!logical && !p.vps.has(Number(destination))) {
      this.hazard('destination-without-vp', `HvCallAssertVirtualInterrupt to APIC ID ${destination}, and partition ${p.id} has no VP ${destination}`);
    }
    // The same message an MSI with these fields would be (the bus decodes it as the hypervisor does).
    const addressLo = (0xfee00000 | (Number(destination) << 12) | (logical ? 4 : 0)) >>> 0;
    const data = (vector | (type << 8) | (level ? 0x8000 : 0)) >>> 0;
    p.injections++;
    p.bus.deliver(addressLo, 0, data);
    return outFault(0);
  }

  private vpState(p: ModelPartition, vp: ModelVp, arg: number | Uint8Array | undefined, dir: 'get' | 'set'): number {
    const a = ARG.vpState.read(arg);
    if (typeof a === 'number') return a;
    const { type, bufSz, bufPtr, view: v } = a;
    const rsvd = a.rsvd0 | a.rsvd1 | a.rsvd2;
    // mshv_vp_ioctl_get_set_state: a null buf_ptr is page aligned, so it passes these checks and
    // faults when its pages are pinned. Types 1-4 (XSAVE, SIMP, SIEFP, synthetic timers) are valid
    // in the kernel but not modelled: EINVAL here.
    if (type !== 0 || rsvd !== 0 || bufSz === 0 || bufSz % PAGE !== 0 || bufPtr % BigInt(PAGE) !== 0n) return -EINVAL;
    // The size of the LAPIC state goes into buf_sz before the buffer is touched, on GET and SET alike.
    v.setUint32(4, PAGE, true);
    // Every page of buf_sz is pinned (mshv_vp_ioctl_get_set_state_pfn): all must be mapped.
    if (this.user(bufPtr, bufSz) === undefined) return -EFAULT;
    const buf = this.user(bufPtr, PAGE)!;
    const apic = p.apic(vp.index)!;
    if (dir === 'get') {
      buf.fill(0);
      buf.set(vp.page);
      const b = dv(buf);
      b.setUint32(LAPIC.apicId, vp.index, true);
      b.setUint32(LAPIC.spurious, vp.spurious, true);
      for (let w = 0; w < 8; w++) {
        b.setUint32(LAPIC.isr + 4 * w, apic.isr[w]!, true);
        b.setUint32(LAPIC.tmr + 4 * w, apic.tmr[w]!, true);
        b.setUint32(LAPIC.irr + 4 * w, apic.irr[w]!, true);
      }
      return 0;
    }
    vp.page.set(buf.subarray(0, LAPIC.size));
    const b = dv(buf);
    vp.spurious = b.getUint32(LAPIC.spurious, true);
    apic.softwareEnabled = (vp.spurious & SPURIOUS_ENABLE) !== 0;
    for (let w = 0; w < 8; w++) {
      apic.isr[w] = b.getUint32(LAPIC.isr + 4 * w, true);
      apic.tmr[w] = b.getUint32(LAPIC.tmr + 4 * w, true);
      apic.irr[w] = b.getUint32(LAPIC.irr + 4 * w, true);
    }
    return 0;
  }
}

function dv(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
