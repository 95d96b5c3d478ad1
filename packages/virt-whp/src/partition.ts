/**
 * A WHP partition set up for interrupts: ProcessorCount and the xAPIC emulation mode set before
 * WHvSetupPartition, one VP per vCPU with its local APIC software-enabled, `requestMsi` through
 * WHvRequestInterrupt, and irqfd on Interrupt triggers where WHvCreateTrigger and WHvDeleteTrigger
 * are exported, or else the user-space relay (one waiter thread, WHvRequestInterrupt).
 */
import { type IrqFd, type LocalApicAccess, type LocalApicState, type MsiPolicy, type Partition, type PartitionCapabilities, VirtError } from '@tsvmm/virt';
import { RelayIrqFd, checkConstructToken, checkInteger, checkOptions, describeValue, disposedError, invalidArgument, parseMsi, partitionCapabilities, readOptionsOnce } from '@tsvmm/virt/implement';
import {
  WHV_FEATURE_LOCAL_APIC_EMULATION,
  WHvCapabilityCodeFeatures,
  WHvCapabilityCodeHypervisorPresent,
  WHvPartitionPropertyCodeLocalApicEmulationMode,
  WHvPartitionPropertyCodeProcessorCount,
  WHvX64LocalApicEmulationModeX2Apic,
  WHvX64LocalApicEmulationModeXApic,
} from './abi';
import { SYSTEM_LIBRARIES, type WhpCalls, type WhpLateExport, type WhpLibraryPaths, WHP_LATE_EXPORTS, whpCalls } from './calls';
import { WHP_MSI_POLICY, interruptControl, whpX2apicMsiPolicy } from './encode';
import { WHP_IRQFD_TOKEN, WhpIrqFd } from './irqfd';
import { Win32RelayPlatform } from './relay/win32-relay-platform';
import { decodeLapicPage, withApicEnabled, withIrrCleared } from './lapic';
import type { Win32Event } from './win32-event';

/**
 * The largest APIC ID a destination reaches in an xAPIC partition: 8-bit IDs stop at 0xFE (0xFF
 * is the broadcast ID).
 */
const XAPIC_MAX_APIC_ID = 0xfe;

/** This backend's own limit for xAPIC partitions (WHP documents none): at most 64 vCPUs. */
export const WHP_MAX_VCPUS = 64;
/**
 * This backend's own limit for x2APIC partitions (WHP documents no largest ProcessorCount; a host
 * that allows fewer refuses the property with an HRESULT): at most 1024 vCPUs, so APIC IDs up to 1023.
 */
export const WHP_MAX_X2APIC_VCPUS = 1024;
/** The default of {@link WhpPartitionOptions.maxRoutes}: 1024 irqfd routes, this backend's own bound. */
export const WHP_DEFAULT_MAX_ROUTES = 1024;
/** The default of {@link WhpPartitionOptions.inFlightWaitMs}: 20 ms. */
export const WHP_DEFAULT_IN_FLIGHT_WAIT_MS = 20;

/**
 * What {@link WhpPartition.create} takes. Only `vcpus` is required; every option is checked
 * before any WHP call, INVALID_ARGUMENT otherwise.
 */
