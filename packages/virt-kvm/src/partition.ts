/**
 * A KVM virtual machine with an in-kernel irqchip and software-enabled local APICs, as far as
 * interrupts are concerned: irqfd routes, one-shot MSIs and a diagnostic view of each local APIC.
 */
import { type GuestEoiAccess, IOAPIC_PINS, type IoApicAccess, type IoApicRedirection, type IoApicState, type IrqFd, type LocalApicAccess, type LocalApicState, type MsiPolicy, type Partition, type PartitionCapabilities, VirtError, type X2apicPartitionProbe, parseMsi } from '@tsvmm/virt';
import { type RawInjector, RelayIrqFd, type RelayPlatformFactory, checkInteger, describeValue, invalidArgument, partitionCapabilities, IOREDTBL, checkBoolean, checkConstructToken, checkOptions, decodeRedirection, encodeRedirection, readOptionsOnce } from '@tsvmm/virt/implement';
import { packStruct } from '@tsvmm/ffi';
import { type IoctlInjectorSpec, LinuxPartitionBase, type Syscalls, check, checkSyscalls, errnoName, createPartitionIrqFd, defaultRelayPlatform, ioctlInjector, libcSyscalls, routeBudget } from '@tsvmm/linux-sys';
import * as kvm from './abi';
import * as calls from './calls';
import { type KvmExtensions, openKvm, probeExtensions, supportedCpuidX2apic } from './device';
import { LEGACY_ROUTES } from './gsi-routing';
import { type KvmIrqFd, kvmIrqFdBackend } from './irqfd';
import { LapicPage } from './lapic';
import { kvmLevelRoutes } from './level';
import { signalMsiInjector } from './signal-msi';

/** Which irqfd a partition gets. */
export type KvmIrqFdMode =
  /** Kernel irqfd when KVM_CAP_IRQFD and KVM_CAP_IRQ_ROUTING are present, else the relay. */
  | 'auto'
  /** Kernel irqfd, or UNSUPPORTED. */
  | 'kernel'
  /** The user-space relay (epoll worker + KVM_SIGNAL_MSI) even where the kernel has irqfd: a baseline for benchmarks. */
  | 'relay';

/**
 * What {@link KvmPartition.create} takes. Only `vcpus` is required; each option is read once and
 * checked before anything is opened (INVALID_ARGUMENT otherwise).
 */
export interface KvmPartitionOptions {
  /**
   * vCPUs to create: an integer from 1 to 255 (up to 65536 with `x2apic`), and at most
   * KVM_CAP_MAX_VCPUS; vCPU i gets APIC ID `apicIds[i]` (default i).
   */
  readonly vcpus: number;
  /**
   * The APIC ID of each vCPU, one per vCPU, distinct: each becomes the vCPU id of KVM_CREATE_VCPU,
   * which KVM makes the APIC ID. Up to 0xFE, or with `x2apic` up to KVM_CAP_MAX_VCPU_ID minus 1
   * (4095 on current kernels); beyond the host's limit is INVALID_ARGUMENT naming it. Default: 0 to
   * `vcpus - 1`.
   */
  readonly apicIds?: readonly number[];
  /**
   * Create an x2APIC partition (default false): KVM_CAP_X2APIC_API is enabled with 32-bit IDs and
   * the broadcast quirk disabled before the first vCPU, each vCPU gets the x2APIC CPUID bit
   * (KVM_SET_CPUID2) and is switched to x2APIC mode by a host write of IA32_APIC_BASE
   * (KVM_SET_MSRS), and its 32-bit APIC ID is read back from the local APIC. MSIs may then name
   * APIC IDs above 255 through `address_hi` bits 31:8 or the extended destination ID (address bits
   * 11:5, translated before the kernel sees it). UNSUPPORTED where the kernel lacks
   * KVM_CAP_X2APIC_API or either flag.
   */
  readonly x2apic?: boolean;
  /** Which irqfd the partition gets (see {@link KvmIrqFdMode}). Default `auto`. */
  readonly irqfd?: KvmIrqFdMode;
  /** System calls (tests wrap them to inject failures). Default: libc. */
  readonly sys?: Syscalls;
  /** The KVM device node. Default `/dev/kvm`. */
  readonly device?: string;
  /**
   * Entries one routing table may hold (KVM_MAX_IRQ_ROUTES). Default: what KVM_CAP_IRQ_ROUTING
   * reports (4096 on current kernels). For tests of the kernel's limit only.
   */
  readonly routingEntries?: number;
  /**
   * Most irqfd routes at once (1 to 2^20). Each holds two file descriptors (its eventfd and the
   * duplicate handed out as `event.fd`) and a GSI only while it has an MSI. Default: what the
   * process's RLIMIT_NOFILE still allows when the partition is created (see `routeBudget` in
   * `@tsvmm/linux-sys`), at most 4096 for the user-space relay (`irqfd: 'relay'`); reaching it, or
   * running out of descriptors first, is EXHAUSTED.
   */
  readonly maxRoutes?: number;
  /**
   * The user-space relay's platform: where every route of a relay-mode irqfd (`irqfd: 'relay'`, or
   * a host without kernel irqfd) is waited on and injected, and, with kernel irqfd, the overflow
   * relay's, for routes that find every GSI in use. Default: an epoll worker thread injecting with
   * KVM_SIGNAL_MSI (for the overflow, started at the first such route). Tests pass a model's
   * (`modelRelayPlatform` of `@tsvmm/virt-kvm/testing`).
   */
  readonly relayPlatform?: RelayPlatformFactory;
  /**
   * Coalesce retargets: when a guest moves vectors between vCPUs one at a time (mask, rewrite,
   * unmask), each retarget's routing commit waits up to this many milliseconds (0 to 1000), the
   * vector is delivered from user space with its new message meanwhile, and one KVM_SET_GSI_ROUTING
   * then moves them all back to their irqfds. Default 0: off (every change commits at once).
   */
  readonly retargetWindowMs?: number;
}

