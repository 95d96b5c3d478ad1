/**
 * A Microsoft Hypervisor partition created through /dev/mshv, as far as interrupts are concerned:
 * VPs with software-enabled local APICs, one-shot MSIs by hypercall, and a diagnostic view of each
 * local APIC.
 *
 * Order of creation (the kernel's): open /dev/mshv, MSHV_CREATE_PARTITION (16-byte form, LAPIC
 * flag), MSHV_INITIALIZE_PARTITION, then MSHV_CREATE_VP for each VP (APIC ID = VP index).
 */
import type { LocalApicAccess, LocalApicState, Partition, PartitionCapabilities } from '@tsvmm/virt';
import type { RelayPlatformFactory } from '@tsvmm/virt/implement';
import { checkConstructToken, checkInteger, checkMethods, checkOptions, describeValue, invalidArgument, partitionCapabilities, readOptionsOnce } from '@tsvmm/virt/implement';
import { LinuxPartitionBase, type PartitionIrqFdSettings, type Syscalls, check, checkSyscalls, createPartitionIrqFd, libcSyscalls } from '@tsvmm/linux-sys';
import { MSHV_DEVICE, MSHV_MAX_MSI_ROUTES, MSHV_MAX_VPS, MSHV_PT_BIT_LAPIC, MSHV_PT_BIT_X2APIC, MSHV_PT_ISOLATION_NONE, MSHV_ROUTE_MAX_APIC_ID } from './abi';
import { type AssertInterruptInjector, assertInterruptInjector } from './assert-interrupt';
import { createPartition, createVp, initializePartition } from './calls';
import { openMshv } from './device';
import { VpLapicPage } from './lapic';
import { type UserMemory, koffiMemory } from './memory';
import { parseMshvMsi } from './msi-policy';
import { type MshvIrqFd, mshvIrqFdBackend } from './irqfd';

/**
 * The largest APIC ID a destination reaches, in xAPIC and x2APIC-capable partitions alike: the
 * highest VP index (APIC ID = VP index), the routing entry's 8-bit destination, and below 0xFF,
 * which an xAPIC destination means as broadcast (what the hypervisor makes of 0xFF once a guest
 * is in x2APIC mode is not documented, so it is never sent as an APIC ID).
 */
const MSHV_MAX_APIC_ID = Math.min(MSHV_MAX_VPS - 1, MSHV_ROUTE_MAX_APIC_ID, 0xfe);

/** Why `capabilities.x2apic` is false on every mshv partition, for people. */
const X2APIC_REASON =
  `mshv cannot address APIC IDs above ${MSHV_MAX_APIC_ID}: MSHV_CREATE_VP takes VP indexes below ${MSHV_MAX_VPS} and gives each VP the APIC ID of its index, ` +
  'and MSHV_SET_MSI_ROUTING takes the destination from address bits 19:12 only and rejects any nonzero address_hi (EINVAL), ' +
  'x2APIC-capable partition or not; the extended destination ID (address bits 11:5) is ignored by the kernel, so it is refused';

/**
 * What {@link MshvPartition.create} takes. Only `vcpus` is required; every option is checked (each
 * read once) before anything is opened, INVALID_ARGUMENT otherwise.
 */