export interface WhpPartitionOptions {
  /** vCPUs (VPs), 1 to 64 ({@link WHP_MAX_VCPUS}), or to 1024 with `x2apic` ({@link WHP_MAX_X2APIC_VCPUS}). Their APIC IDs are their indexes. */
  readonly vcpus: number;
  /**
   * Set LocalApicEmulationMode to X2Apic instead of XApic (default false): 32-bit APIC IDs, so VPs
   * from 256 up are addressable. MSIs may then carry destination bits 31:8 in the upper address
   * (WHV_INTERRUPT_CONTROL.Destination is 32 bits wide), and an extended destination ID (address
   * bits 11:5) is translated to them before WHP sees it; `capabilities.maxApicId` is `vcpus - 1`.
   */
  readonly x2apic?: boolean;
  /**
   * APIC ID of each vCPU, in vCPU order. WHP does not let the VMM choose them: VP i has APIC ID i
   * (WHvCreateVirtualProcessor takes only the VP index), so the only accepted value is
   * `[0, 1, ..., vcpus-1]`; anything else is INVALID_ARGUMENT naming that limit, before any WHP call.
   * To reach APIC ID n, create n+1 vCPUs with `x2apic`.
   */
  readonly apicIds?: readonly number[];
  /** Most irqfd routes at once (1 to 65536, default 1024): this backend's own bound. */
  readonly maxRoutes?: number;
  /**
   * How long (ms, 0 to 10000, default 20) a route waits, before deleting or updating a live trigger,
   * for the hypervisor to take a signal still in flight, so that it reaches the message it was
   * raised for. Only spent while a signal is in flight.
   */
  readonly inFlightWaitMs?: number;
  /**
   * Test seam: load these libraries instead of `WinHvPlatform.dll` and `kernel32.dll`, through the
   * same declarations, on any platform (the platform check is skipped). Meant for a model of WHP
   * in tests; never needed in production.
   */
  readonly library?: WhpLibraryPaths;
}

/** Which of the late WHP exports this host has (a capability report, never a load failure). */
export type WhpExports = Readonly<Record<WhpLateExport, boolean>>;

/** Throws UNSUPPORTED unless this is Windows on x64 (WHP's Arm64 ABI differs: no Interrupt trigger type). */
export function checkWhpPlatform(operation: string, platform: string = process.platform, arch: string = process.arch): void {
  if (platform === 'win32' && arch === 'x64') return;
  throw new VirtError('UNSUPPORTED', {
    operation,
    detail:
      platform === 'win32'
        ? `WHP is unsupported on this platform (Windows on ${arch}): this backend implements the x64 ABI only`
        : `WHP is unsupported on this platform (${platform} on ${arch}): the Windows Hypervisor Platform exists only on Windows`,
    hint: 'Use the KVM or mshv backend on Linux, or run on Windows x64 with the Windows Hypervisor Platform feature enabled.',
  });
}

/** Passed by {@link WhpPartition.create} to the constructor, which is not for callers: they get no token. */
const CREATE: unique symbol = Symbol('WhpPartition.create');

/**
 * A WHP partition (`WinHvPlatform.dll`, x64) set up for interrupts: ProcessorCount and the xAPIC
 * emulation mode set before WHvSetupPartition, `vcpuCount` VPs whose local APICs are
 * software-enabled (VP i has APIC ID i), one-shot MSIs with WHvRequestInterrupt, diagnostic local
 * APIC reads with WHvGetVirtualProcessorState, and irqfd: a {@link WhpIrqFd} on Interrupt triggers
 * where WHvCreateTrigger and WHvDeleteTrigger are exported (Windows 10 20H2 and later), else the
 * user-space relay (a waiter thread and WHvRequestInterrupt). Made by {@link WhpPartition.create};
 * {@link WhpPartition.dispose} deletes every trigger, closes their events and deletes the partition.
 */
export class WhpPartition implements Partition, LocalApicAccess {
  /** Always `whp`. */
  readonly backend = 'whp';
  /** VPs created, 1 to {@link WHP_MAX_VCPUS} (or {@link WHP_MAX_X2APIC_VCPUS} with `x2apic`); their APIC IDs are 0 .. vcpuCount-1. */
  readonly vcpuCount: number;
  /**
   * What this partition offers: `irqfd` is `kernel` on Interrupt triggers (the hypervisor injects),
   * else `emulated` (the relay), with the reason in `irqfdReason`; no resample; in xAPIC mode no
   * x2APIC and `maxApicId` 0xFE, `maxVcpus` {@link WHP_MAX_VCPUS}; with the `x2apic` option
   * `x2apic` true, `maxApicId` the highest VP index (`vcpus - 1`, APIC ID = VP index) and
   * `maxVcpus` {@link WHP_MAX_X2APIC_VCPUS}.
   */
  readonly capabilities: PartitionCapabilities;
  /** The partition's LocalApicEmulationMode is X2Apic (the `x2apic` option). */
  readonly x2apic: boolean;
  /** The late exports found in the WHP library. */
  readonly exports: WhpExports;
  private readonly calls: WhpCalls;
  private readonly handle: bigint;
  private readonly irq: WhpIrqFd | RelayIrqFd;
  private readonly orphans: Array<{ trigger: bigint; event: Win32Event }> = [];
  private readonly policy: MsiPolicy;
  private isDisposed = false;