/** What `create` read from the caller's options, each exactly once. */
interface Settings {
  readonly vcpus: number;
  readonly apicIds: readonly number[];
  readonly x2apic: boolean;
  readonly mode: KvmIrqFdMode;
  readonly sys: Syscalls;
  readonly device: string | undefined;
  readonly routingEntries: number | undefined;
  readonly maxRoutes: number | undefined;
  readonly relayPlatform: RelayPlatformFactory | undefined;
  readonly retargetWindowMs: number | undefined;
}

/** Every key of {@link KvmPartitionOptions}: any other is refused (a misspelt option is not ignored). */
const KVM_OPTION_KEYS = ['vcpus', 'apicIds', 'x2apic', 'irqfd', 'sys', 'device', 'routingEntries', 'maxRoutes', 'relayPlatform', 'retargetWindowMs'] as const satisfies readonly (keyof KvmPartitionOptions)[];

/** Passed by {@link KvmPartition.create} to the constructor, which is not for callers: they get no token. */
const CREATE: unique symbol = Symbol('KvmPartition.create');

/** The KVM_CAP_X2APIC_API flags an x2APIC partition enables: 32-bit IDs, and 0xFF no longer a broadcast. */
const X2APIC_API_FLAGS = kvm.KVM_X2APIC_API_USE_32BIT_IDS | kvm.KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK;
/** Most vCPUs this backend asks for without x2APIC: 8-bit IDs 0-0xFE (0xFF is the broadcast ID). */
const XAPIC_MAX_VCPUS = 255;
/** The largest xAPIC destination: 0xFF is the broadcast ID. */
const XAPIC_MAX_APIC_ID = 0xfe;
/** The largest x2APIC destination: 0xFFFFFFFF is the broadcast ID. */
const X2APIC_MAX_APIC_ID = 0xfffffffe;
/** Most vCPUs this backend asks for with x2APIC. */
const X2APIC_MAX_VCPUS = 1 << 16;

/** Why an x2APIC partition cannot be made where KVM does not offer the x2APIC CPUID bit. */
const X2APIC_CPUID_MISSING =
  'KVM does not offer x2APIC to guests (KVM_GET_SUPPORTED_CPUID leaf 1 ECX bit 21 is clear), so no vCPU can enter x2APIC mode (a KVM module loaded with x2APIC turned off answers so).';

/**
 * What an `x2apic: true` partition would reach on a host with `ext`, without creating one: it
 * needs KVM_CAP_X2APIC_API with both flags {@link KvmPartition.create} enables, the x2APIC CPUID
 * bit offered by KVM_GET_SUPPORTED_CPUID (`cpuidX2apic`: what `supportedCpuidX2apic` answered,
 * true, false, or the call's `-errno`), and its
 * destinations stop at KVM_CAP_MAX_VCPU_ID minus 1 (vCPU ids are the APIC IDs). Unavailable,
 * with the reason, when a flag or the CPUID bit is missing or KVM_CAP_MAX_VCPU_ID leaves no ID
 * above 0xFE.
 */
export function x2apicPartitionOf(ext: KvmExtensions, cpuidX2apic: boolean | number): X2apicPartitionProbe {
  const xapicMax = Math.min(ext.maxVcpuId - 1, XAPIC_MAX_APIC_ID);
  if ((ext.x2apicApiFlags & X2APIC_API_FLAGS) !== X2APIC_API_FLAGS) {
    const has = ext.x2apicApi ? `reports flags ${ext.x2apicApiFlags} only` : 'is missing';
    return {
      available: false,
      maxApicId: xapicMax,
      reason: `x2apic: true needs KVM_CAP_X2APIC_API with 32-bit IDs and the disabled broadcast quirk (flags ${X2APIC_API_FLAGS}), but it ${has} (Linux 4.8 and later have it).`,
    };
  }
  if (typeof cpuidX2apic === 'number') {
    return { available: false, maxApicId: xapicMax, reason: `KVM_GET_SUPPORTED_CPUID failed with ${errnoName(-cpuidX2apic)}: whether KVM offers x2APIC to guests is unknown.` };
  }
  if (!cpuidX2apic) return { available: false, maxApicId: xapicMax, reason: X2APIC_CPUID_MISSING };
  const maxApicId = Math.min(ext.maxVcpuId - 1, X2APIC_MAX_APIC_ID);
  if (maxApicId <= XAPIC_MAX_APIC_ID) {
    return {
      available: false,
      maxApicId: xapicMax,
      reason: `KVM_CAP_MAX_VCPU_ID is ${ext.maxVcpuId}: vCPU ids (the APIC IDs) stay below it, so x2apic: true reaches no APIC ID above 0xFE.`,
    };
  }
  return {
    available: true,
    maxApicId,
    reason: `x2apic: true enables KVM_CAP_X2APIC_API with 32-bit IDs: APIC IDs up to ${maxApicId} (KVM_CAP_MAX_VCPU_ID ${ext.maxVcpuId}), at most ${Math.min(ext.maxVcpus, X2APIC_MAX_VCPUS)} vCPUs (KVM_CAP_MAX_VCPUS).`,
  };
}

/** The relay's default route limit (below the descriptor budget): eventfds, not kernel routes, are what it spends. */
const RELAY_MAX_ROUTES = 4096;

/**
 * A KVM VM (`/dev/kvm`, `include/uapi/linux/kvm.h`) as far as interrupts are concerned: an
 * in-kernel irqchip, `vcpuCount` vCPUs whose local APICs are software-enabled (vCPU i has APIC ID
 * `apicIds[i]`; in x2APIC mode with 32-bit IDs when created with `x2apic`), irqfd routes, one-shot MSIs with KVM_SIGNAL_MSI, and diagnostic local APIC reads with
 * KVM_GET_LAPIC. Made by {@link KvmPartition.create}; owns every fd it opens and closes them in
 * {@link KvmPartition.dispose}.
 *
 * The irqfd is kernel-mediated (KVM_IRQFD with a batched KVM_SET_GSI_ROUTING table; masking
 * deassigns the irqfd, so signals latch in the eventfd and nothing is lost) where the kernel has
 * KVM_CAP_IRQFD and KVM_CAP_IRQ_ROUTING (with a routing table larger than the 40 legacy routes it
 * keeps), else the user-space relay (an epoll worker thread injecting with KVM_SIGNAL_MSI);
 * `capabilities.irqfd` says which, and `capabilities.irqfdReason` why not kernel.
 */