export interface MshvPartitionOptions {
  /** VPs to create, an integer from 1 to 256 (MSHV_MAX_VPS); VP i gets APIC ID i. */
  readonly vcpus: number;
  /**
   * Create the partition x2APIC-capable (`pt_flags` MSHV_PT_BIT_X2APIC with LAPIC): its guest may
   * switch the local APICs to x2APIC mode. Default false. It does not widen what MSIs can reach:
   * APIC IDs stay the VP indexes 0-255 and routes carry 8-bit destinations (see
   * `capabilities.x2apicReason`), so `capabilities.x2apic` stays false.
   */
  readonly x2apic?: boolean;
  /**
   * APIC ID of each VP, in VP order. mshv does not let the VMM choose them: VP i has APIC ID i
   * (MSHV_CREATE_VP takes only the VP index, below 256), so the only accepted value is
   * `[0, 1, ..., vcpus-1]`; anything else is INVALID_ARGUMENT naming that limit, before any system call.
   */
  readonly apicIds?: readonly number[];
  /** System calls (tests pass the kernel model, or wrap either in a FaultInjector). Default: libc. */
  readonly sys?: Syscalls;
  /**
   * Where buffers whose address the kernel is given come from (hypercall input, VP state page).
   * Default: process memory through koffi. Tests pass the kernel model, as both `sys` and
   * `memory`: a `sys` that is also a UserMemory (has `allocate` and `free`) without `memory` is
   * INVALID_ARGUMENT once the device has opened (a missing device is still UNAVAILABLE), before
   * any buffer is handed to the kernel.
   */
  readonly memory?: UserMemory;
  /** The device node. Default `/dev/mshv`. */
  readonly device?: string;
  /**
   * Most irqfd routes at once (1 to 2^20). Each route holds two file descriptors (its eventfd and
   * the duplicate handed out as `event.fd`). Default: derived from RLIMIT_NOFILE, as for KVM.
   */
  readonly maxRoutes?: number;
  /**
   * GSIs (kernel routes) to use, 1 to 4095 (the default, GSIs 1-4095): fewer makes the overflow
   * path reachable with few routes, for tests.
   */
  readonly maxKernelRoutes?: number;
  /**
   * The user-space relay's platform, here the overflow relay's, for routes that find all 4095 GSIs
   * in use. Default: one epoll worker thread injecting by hypercall. Tests against the kernel model
   * pass `modelRelayPlatform`.
   */
  readonly relayPlatform?: RelayPlatformFactory;
  /**
   * Coalesce retargets (0 to 1000 ms; default 0: off): as for KVM, a retarget's routing commit
   * (MSHV_SET_MSI_ROUTING) waits up to this long while the vector is delivered from user space
   * with its new message, and one commit then moves all of them back to their irqfds.
   */
  readonly retargetWindowMs?: number;
}

/** {@link PartitionCapabilities} plus what mshv users need to know beyond them. */
export interface MshvCapabilities extends PartitionCapabilities {
  /** Why `resample` is false. */
  readonly resampleReason: string;
  /** The partition was created x2APIC-capable (the `x2apic` option): its guest may use x2APIC mode. */
  readonly x2apicCapable: boolean;
  /** Why `x2apic` (APIC IDs above 255) is false on mshv, x2APIC-capable partition or not. */
  readonly x2apicReason: string;
}

/** Routes one table can hold: GSIs 1-4095 (GSI 0 is never used; every GSI must be below 4096). */
export const MSHV_MAX_IRQFD_ROUTES = MSHV_MAX_MSI_ROUTES - 1;

const RESAMPLE_REASON =
  'mshv has no usable resample: on x86 kernels before the 2026 stable fix "Fix level-triggered check on uninitialized data" ' +
  'every MSHV_IRQFD with RESAMPLE fails with EINVAL, and no upstream kernel code signals the resamplefd after it';

interface Injectors {
  readonly request: AssertInterruptInjector;
  readonly irqfd: AssertInterruptInjector;
}

interface ApicSettings {
  readonly x2apicCapable: boolean;
}

interface IrqFdSettings extends PartitionIrqFdSettings {
  readonly maxKernelRoutes: number | undefined;
}

/** Passed by {@link MshvPartition.create} to the constructor, which is not for callers: they get no token. */
const CREATE: unique symbol = Symbol('MshvPartition.create');

/**
 * A Microsoft Hypervisor partition made through `/dev/mshv` (`include/uapi/linux/mshv.h`), as far
 * as interrupts are concerned: `vcpuCount` VPs whose local APICs are software-enabled (VP i has
 * APIC ID i), kernel irqfd routes (MSHV_IRQFD with a batched MSHV_SET_MSI_ROUTING table, through the
 * shared Linux engine), one-shot MSIs by hypercall (HvCallAssertVirtualInterrupt), and diagnostic
 * local APIC reads (MSHV_GET_VP_STATE). Made by {@link MshvPartition.create}; owns its fds and
 * pinned buffers and releases them in {@link MshvPartition.dispose}.
 *
 * Only APIC IDs 0-255 are addressable, x2APIC-capable partition (the `x2apic` option) or not (the
 * kernel rejects any nonzero upper MSI address and VP indexes of 256 or more), a
 * physical destination must be an existing VP, and vector 0 is refused: see `parseMshvMsi`.
 */