  private constructor(token: typeof CREATE, calls: WhpCalls, handle: bigint, vcpus: number, maxRoutes: number, inFlightWaitMs: number, x2apic: boolean) {
    checkConstructToken(token, CREATE, 'WhpPartition', 'WhpPartition.create()');
    this.calls = calls;
    this.handle = handle;
    this.vcpuCount = vcpus;
    this.x2apic = x2apic;
    // APIC ID = VP index, so the highest VP index is the largest APIC ID a destination can reach.
    const maxApicId = x2apic ? vcpus - 1 : XAPIC_MAX_APIC_ID;
    const policy = x2apic ? whpX2apicMsiPolicy(maxApicId) : WHP_MSI_POLICY;
    this.policy = policy;
    this.exports = Object.freeze(Object.fromEntries(WHP_LATE_EXPORTS.map((n) => [n, calls.has(n)])) as Record<WhpLateExport, boolean>);
    const triggers = calls.has('WHvCreateTrigger') && calls.has('WHvDeleteTrigger');
    const missing = WHP_LATE_EXPORTS.filter((n) => !calls.has(n));
    const noTriggers = `${calls.paths.whp} does not export ${missing.join(', ')} (Windows before 10 20H2), so there are no interrupt triggers`;
    if (triggers) {
      this.irq = new WhpIrqFd(WHP_IRQFD_TOKEN, { calls, handle, policy, orphan: (trigger, event) => this.orphans.push({ trigger, event }) }, maxRoutes, inFlightWaitMs);
    } else {
      this.irq = new RelayIrqFd({
        backend: 'whp',
        maxRoutes,
        policy,
        inject: (addressLo, addressHi, data) => {
          calls.requestInterrupt(handle, interruptControl({ addressLo, addressHi, data }));
          return true;
        },
        platform: (table) => new Win32RelayPlatform(table, { calls, library: calls.paths, partition: handle }),
        reason: noTriggers,
      });
    }
    this.capabilities = partitionCapabilities(this.irq, {
      backend: 'whp',
      irqfdReason: triggers
        ? missing.length > 0
          ? `${missing.join(', ')} is not exported: setMsi on an armed route re-creates its trigger`
          : ''
        : `${noTriggers}: a user-space relay injects with WHvRequestInterrupt`,
      resample: false,
      x2apic,
      maxApicId,
      maxVcpus: x2apic ? WHP_MAX_X2APIC_VCPUS : WHP_MAX_VCPUS,
    });
  }