export class KvmPartition extends LinuxPartitionBase implements Partition, LocalApicAccess, IoApicAccess {
  /** Always `kvm`. */
  readonly backend = 'kvm';
  /** vCPUs created; vCPU i has APIC ID `apicIds[i]`. */
  readonly vcpuCount: number;
  /** The APIC ID of each vCPU, in vCPU order (frozen): what an MSI's destination names. */
  readonly apicIds: readonly number[];
  /** True for an x2APIC partition (see {@link KvmPartitionOptions.x2apic}). */
  readonly x2apic: boolean;
  /**
   * What this partition offers: `irqfd` is `kernel`, `emulated` (the relay) or `none` with the
   * reason in `irqfdReason`; `resample` is true only with kernel irqfd and KVM_CAP_IRQFD_RESAMPLE;
   * `x2apic` says whether 32-bit x2APIC IDs are enabled; `maxApicId` is the largest APIC ID a
   * destination reaches, derived from KVM_CAP_MAX_VCPU_ID (vCPU ids, hence APIC IDs, stay below it)
   * and capped at 0xFE without x2APIC (0xFF broadcasts); `maxVcpus` is KVM_CAP_MAX_VCPUS.
   */
  readonly capabilities: PartitionCapabilities;
  /** What KVM_CHECK_EXTENSION reported. */
  readonly extensions: KvmExtensions;
  /**
   * MSI validation: without x2APIC, `addressHi` and the extended destination ID are rejected; with
   * it, `addressHi` carries destination bits 31:8 and the extended destination ID is translated to
   * it. A destination above `capabilities.maxApicId` is INVALID_MSI naming the limit.
   */
  readonly msiPolicy: MsiPolicy;
  private readonly kvmFd: number;
  private readonly vm: number;
  private readonly irqfdImpl: KvmIrqFd | RelayIrqFd | undefined;
  private readonly inject: RawInjector;
  private readonly lapic: LapicPage;
  private readonly eoiAccess: GuestEoiAccess | undefined;

  private constructor(
    token: typeof CREATE,
    sys: Syscalls,
    kvmFd: number,
    vmFd: number,
    vcpuFds: number[],
    extensions: KvmExtensions,
    settings: Settings,
    routingEntries: number,
  ) {
    checkConstructToken(token, CREATE, 'KvmPartition', 'KvmPartition.create()');
    super(sys, vcpuFds, 'the KVM partition');
    const mode = settings.mode;
    this.kvmFd = kvmFd;
    this.vm = vmFd;
    this.vcpuCount = vcpuFds.length;
    this.apicIds = Object.freeze([...settings.apicIds]);
    this.x2apic = settings.x2apic;
    this.eoiAccess = hasModelGuestEoi(sys) ? this.modelEoiAccess(sys) : undefined;
    this.lapic = new LapicPage(settings.x2apic);
    this.extensions = extensions;
    const maxApicId = Math.min(extensions.maxVcpuId - 1, settings.x2apic ? X2APIC_MAX_APIC_ID : XAPIC_MAX_APIC_ID);
    this.msiPolicy = Object.freeze(
      settings.x2apic
        ? { addressHi: 'x2apic-ids' as const, extendedDestinationId: 'translate' as const, maxApicId, backend: 'KVM' }
        : { addressHi: 'reject' as const, maxApicId, backend: 'KVM' },
    );
    this.inject = signalMsiInjector(sys, vmFd, 'KvmPartition.requestMsi');
    const noKernelRouting = kernelRoutingMissing(extensions, routingEntries);
    const kernelIrqfd = extensions.irqfd && noKernelRouting === undefined;
    let reason = '';
    if (mode === 'relay') reason = 'the user-space relay was asked for (irqfd: "relay")';
    else if (!extensions.irqfd) reason = 'KVM_CAP_IRQFD is missing on this host';
    else if (noKernelRouting !== undefined) reason = `${noKernelRouting} on this host`;
    const useKernelIrqfd = mode !== 'relay' && kernelIrqfd;
    if (useKernelIrqfd) {
      // Resample irqfds need the full in-kernel irqchip (KVM_CREATE_IRQCHIP, which create() made) and KVM_CAP_IRQFD_RESAMPLE.
      const levelRoutes = kvmLevelRoutes({ sys, vmFd, ...(extensions.irqfdResample ? {} : { unsupported: 'KVM_CAP_IRQFD_RESAMPLE is missing on this host' }) });
      const backend = kvmIrqFdBackend({ sys, vmFd, maxEntries: routingEntries, policy: this.msiPolicy, inject: this.inject, workerInjector: kvmRelayInjector(vmFd) });
      this.irqfdImpl = createPartitionIrqFd(backend, sys, 'the KVM partition', settings, levelRoutes);
    } else if (extensions.signalMsi) {
      this.irqfdImpl = new RelayIrqFd({
        backend: 'kvm',
        maxRoutes: settings.maxRoutes ?? Math.min(RELAY_MAX_ROUTES, routeBudget(sys, undefined)),
        policy: this.msiPolicy,
        inject: this.inject,
        platform: settings.relayPlatform ?? defaultRelayPlatform(sys, kvmRelayInjector(vmFd)),
        reason,
      });
    } else {
      this.irqfdImpl = undefined;
      reason = `${reason}, and KVM_CAP_SIGNAL_MSI is missing too, so not even the relay can inject`;
    }
    const irq = this.irqfdImpl;
    this.capabilities = partitionCapabilities(irq, {
      backend: 'kvm',
      irqfdReason: reason,
      resample: useKernelIrqfd && extensions.irqfdResample,
      x2apic: settings.x2apic,
      maxApicId,
      maxVcpus: extensions.maxVcpus,
    });
  }