export class MshvPartition extends LinuxPartitionBase implements Partition, LocalApicAccess {
  /** Always `mshv`. */
  readonly backend = 'mshv';
  /** VPs created, 1 to 256; their APIC IDs are 0 .. vcpuCount-1. */
  readonly vcpuCount: number;
  /**
   * What this partition offers: kernel irqfd (`irqfd: 'kernel'`, up to {@link MSHV_MAX_IRQFD_ROUTES}
   * kernel routes, more through the overflow relay), no resample (see `resampleReason`), no APIC ID above 255 (see `x2apicReason`),
   * `maxVcpus` 256.
   */
  readonly capabilities: MshvCapabilities;
  private readonly pt: number;
  private readonly lapic: VpLapicPage;
  private readonly injector: AssertInterruptInjector;
  private readonly irqfdInjector: AssertInterruptInjector;
  private readonly irqfdImpl: MshvIrqFd;

  private constructor(
    token: typeof CREATE,
    sys: Syscalls,
    partitionFd: number,
    vpFds: number[],
    lapic: VpLapicPage,
    injectors: Injectors,
    irqfd: IrqFdSettings,
    apic: ApicSettings,
  ) {
    checkConstructToken(token, CREATE, 'MshvPartition', 'MshvPartition.create()');
    super(sys, vpFds, 'the mshv partition');
    this.pt = partitionFd;
    this.vcpuCount = vpFds.length;
    this.lapic = lapic;
    this.injector = injectors.request;
    this.irqfdInjector = injectors.irqfd;
    const backend = mshvIrqFdBackend({ sys, partitionFd, vcpuCount: this.vcpuCount, inject: injectors.irqfd.inject, maxKernelRoutes: irqfd.maxKernelRoutes });
    this.irqfdImpl = createPartitionIrqFd(backend, sys, 'the mshv partition', irqfd);
    const irq = this.irqfdImpl;
    this.capabilities = Object.freeze({
      ...partitionCapabilities(irq, { backend: 'mshv', irqfdReason: '', resample: false, x2apic: MSHV_MAX_APIC_ID > 0xff, maxApicId: MSHV_MAX_APIC_ID, maxVcpus: MSHV_MAX_VPS }),
      resampleReason: RESAMPLE_REASON,
      x2apicCapable: apic.x2apicCapable,
      x2apicReason: X2APIC_REASON,
    });
  }