  /**
   * Creates and sets up a partition with `vcpus` VPs, each local APIC software-enabled.
   * Throws INVALID_ARGUMENT for bad options (before any WHP call; among them `apicIds` other than
   * `[0, 1, ..., vcpus-1]`, since WHP gives VP i APIC ID i); UNSUPPORTED off Windows x64 (unless `library` is
   * given) or without local APIC emulation; UNAVAILABLE when WHP cannot be loaded or the
   * hypervisor is absent; HRESULT (with the code) when a WHP call fails, after deleting what was made.
   */
  static create(options: WhpPartitionOptions): WhpPartition {
    const op = 'WhpPartition.create';
    // A getter or Proxy that throws (anything, even a value that throws when converted to text) is INVALID_ARGUMENT.
    const { vcpus, x2apic, maxRoutes, inFlightWaitMs, libraryPaths } = readOptionsOnce(op, () => {
      checkOptions<WhpPartitionOptions>(op, 'options', options, ['vcpus', 'x2apic', 'apicIds', 'maxRoutes', 'library', 'inFlightWaitMs']);
      const { vcpus, x2apic: x2apicOption, apicIds, maxRoutes: maxRoutesOption, library, inFlightWaitMs: waitOption } = options;
      if (x2apicOption !== undefined && typeof x2apicOption !== 'boolean') throw invalidArgument(op, `x2apic must be a boolean, got ${describeValue(x2apicOption)}`);
      const x2apic = x2apicOption === true;
      if (!x2apic && typeof vcpus === 'number' && Number.isInteger(vcpus) && vcpus > WHP_MAX_VCPUS && vcpus <= WHP_MAX_X2APIC_VCPUS) {
        throw invalidArgument(op, `vcpus ${vcpus} needs x2apic: an xAPIC partition has at most ${WHP_MAX_VCPUS} vCPUs here (8-bit APIC IDs); with x2apic: true, up to ${WHP_MAX_X2APIC_VCPUS}`);
      }
      checkInteger(op, 'vcpus', vcpus, 1, x2apic ? WHP_MAX_X2APIC_VCPUS : WHP_MAX_VCPUS);
      if (apicIds !== undefined) checkIdentityApicIds(op, apicIds, vcpus);
      const maxRoutes = maxRoutesOption === undefined ? WHP_DEFAULT_MAX_ROUTES : checkInteger(op, 'maxRoutes', maxRoutesOption, 1, 65536);
      const inFlightWaitMs = waitOption === undefined ? WHP_DEFAULT_IN_FLIGHT_WAIT_MS : checkInteger(op, 'inFlightWaitMs', waitOption, 0, 10_000);
      let libraryPaths: WhpLibraryPaths | undefined;
      if (library !== undefined) {
        checkOptions<WhpLibraryPaths>(op, 'library', library, ['whp', 'kernel32']);
        const { whp, kernel32 } = library;
        if (typeof whp !== 'string' || whp === '' || typeof kernel32 !== 'string' || kernel32 === '') {
          throw invalidArgument(op, 'library.whp and library.kernel32 must be non-empty paths');
        }
        libraryPaths = { whp, kernel32 };
      }
      return { vcpus, x2apic, maxRoutes, inFlightWaitMs, libraryPaths };
    });
    if (libraryPaths === undefined) checkWhpPlatform(op);
    const paths = libraryPaths ?? SYSTEM_LIBRARIES;
    const calls = whpCalls(paths);
    const present = new DataView(calls.getCapability(WHvCapabilityCodeHypervisorPresent, 4).buffer).getUint32(0, true);
    if (present === 0) {
      throw new VirtError('UNAVAILABLE', {
        operation: op,
        detail: 'WHvGetCapability says the hypervisor is not present',
        hint: 'Enable the "Windows Hypervisor Platform" optional feature (and virtualization in the firmware), then restart Windows.',
      });
    }
    const features = new DataView(calls.getCapability(WHvCapabilityCodeFeatures, 8).buffer).getBigUint64(0, true);
    if ((features & WHV_FEATURE_LOCAL_APIC_EMULATION) === 0n) {
      throw new VirtError('UNSUPPORTED', {
        operation: op,
        detail: 'the hypervisor does not emulate the local APIC (WHV_CAPABILITY_FEATURES bit 1 is clear)',
        hint: 'Interrupt delivery to a local APIC needs a Windows release with LocalApicEmulation.',
      });
    }
    const handle = calls.createPartition();
    try {
      calls.setPartitionPropertyU32(handle, WHvPartitionPropertyCodeProcessorCount, vcpus);
      calls.setPartitionPropertyU32(handle, WHvPartitionPropertyCodeLocalApicEmulationMode, x2apic ? WHvX64LocalApicEmulationModeX2Apic : WHvX64LocalApicEmulationModeXApic);
      calls.setupPartition(handle);
      for (let vp = 0; vp < vcpus; vp++) {
        calls.createVirtualProcessor(handle, vp);
        calls.setLapicPage(handle, vp, withApicEnabled(calls.getLapicPage(handle, vp)));
      }
    } catch (e) {
      try {
        calls.deletePartition(handle);
      } catch {
        // Already failing; the first error is the one to report.
      }
      throw e;
    }
    try {
      return new WhpPartition(CREATE, calls, handle, vcpus, maxRoutes, inFlightWaitMs, x2apic);
    } catch (e) {
      calls.deletePartition(handle);
      throw e;
    }
  }