  /**
   * Opens /dev/kvm, creates the VM, the in-kernel irqchip and `vcpus` vCPUs with software-enabled
   * local APICs (so MSIs land in IRR). Everything opened is closed again if a step fails.
   *
   * @throws VirtError INVALID_ARGUMENT for bad options (before anything is opened), more vCPUs
   *   than KVM_CAP_MAX_VCPUS or an APIC ID at or above KVM_CAP_MAX_VCPU_ID (before the VM is
   *   created); UNSUPPORTED for `x2apic` without KVM_CAP_X2APIC_API and both its flags or without
   *   the x2APIC CPUID bit in KVM_GET_SUPPORTED_CPUID (both before the VM is created), or when KVM
   *   refuses x2APIC mode for a vCPU, or reads back another APIC ID; UNAVAILABLE / PERMISSION / UNSUPPORTED from opening the device (see
   *   `openKvm`); UNSUPPORTED without KVM_CAP_IRQCHIP, or for `irqfd: 'kernel'` without KVM_CAP_IRQFD
   *   and KVM_CAP_IRQ_ROUTING; SYSCALL when an ioctl fails.
   */
  static create(options: KvmPartitionOptions): KvmPartition {
    const op = 'KvmPartition.create';
    // A getter or Proxy that throws (anything, even a value that throws when converted to text) is INVALID_ARGUMENT.
    const read = readOptionsOnce(op, (): Omit<Settings, 'sys'> & { readonly sys: Syscalls | undefined } => {
      checkOptions<KvmPartitionOptions>(op, 'options', options, KVM_OPTION_KEYS);
      // Each option is read exactly once (a getter could answer differently the second time), then validated.
      const raw = {
        vcpus: options.vcpus as unknown,
        apicIds: options.apicIds as unknown,
        x2apic: options.x2apic as unknown,
        irqfd: options.irqfd as unknown,
        sys: options.sys,
        device: options.device as unknown,
        routingEntries: options.routingEntries as unknown,
        maxRoutes: options.maxRoutes as unknown,
        relayPlatform: options.relayPlatform as unknown,
        retargetWindowMs: options.retargetWindowMs as unknown,
      };
      const mode = raw.irqfd ?? 'auto';
      if (mode !== 'auto' && mode !== 'kernel' && mode !== 'relay') {
        throw invalidArgument(op, `irqfd must be 'auto', 'kernel' or 'relay', got ${describeValue(mode)}`);
      }
      const x2apic = checkBoolean(op, 'x2apic', raw.x2apic, false);
      const vcpus = checkInteger(op, 'vcpus', raw.vcpus, 1, x2apic ? X2APIC_MAX_VCPUS : XAPIC_MAX_VCPUS);
      const apicIds = readApicIds(op, raw.apicIds, vcpus, x2apic);
      const routingEntries = raw.routingEntries === undefined ? undefined : checkInteger(op, 'routingEntries', raw.routingEntries, LEGACY_ROUTES.length + 1, 1 << 20);
      const maxRoutes = raw.maxRoutes === undefined ? undefined : checkInteger(op, 'maxRoutes', raw.maxRoutes, 1, 1 << 20);
      const retargetWindowMs = raw.retargetWindowMs === undefined ? undefined : checkInteger(op, 'retargetWindowMs', raw.retargetWindowMs, 0, 1000);
      if (raw.device !== undefined && typeof raw.device !== 'string') throw invalidArgument(op, `device must be a path string, got ${typeof raw.device}`);
      if (raw.relayPlatform !== undefined && typeof raw.relayPlatform !== 'function') throw invalidArgument(op, `relayPlatform must be a relay platform factory (a function), got ${describeValue(raw.relayPlatform)}`);
      const sys = raw.sys === undefined ? undefined : checkSyscalls(op, 'sys', raw.sys);
      return {
        vcpus,
        apicIds,
        x2apic,
        mode,
        sys,
        device: raw.device,
        routingEntries,
        maxRoutes,
        relayPlatform: raw.relayPlatform as RelayPlatformFactory | undefined,
        retargetWindowMs,
      };
    });
    // The real syscalls are loaded after the options are read: a failure loading them is not the caller's options.
    const settings: Settings = { ...read, sys: read.sys ?? libcSyscalls() };
    const { vcpus, apicIds, x2apic, mode, sys, routingEntries } = settings;
    const opened: number[] = [];
    try {
      const kvmFd = openKvm(sys, op, settings.device);
      opened.push(kvmFd);
      const ext = probeExtensions(sys, kvmFd);
      if (vcpus > ext.maxVcpus) {
        throw invalidArgument(op, `vcpus must be at most ${ext.maxVcpus} on this host (KVM_CAP_MAX_VCPUS), got ${vcpus}`);
      }
      const tooHigh = apicIds.findIndex((id) => id >= ext.maxVcpuId);
      if (tooHigh >= 0) {
        throw invalidArgument(
          op,
          `apicIds[${tooHigh}] is ${apicIds[tooHigh]}, but vCPU ids (the APIC IDs) must be below ${ext.maxVcpuId} on this host (KVM_CAP_MAX_VCPU_ID): the largest APIC ID is ${ext.maxVcpuId - 1}`,
        );
      }
      if (x2apic && (ext.x2apicApiFlags & X2APIC_API_FLAGS) !== X2APIC_API_FLAGS) {
        throw new VirtError('UNSUPPORTED', {
          operation: op,
          detail: `x2apic was asked for, but KVM_CAP_X2APIC_API reports flags ${ext.x2apicApiFlags} (32-bit IDs and the disabled broadcast quirk, ${X2APIC_API_FLAGS}, are needed)`,
          hint: 'Use a kernel with KVM_CAP_X2APIC_API (Linux 4.8 and later), or create the partition without x2apic.',
        });
      }
      // kvm_apic_set_base takes the x2APIC enable bit as reserved unless KVM offers x2APIC: refuse before any VM exists.
      const cpuidX2apic = x2apic ? supportedCpuidX2apic(sys, kvmFd) : undefined;
      if (typeof cpuidX2apic === 'number') check(cpuidX2apic, op, 'ioctl(KVM_GET_SUPPORTED_CPUID)');
      if (cpuidX2apic === false) {
        throw new VirtError('UNSUPPORTED', {
          operation: op,
          detail: `x2apic was asked for, but ${X2APIC_CPUID_MISSING}`,
          hint: 'Load the KVM module with x2APIC turned on (check its module parameters, e.g. kvm_pvm\'s no_x2apic), or create the partition without x2apic.',
        });
      }
      if (!ext.irqchip) {
        throw new VirtError('UNSUPPORTED', { operation: op, detail: 'KVM_CAP_IRQCHIP is missing', hint: 'tsvmm needs the in-kernel irqchip; use a kernel that has it.' });
      }
      const entries = Math.min(routingEntries ?? (ext.irqRouting || kvm.KVM_MAX_IRQ_ROUTES), 1 << 20);
      const noKernelRouting = kernelRoutingMissing(ext, entries);
      if (mode === 'kernel' && (!ext.irqfd || noKernelRouting !== undefined)) {
        throw new VirtError('UNSUPPORTED', {
          operation: op,
          detail: `kernel irqfd was asked for, but ${ext.irqfd ? noKernelRouting : 'KVM_CAP_IRQFD is missing'}`,
          hint: "Use irqfd: 'auto' to fall back to the user-space relay.",
        });
      }
      const vmFd = check(calls.createVm(sys, kvmFd), op, 'ioctl(KVM_CREATE_VM)');
      opened.push(vmFd);
      check(calls.createIrqchip(sys, vmFd), op, 'ioctl(KVM_CREATE_IRQCHIP)');
      // The ID format of every later MSI and LAPIC page is fixed here, before the first vCPU.
      if (x2apic) check(calls.enableCap(sys, vmFd, packStruct(kvm.KVM_ENABLE_CAP_LAYOUT, { cap: kvm.KVM_CAP.KVM_CAP_X2APIC_API, flags: 0, arg0: BigInt(X2APIC_API_FLAGS), arg1: 0n, arg2: 0n, arg3: 0n })), op, 'ioctl(KVM_ENABLE_CAP, KVM_CAP_X2APIC_API)');
      const vcpuFds: number[] = [];
      const page = new LapicPage(x2apic);
      for (const id of apicIds) {
        const fd = check(calls.createVcpu(sys, vmFd, id), op, `ioctl(KVM_CREATE_VCPU, ${id})`);
        opened.push(fd);
        vcpuFds.push(fd);
        if (x2apic) enterX2apicMode(sys, fd, id, op);
        page.read(sys, fd, op);
        if (page.state().apicId !== id) {
          throw new VirtError('UNSUPPORTED', {
            operation: op,
            detail: `vCPU id ${id} reads back APIC ID ${page.state().apicId} from KVM_GET_LAPIC`,
            hint: 'The kernel did not make the vCPU id its APIC ID; create the partition without apicIds or x2apic.',
          });
        }
        page.softwareEnable();
        page.write(sys, fd, op);
      }
      return new KvmPartition(CREATE, sys, kvmFd, vmFd, vcpuFds, ext, settings, entries);
    } catch (e) {
      for (const fd of opened.reverse()) sys.close(fd);
      throw e;
    }
  }