  /**
   * Creates the partition and `vcpus` VPs with software-enabled local APICs. Options are checked
   * (each read once) before anything is opened; if a step fails, everything opened so far is
   * closed and freed, and the step's typed error is thrown: UNAVAILABLE when /dev/mshv is missing
   * (not a root partition), PERMISSION when it cannot be opened, SYSCALL otherwise.
   *
   * @throws VirtError INVALID_ARGUMENT before any system call for a malformed option, among them
   *   `apicIds` other than `[0, 1, ..., vcpus-1]` (mshv gives VP i APIC ID i, VP indexes below 256).
   */
  static create(options: MshvPartitionOptions): MshvPartition {
    const op = 'MshvPartition.create';
    // A getter or Proxy that throws (anything, even a value that throws when converted to text) is INVALID_ARGUMENT.
    const { vcpus, x2apicCapable, device, maxRoutes, maxKernelRoutes, relayPlatform, retargetWindowMs, sysChecked, memoryChecked, modelWithoutMemory } = readOptionsOnce(op, () => {
      checkOptions<MshvPartitionOptions>(op, 'options', options, ['vcpus', 'x2apic', 'apicIds', 'sys', 'memory', 'device', 'maxRoutes', 'maxKernelRoutes', 'relayPlatform', 'retargetWindowMs']);
      const vcpus = options.vcpus;
      const x2apicOption = options.x2apic;
      const apicIds = options.apicIds;
      const sysOption = options.sys;
      const memoryOption = options.memory;
      const device = options.device;
      const maxRoutes = options.maxRoutes;
      const maxKernelRoutes = options.maxKernelRoutes;
      const relayPlatform = options.relayPlatform;
      const retargetWindowMs = options.retargetWindowMs;
      checkInteger(op, 'vcpus', vcpus, 1, MSHV_MAX_VPS);
      if (x2apicOption !== undefined && typeof x2apicOption !== 'boolean') throw invalidArgument(op, `x2apic must be a boolean, got ${describeValue(x2apicOption)}`);
      const x2apicCapable = x2apicOption === true;
      if (apicIds !== undefined) checkIdentityApicIds(op, apicIds, vcpus);
      if (retargetWindowMs !== undefined) checkInteger(op, 'retargetWindowMs', retargetWindowMs, 0, 1000);
      if (maxRoutes !== undefined) checkInteger(op, 'maxRoutes', maxRoutes, 1, 1 << 20);
      if (maxKernelRoutes !== undefined) checkInteger(op, 'maxKernelRoutes', maxKernelRoutes, 1, MSHV_MAX_IRQFD_ROUTES);
      if (relayPlatform !== undefined && typeof relayPlatform !== 'function') {
        throw invalidArgument(op, `relayPlatform must be a relay platform factory (a function), got ${describeValue(relayPlatform)}`);
      }
      const sysChecked = sysOption === undefined ? undefined : checkSyscalls(op, 'sys', sysOption);
      const memoryChecked = memoryOption === undefined ? undefined : checkMethods<UserMemory>(op, 'memory', memoryOption, ['allocate', 'free']);
      // The kernel model also holds the memory its ioctls read (the VP state page): with the default
      // process memory, the model's first read of a buffer would fail as EFAULT, blamed on tsvmm.
      const modelWithoutMemory = sysChecked !== undefined && memoryOption === undefined && isUserMemory(sysChecked);
      if (device !== undefined && (typeof device !== 'string' || device.length === 0)) {
        throw invalidArgument(op, `device must be a non-empty path, got ${describeValue(device)}`);
      }
      return { vcpus, x2apicCapable, device, maxRoutes, maxKernelRoutes, relayPlatform, retargetWindowMs, sysChecked, memoryChecked, modelWithoutMemory };
    });
    const sys = sysChecked ?? libcSyscalls();
    const memory = memoryChecked ?? koffiMemory();
    const opened: number[] = [];
    let lapic: VpLapicPage | undefined;
    let injector: AssertInterruptInjector | undefined;
    let irqfdInjector: AssertInterruptInjector | undefined;
    try {
      const dev = openMshv(sys, op, device ?? MSHV_DEVICE);
      if (modelWithoutMemory) {
        // After the open, so that a model playing a host without /dev/mshv still answers UNAVAILABLE;
        // before any call that hands the kernel a buffer.
        sys.close(dev);
        throw invalidArgument(
          op,
          'sys is a kernel model that also provides the memory the kernel reads (it has allocate and free), but memory is not given',
          'Pass the same model as memory: MshvPartition.create({ sys: model, memory: model, ... }); nothing is left open.',
        );
      }
      let pt: number;
      try {
        const flags = x2apicCapable ? MSHV_PT_BIT_LAPIC | MSHV_PT_BIT_X2APIC : MSHV_PT_BIT_LAPIC;
        pt = check(createPartition(sys, dev, flags, MSHV_PT_ISOLATION_NONE), op, `ioctl(MSHV_CREATE_PARTITION, ${x2apicCapable ? 'LAPIC|X2APIC' : 'LAPIC'})`);
      } finally {
        sys.close(dev); // the partition fd is all that is needed from here on
      }
      opened.push(pt);
      check(initializePartition(sys, pt), op, 'ioctl(MSHV_INITIALIZE_PARTITION)');
      lapic = new VpLapicPage(memory);
      const vpFds: number[] = [];
      for (let i = 0; i < vcpus; i++) {
        const fd = check(createVp(sys, pt, i), op, `ioctl(MSHV_CREATE_VP, ${i})`);
        opened.push(fd);
        vpFds.push(fd);
        lapic.read(sys, fd, op).softwareEnable();
        lapic.write(sys, fd, op);
      }
      injector = assertInterruptInjector(sys, memory, pt, 'MshvPartition.requestMsi');
      irqfdInjector = assertInterruptInjector(sys, memory, pt, 'IrqFdRoute: deliver a latched signal');
      return new MshvPartition(CREATE, sys, pt, vpFds, lapic, { request: injector, irqfd: irqfdInjector }, { maxRoutes, maxKernelRoutes, relayPlatform, retargetWindowMs }, { x2apicCapable });
    } catch (e) {
      irqfdInjector?.free();
      injector?.free();
      lapic?.free();
      for (const fd of opened.reverse()) sys.close(fd);
      throw e;
    }
  }

  /** The partition fd (owned by the partition: do not close it). */
  get partitionFd(): number {
    this.live('MshvPartition.partitionFd');
    return this.pt;
  }

  /**
   * VP `vcpu`'s fd (owned by the partition: do not close it).
   *
   * @throws VirtError DISPOSED after dispose; INVALID_ARGUMENT unless `vcpu` is an integer from 0 to vcpuCount-1.
   */
  vpFd(vcpu: number): number {
    return this.vcpuFdFor('MshvPartition.vpFd', vcpu);
  }

  /** The irqfd (MSHV_IRQFD + MSHV_SET_MSI_ROUTING through the shared engine); the same object every call. */
  irqfd(): MshvIrqFd | undefined {
    return this.irqfdImpl;
  }