  /** True once {@link WhpPartition.dispose} has run. */
  get disposed(): boolean {
    return this.isDisposed;
  }

  /** Kernel-mediated routes on interrupt triggers, or (without trigger exports) the user-space relay. */
  irqfd(): IrqFd {
    return this.irq;
  }

  /**
   * Injects one MSI with WHvRequestInterrupt. Returns true when WHP accepted it (WHP does not say
   * whether the guest's APIC then blocked it). INVALID_ARGUMENT / INVALID_MSI before any call.
   */
  requestMsi(address: number | bigint, data: number): boolean {
    const op = 'WhpPartition.requestMsi';
    if (this.isDisposed) throw disposedError(op, 'the whp partition');
    const msg = parseMsi(op, address, data, this.policy);
    this.calls.requestInterrupt(this.handle, interruptControl(msg));
    return true;
  }

  /** The VP's local APIC, read with WHvGetVirtualProcessorState (InterruptControllerState2). */
  readLocalApic(vcpu: number): LocalApicState {
    const op = 'WhpPartition.readLocalApic';
    if (this.isDisposed) throw disposedError(op, 'the whp partition');
    checkInteger(op, 'vcpu', vcpu, 0, this.vcpuCount - 1);
    return decodeLapicPage(this.calls.getLapicPage(this.handle, vcpu), this.x2apic);
  }

  /** Clears the VP's IRR (read, clear, write back). Diagnostic: call it when no delivery is under way. */
  clearIrr(vcpu: number): void {
    const op = 'WhpPartition.clearIrr';
    if (this.isDisposed) throw disposedError(op, 'the whp partition');
    checkInteger(op, 'vcpu', vcpu, 0, this.vcpuCount - 1);
    this.calls.setLapicPage(this.handle, vcpu, withIrrCleared(this.calls.getLapicPage(this.handle, vcpu)));
  }

  /** Resolves once the hypervisor took every signal raised before the call (see {@link WhpIrqFd.settle}). */
  settle(): Promise<void> {
    return this.irq.settle();
  }

  /**
   * Deletes every trigger before closing its event, then the partition, then the events of
   * triggers whose own deletion had failed (deleted with the partition). Idempotent; never throws.
   */
  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    this.irq.dispose();
    try {
      this.calls.deletePartition(this.handle);
    } catch {
      try {
        this.calls.deletePartition(this.handle);
      } catch {
        // Nothing more can be done; the process exit releases it.
      }
    }
    for (const o of this.orphans.splice(0)) o.event.close();
  }

  /** {@link WhpPartition.dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * INVALID_ARGUMENT unless `apicIds` is `[0, 1, ..., vcpus-1]`: WHP gives VP i APIC ID i
 * (WHvCreateVirtualProcessor takes only the VP index), so a VMM cannot choose an APIC ID.
 */
function checkIdentityApicIds(op: string, apicIds: unknown, vcpus: number): void {
  const limit = 'WHP gives VP i APIC ID i (WHvCreateVirtualProcessor takes only a VP index), so apicIds can only be [0, 1, ..., vcpus-1]; to reach APIC ID n, create n+1 vCPUs with x2apic';
  if (!Array.isArray(apicIds)) throw invalidArgument(op, `apicIds must be an array of APIC IDs, got ${describeValue(apicIds)}`);
  const ids = apicIds as readonly unknown[];
  if (ids.length !== vcpus) throw invalidArgument(op, `apicIds has ${ids.length} entries for ${vcpus} vCPUs; ${limit}`);
  ids.forEach((id, vp) => {
    if (id !== vp) throw invalidArgument(op, `apicIds[${vp}] is ${describeValue(id)}, but VP ${vp} has APIC ID ${vp}: ${limit}`);
  });
}