  /** The VM fd (for benchmarks and raw KVM calls; owned by the partition: do not close it). */
  get vmFd(): number {
    this.live('KvmPartition.vmFd');
    return this.vm;
  }

  /**
   * vCPU `vcpu`'s fd (owned by the partition: do not close it).
   *
   * @throws VirtError DISPOSED after dispose; INVALID_ARGUMENT unless `vcpu` is an integer from 0 to vcpuCount-1.
   */
  vcpuFd(vcpu: number): number {
    return this.vcpuFdFor('KvmPartition.vcpuFd', vcpu);
  }

  /**
   * What an `x2apic: true` partition would reach on this host (see `probe()`): the capabilities
   * this partition was created with, and KVM_GET_SUPPORTED_CPUID asked now on its /dev/kvm
   * descriptor (a failure of that call makes it unavailable, with the errno in the reason).
   *
   * @throws VirtError DISPOSED after dispose.
   */
  x2apicPartitionProbe(): X2apicPartitionProbe {
    this.live('KvmPartition.x2apicPartitionProbe');
    return x2apicPartitionOf(this.extensions, supportedCpuidX2apic(this.sys, this.kvmFd));
  }

  /**
   * The partition's irqfd, the same object on every call: a {@link KvmIrqFd} (kernel irqfd), a
   * `RelayIrqFd` (user-space relay), or undefined when the host has neither KVM_CAP_IRQFD with
   * KVM_CAP_IRQ_ROUTING nor KVM_CAP_SIGNAL_MSI.
   *
   * What `settle()` guarantees on KVM: for the relay, that the epoll worker has delivered every
   * signal raised before the call. For kernel irqfd it resolves at once, and that is complete only
   * for signals KVM injects inside the eventfd write: an MSI route the kernel's fast path takes
   * (`irqfd_wakeup` calling `kvm_arch_set_irq_inatomic`: a GSI with one MSI route, a destination
   * that is not a broadcast, an APIC map KVM could build). Everything else KVM injects from the
   * irqfd's work item after the write has returned (`irqfd_inject`, scheduled by `schedule_work`):
   * a level route's line (`newLevelRoute`), a broadcast MSI (0xFF, or 0xFFFFFFFF without the
   * broadcast quirk), a destination the fast path declines, and a signal that races an unmask
   * (the assign's "already signalled?" check; a signal latched before the unmask is injected with
   * KVM_SIGNAL_MSI before `unmask` returns). No call lets user space wait for that work, so
   * `settle()` cannot: read the
   * result (IRR with `readLocalApic`, the pin with `readIoApic`) by polling it with a deadline. The
   * delay is the kernel's workqueue latency, microseconds on an idle host (`virt/kvm/eventfd.c`).
   */
  irqfd(): IrqFd | undefined {
    return this.irqfdImpl;
  }