  /**
   * Injects one MSI now by hypercall (HvCallAssertVirtualInterrupt). INVALID_ARGUMENT / INVALID_MSI
   * before any system call (upper address nonzero, outside 0xFEExxxxx, a physical destination
   * without a VP, vector 0, and the shared x86 rules). EAGAIN is retried a bounded number of times;
   * any other failure throws {@link MshvHypercallError} with the errno and the hypervisor status.
   * Returns true: the hypervisor accepted it (it does not report whether the guest's APIC did).
   */
  requestMsi(address: number | bigint, data: number): boolean {
    const op = 'MshvPartition.requestMsi';
    this.live(op);
    const m = parseMshvMsi(op, address, data, this.vcpuCount);
    return this.injector.inject(m.addressLo, m.addressHi, m.data);
  }

  /**
   * APIC ID, IRR and ISR vectors and the software-enable bit of VP `vcpu`, from MSHV_GET_VP_STATE in
   * the hypervisor's own 176-byte format (not the xAPIC page). On root-scheduler hosts the irqfd
   * fast path only queues a vector in the VP's register page until the VP runs, so the IRR may not
   * show it yet.
   *
   * @throws VirtError DISPOSED after dispose; INVALID_ARGUMENT for a VP out of range; SYSCALL when the ioctl fails.
   */
  readLocalApic(vcpu: number): LocalApicState {
    const op = 'MshvPartition.readLocalApic';
    this.live(op);
    return this.lapic.read(this.sys, this.vcpuFdFor(op, vcpu), op).state();
  }

  /**
   * Clears every IRR bit of VP `vcpu` (MSHV_GET_VP_STATE, clear, MSHV_SET_VP_STATE), so the next
   * read shows only new deliveries. Diagnostic: call it when no delivery is under way.
   *
   * @throws VirtError DISPOSED after dispose; INVALID_ARGUMENT for a VP out of range; SYSCALL when an ioctl fails.
   */
  clearIrr(vcpu: number): void {
    const op = 'MshvPartition.clearIrr';
    this.live(op);
    const fd = this.vcpuFdFor(op, vcpu);
    this.lapic.read(this.sys, fd, op).clearIrr();
    this.lapic.write(this.sys, fd, op);
  }

  /** Closes every route's eventfd (and stops the overflow relay's worker, if one was started). */
  protected disposeIrqFd(): void {
    this.irqfdImpl.dispose();
  }

  /** After the VP fds: the partition fd, then the pinned buffers (hypercall inputs, VP state page). */
  protected releaseOwned(): void {
    this.sys.close(this.pt);
    this.injector.free();
    this.irqfdInjector.free();
    this.lapic.free();
  }

  /**
   * After dispose: resolves once the overflow relay's worker thread (if one was started) has
   * exited. Dispose already stopped all use of the partition.
   */
  whenClosed(): Promise<void> {
    return this.irqfdImpl.whenClosed();
  }
}

/**
 * INVALID_ARGUMENT unless `apicIds` is `[0, 1, ..., vcpus-1]`: mshv gives VP i APIC ID i and takes
 * VP indexes below {@link MSHV_MAX_VPS} only, so a VMM cannot choose an APIC ID.
 */
function checkIdentityApicIds(op: string, apicIds: unknown, vcpus: number): void {
  const limit = `mshv gives VP i APIC ID i (MSHV_CREATE_VP takes only a VP index, below ${MSHV_MAX_VPS}), so apicIds can only be [0, 1, ..., vcpus-1]`;
  if (!Array.isArray(apicIds)) throw invalidArgument(op, `apicIds must be an array of APIC IDs, got ${describeValue(apicIds)}`);
  const ids = apicIds as readonly unknown[];
  if (ids.length !== vcpus) throw invalidArgument(op, `apicIds has ${ids.length} entries for ${vcpus} VPs; ${limit}`);
  ids.forEach((id, vp) => {
    if (id !== vp) throw invalidArgument(op, `apicIds[${vp}] is ${describeValue(id)}, but VP ${vp} has APIC ID ${vp}: ${limit}`);
  });
}

/** Whether `sys` is also a {@link UserMemory} (the kernel model is both). */
function isUserMemory(sys: Syscalls): boolean {
  const candidate = sys as Syscalls & Partial<Record<keyof UserMemory, unknown>>;
  return typeof candidate.allocate === 'function' && typeof candidate.free === 'function';
}