  /**
   * The guest's end-of-interrupt ({@link GuestEoiAccess} of `@tsvmm/virt`), the same object on
   * every call, where the partition runs on a kernel model that can play it: `KvmKernelModel` of
   * `@tsvmm/virt-kvm/testing` passed as `sys` (itself, a Proxy of it, or a `FaultInjector` of
   * `@tsvmm/linux-sys/testing` over it: each forwards its `modelGuestEoi`). Undefined on a real kernel: KVM has no entry point for an EOI without guest
   * code (only the guest's own write of its local APIC's EOI register, or the x2APIC EOI MSR, does
   * it), so level-route tests that need one run on the model. Its `eoi(vcpu, vector)` takes the
   * vCPU index (0 to vcpuCount-1) and the vector (0-255): the local APIC EOIs the vector and, for a
   * level-triggered one, the IOAPIC pins delivering it are acknowledged (a level route deasserts and
   * signals its resample event), as arch/x86/kvm/ioapic.c kvm_ioapic_update_eoi does. It returns
   * false when the vector was neither requested nor in service, and throws INVALID_ARGUMENT for a
   * bad vCPU or vector and DISPOSED after dispose.
   */
  guestEoi(): GuestEoiAccess | undefined {
    return this.eoiAccess;
  }

  private modelEoiAccess(model: ModelGuestEoi): GuestEoiAccess {
    return Object.freeze({
      eoi: (vcpu: number, vector: number): boolean => {
        const op = 'KvmPartition.guestEoi().eoi';
        const i = checkInteger(op, 'vcpu', vcpu, 0, this.vcpuCount - 1);
        const v = checkInteger(op, 'vector', vector, 0, 255);
        this.live(op);
        return model.modelGuestEoi(this.vm, this.apicIds[i]!, v);
      },
    });
  }

  /**
   * Injects one MSI now with KVM_SIGNAL_MSI. `address` is the 64-bit MSI address (a non-negative
   * safe integer or a bigint; its upper 32 bits must be 0 unless the partition is an x2APIC one, where
   * they carry destination bits 31:8 and an extended destination ID in bits 11:5 is translated to them),
   * `data` the 32-bit MSI data. Returns true when delivered, false when the guest blocked it (for example
   * its APIC is software-disabled).
   *
   * @throws VirtError DISPOSED after dispose; UNSUPPORTED without KVM_CAP_SIGNAL_MSI;
   *   INVALID_ARGUMENT / INVALID_MSI before any system call (the shared x86 MSI rules of
   *   `@tsvmm/virt`); SYSCALL when the ioctl fails.
   */
  requestMsi(address: number | bigint, data: number): boolean {
    const op = 'KvmPartition.requestMsi';
    this.live(op);
    if (!this.extensions.signalMsi) {
      throw new VirtError('UNSUPPORTED', { operation: op, detail: 'KVM_CAP_SIGNAL_MSI is missing on this host', hint: 'Use an irqfd route instead.' });
    }
    const m = parseMsi(op, address, data, this.msiPolicy);
    return this.inject(m.addressLo, m.addressHi, m.data);
  }

  /**
   * vCPU `vcpu`'s local APIC, read with KVM_GET_LAPIC (the 1024-byte register page): APIC ID
   * (bits 31:24 of the register at 0x20; the whole 32-bit register in an x2APIC partition), IRR and ISR vectors, and the SVR software-enable bit.
   * A unicast MSI route the kernel's fast path takes is injected inside the eventfd write, so a read
   * right after the signal sees its IRR bit. A deferred injection (a level route's line, a broadcast
   * MSI, a destination the fast path declines: see {@link irqfd}) runs from the irqfd's work item
   * after the write returns, so one read can miss it: poll with a bound, as {@link irrReader} allows
   * (`virt/kvm/eventfd.c` `irqfd_wakeup`, `irqfd_inject`).
   *
   * @throws VirtError DISPOSED after dispose; INVALID_ARGUMENT for a vCPU out of range; SYSCALL when the ioctl fails.
   */
  readLocalApic(vcpu: number): LocalApicState {
    const op = 'KvmPartition.readLocalApic';
    this.live(op);
    return this.lapic.read(this.sys, this.vcpuFdFor(op, vcpu), op).state();
  }

  /**
   * A reader of one IRR bit, for polling loops: each call of the returned function reads vCPU
   * `vcpu`'s register page with one KVM_GET_LAPIC into a page of its own (allocated here, once) and
   * tests bit `vector` of the IRR (registers at 0x200, 0x210 ... 0x270, 32 vectors each: Intel SDM
   * vol. 3, "Interrupt Request Register"). True while the vector is pending. {@link readLocalApic}
   * decodes the whole page instead.
   *
   * @throws VirtError INVALID_ARGUMENT for a vCPU out of range or a vector outside 0-255, and
   *   DISPOSED after dispose (both here, before anything is read); the returned function throws
   *   DISPOSED once the partition is disposed and SYSCALL when the ioctl fails.
   */
  irrReader(vcpu: number, vector: number): () => boolean {
    const op = 'KvmPartition.irrReader';
    this.live(op);
    const fd = this.vcpuFdFor(op, vcpu);
    checkInteger(op, 'vector', vector, 0, 255);
    const page = new LapicPage(this.x2apic);
    const offset = kvm.LAPIC_IRR + (vector >>> 5) * 16;
    const bit = 1 << (vector & 31);
    return () => {
      this.live(op);
      return (page.read(this.sys, fd, op).reg(offset) & bit) !== 0;
    };
  }

  /**
   * Clears every IRR bit of vCPU `vcpu` (KVM_GET_LAPIC, clear, KVM_SET_LAPIC), so the next read
   * shows only new deliveries. Diagnostic: call it when no delivery is under way.
   *
   * @throws VirtError DISPOSED after dispose; INVALID_ARGUMENT for a vCPU out of range; SYSCALL when an ioctl fails.
   */
  clearIrr(vcpu: number): void {
    const op = 'KvmPartition.clearIrr';
    this.live(op);
    const fd = this.vcpuFdFor(op, vcpu);
    this.lapic.read(this.sys, fd, op).clearIrr();
    this.lapic.write(this.sys, fd, op);
  }

  /**
   * The in-kernel IOAPIC, read with KVM_GET_IRQCHIP (chip 2, `struct kvm_ioapic_state`): each pin's
   * redirection entry, remote IRR, and whether its request bit is set (`irr`; `kvm_get_ioapic`
   * hides edge requests already delivered).
   *
   * @throws VirtError DISPOSED after dispose; SYSCALL (with the errno) when the ioctl fails.
   */
  readIoApic(): IoApicState {
    const op = 'KvmPartition.readIoApic';
    this.live(op);
    const chip = this.getIoApic(op);
    const view = new DataView(chip.buffer);
    const irr = view.getUint32(kvm.KVM_IRQCHIP_LAYOUT.fields['chip.ioapic.irr'].offset, true);
    const pins = Array.from({ length: IOAPIC_PINS }, (_, pin) => {
      const at = redirectionOffset(pin);
      return decodeRedirection(view.getUint32(at, true), view.getUint32(at + 4, true), (irr & (1 << pin)) !== 0);
    });
    return Object.freeze({ pins: Object.freeze(pins) });
  }

  /**
   * Programs IOAPIC pin `pin` (0-23) as a guest write of its redirection entry would, through
   * KVM_GET_IRQCHIP then KVM_SET_IRQCHIP (chip 2): remote IRR and the delivery status are kept
   * (remote IRR cleared for an edge entry, as `ioapic_write_indirect` does). KVM_SET_IRQCHIP
   * raises every pin with a request again (`kvm_set_ioapic`), so unmasking a pin with a latched
   * request delivers it (a guest's own write lets the resampler take it instead, on newer kernels).
   * Diagnostic: call it when no guest runs.
   *
   * @throws VirtError INVALID_ARGUMENT for a bad pin or entry (before any system call); DISPOSED
   *   after dispose; SYSCALL (with the errno) when an ioctl fails, the IOAPIC then unchanged or as
   *   KVM_SET_IRQCHIP left it.
   */
  writeRedirection(pin: number, entry: IoApicRedirection): void {
    const op = 'KvmPartition.writeRedirection';
    const p = checkInteger(op, 'pin', pin, 0, IOAPIC_PINS - 1);
    const { lo, hi } = encodeRedirection(op, entry);
    this.live(op);
    const chip = this.getIoApic(op);
    const view = new DataView(chip.buffer);
    const at = redirectionOffset(p);
    const kept = view.getUint32(at, true) & (IOREDTBL.REMOTE_IRR | IOREDTBL.DELIVERY_STATUS);
    let next = (lo | kept) >>> 0;
    if (!(next & IOREDTBL.TRIGGER_LEVEL)) next = (next & ~IOREDTBL.REMOTE_IRR) >>> 0;
    view.setUint32(at, next, true);
    view.setUint32(at + 4, hi, true);
    check(calls.setIrqchip(this.sys, this.vm, chip), op, 'ioctl(KVM_SET_IRQCHIP, IOAPIC)');
  }

  /** Stops the relay's worker (if any), which uses the VM fd; closing each route's eventfd tears its irqfd down. */
  protected disposeIrqFd(): void {
    this.irqfdImpl?.dispose();
  }

  /** After the vCPU fds: the VM fd, then the /dev/kvm fd. */
  protected releaseOwned(): void {
    this.sys.close(this.vm);
    this.sys.close(this.kvmFd);
  }

  /**
   * After dispose: resolves once every thread the partition started (the relay's worker) has
   * exited and Node released its resources. Dispose already stopped all use of the VM.
   */
  whenClosed(): Promise<void> {
    return this.irqfdImpl?.whenClosed() ?? Promise.resolve();
  }

  /** KVM_GET_IRQCHIP of the IOAPIC into a fresh `struct kvm_irqchip`. */
  private getIoApic(op: string): Uint8Array {
    const chip = packStruct(kvm.KVM_IRQCHIP_LAYOUT, { chipId: kvm.KVM_IRQCHIP_IOAPIC, pad: 0 });
    check(calls.getIrqchip(this.sys, this.vm, chip), op, 'ioctl(KVM_GET_IRQCHIP, IOAPIC)');
    return chip;
  }
}

/** Where pin `pin`'s redirection entry starts in a `struct kvm_irqchip` holding the IOAPIC. */
function redirectionOffset(pin: number): number {
  return kvm.KVM_IRQCHIP_CHIP_OFFSET + kvm.KVM_IOAPIC_STATE.fields.redirtbl0.offset + pin * kvm.KVM_IOAPIC_REDIRTBL_STRIDE;
}

/** `apicIds`, read once and checked: one per vCPU, distinct, each an APIC ID the mode can name (default 0 to vcpus - 1). */
function readApicIds(op: string, raw: unknown, vcpus: number, x2apic: boolean): readonly number[] {
  if (raw === undefined) return Object.freeze(Array.from({ length: vcpus }, (_, i) => i));
  if (!Array.isArray(raw) || raw.length !== vcpus) throw invalidArgument(op, `apicIds must list one APIC ID per vCPU (${vcpus}), got ${describeValue(raw)}`);
  const ids = [...(raw as unknown[])].map((id, i) => {
    if (!x2apic && typeof id === 'number' && Number.isInteger(id) && id > XAPIC_MAX_APIC_ID) {
      throw invalidArgument(op, `apicIds[${i}] is ${id}: APIC IDs above 0xFE need x2apic: true (8-bit xAPIC IDs stop at 0xFE, 0xFF is the broadcast ID)`);
    }
    return checkInteger(op, `apicIds[${i}]`, id, 0, x2apic ? X2APIC_MAX_APIC_ID : XAPIC_MAX_APIC_ID);
  });
  if (new Set(ids).size !== ids.length) throw invalidArgument(op, `apicIds must be distinct, got ${describeValue(raw)}`);
  return Object.freeze(ids);
}

/**
 * Switches vCPU `fd` to x2APIC mode as KVM requires (`kvm_apic_set_base`): the x2APIC CPUID bit
 * first (leaf 1 ECX bit 21, KVM_SET_CPUID2; without it the EXTD bit of IA32_APIC_BASE is reserved),
 * then a host-initiated IA32_APIC_BASE write (KVM_SET_MSRS) of its current value (KVM_GET_MSRS:
 * base, BSP, EN) with EXTD set. KVM then makes the vCPU id its 32-bit x2APIC ID.
 */
function enterX2apicMode(sys: Syscalls, fd: number, id: number, op: string): void {
  const E = kvm.KVM_CPUID_ENTRY2;
  const cpuid = new Uint8Array(kvm.KVM_CPUID2.size + E.size);
  cpuid.set(packStruct(kvm.KVM_CPUID2, { nent: 1, padding: 0 }), 0);
  cpuid.set(packStruct(E, { function: 1, index: 0, flags: 0, eax: 0, ebx: 0, ecx: kvm.CPUID_1_ECX_X2APIC, edx: 0 }), kvm.KVM_CPUID2.size);
  check(calls.setCpuid2(sys, fd, cpuid), op, `ioctl(KVM_SET_CPUID2) on vCPU ${id}`);
  const msrs = new Uint8Array(kvm.KVM_MSRS.size + kvm.KVM_MSR_ENTRY.size);
  const view = new DataView(msrs.buffer);
  msrs.set(packStruct(kvm.KVM_MSRS, { nmsrs: 1, pad: 0 }), 0);
  msrs.set(packStruct(kvm.KVM_MSR_ENTRY, { index: kvm.MSR_IA32_APICBASE, reserved: 0, data: 0n }), kvm.KVM_MSRS.size);
  const dataAt = kvm.KVM_MSRS.size + kvm.KVM_MSR_ENTRY.fields.data.offset;
  const read = check(calls.getMsrs(sys, fd, msrs), op, `ioctl(KVM_GET_MSRS, IA32_APIC_BASE) on vCPU ${id}`);
  if (read !== 1) throw new VirtError('UNSUPPORTED', { operation: op, detail: `KVM_GET_MSRS read ${read} of 1 MSR (IA32_APIC_BASE) on vCPU ${id}`, hint: 'Create the partition without x2apic.' });
  const base = view.getBigUint64(dataAt, true);
  view.setBigUint64(dataAt, base | BigInt(kvm.MSR_IA32_APICBASE_EXTD | kvm.MSR_IA32_APICBASE_ENABLE), true);
  const written = check(calls.setMsrs(sys, fd, msrs), op, `ioctl(KVM_SET_MSRS, IA32_APIC_BASE) on vCPU ${id}`);
  if (written !== 1) {
    throw new VirtError('UNSUPPORTED', {
      operation: op,
      detail: `KVM refused IA32_APIC_BASE 0x${(base | BigInt(kvm.MSR_IA32_APICBASE_EXTD | kvm.MSR_IA32_APICBASE_ENABLE)).toString(16)} (x2APIC mode) on vCPU ${id}`,
      hint: 'The kernel does not accept x2APIC mode for this vCPU; create the partition without x2apic.',
    });
  }
}

/**
 * The relay worker's injector, as data: KVM_SIGNAL_MSI on the VM fd with a `struct kvm_msi` built
 * from the layout (`include/uapi/linux/kvm.h`), so the worker needs no module of this package and a
 * bundled application works.
 */
export function kvmRelayInjector(vmFd: number): IoctlInjectorSpec {
  return ioctlInjector({ fd: vmFd, ioctl: kvm.KVM_SIGNAL_MSI, layout: kvm.KVM_MSI_LAYOUT, fields: { addressLo: 'addressLo', addressHi: 'addressHi', data: 'data' } });
}

/** The guest-EOI entry point of a kernel model (`KvmKernelModel.modelGuestEoi`); the real system calls have none. */
interface ModelGuestEoi {
  modelGuestEoi(vmFd: number, vcpuId: number, vector: number): boolean;
}

function hasModelGuestEoi(sys: Syscalls): sys is Syscalls & ModelGuestEoi {
  return typeof (sys as Partial<ModelGuestEoi>).modelGuestEoi === 'function';
}

/**
 * Why kernel irqfd has no GSI for an MSI with a routing table of `entries` entries, or undefined
 * when it has one. Every pushed table keeps the {@link LEGACY_ROUTES} (40 entries for GSIs 0-23, as
 * kvm_setup_default_irq_routing installs them: a table without them drops the legacy pins), so a kernel whose
 * KVM_CAP_IRQ_ROUTING is at most that leaves nothing for MSI routes: the partition treats it as
 * KVM_CAP_IRQ_ROUTING missing (the relay with irqfd 'auto', UNSUPPORTED with 'kernel').
 */
function kernelRoutingMissing(ext: KvmExtensions, entries: number): string | undefined {
  if (ext.irqRouting <= 0) return 'KVM_CAP_IRQ_ROUTING is missing';
  if (entries <= LEGACY_ROUTES.length) {
    return `KVM_CAP_IRQ_ROUTING reports a routing table of ${entries} entries, and the ${LEGACY_ROUTES.length} legacy IOAPIC/PIC routes every table keeps leave no GSI for an MSI`;
  }
  return undefined;
}

