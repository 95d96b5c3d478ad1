/**
 * The software reference backend: a partition whose vCPUs are {@link LocalApicModel}s, whose
 * `requestMsi` routes by APIC ID like the hardware, and whose irqfd is the user-space relay on the
 * in-process platform (a signal on an armed route is delivered inside `signal()`).
 *
 * VMM authors use it to unit-test device models without a hypervisor.
 */
import {
  type BackendProbe,
  type Event,
  type GuestEoiAccess,
  type IoApicAccess,
  type IoApicRedirection,
  type IoApicState,
  type LevelIrqFdRoute,
  type IrqFd,
  type LocalApicAccess,
  type LocalApicState,
  type MsiPolicy,
  type Partition,
  type PartitionCapabilities,
} from '@tsvmm/virt';
import {
  InProcessEvent,
  InProcessRelayPlatform,
  LevelRouteTable,
  RelayIrqFd,
  checkBoolean,
  checkConstructToken,
  checkInteger,
  checkOptions,
  describeValue,
  disposedError,
  invalidArgument,
  parseMsi,
  partitionCapabilities,
} from '@tsvmm/virt/implement';
import { ApicBus, IoApicModel, type LocalApicModel } from '@tsvmm/virt/testing';

/** What {@link SoftwarePartition.create} takes. Each option is read once; a bad one is INVALID_ARGUMENT. */
export interface SoftwarePartitionOptions {
  /**
   * vCPU count: 1 to 255, or 1 to 256 with `x2apic`. (xAPIC IDs run 0 to 0xFE, 0xFF being the
   * broadcast destination, so 256 distinct addressable vCPUs need 32-bit x2APIC IDs.)
   */
  readonly vcpus: number;
  /** APIC ID of each vCPU (default: its index). Distinct; up to 0xFE, or larger with `x2apic`. */
  readonly apicIds?: readonly number[];
  /** Route limit of the irqfd (default 4096), small values help test exhaustion. */
  readonly maxRoutes?: number;
  /**
   * Accept 32-bit x2APIC destination IDs through the upper MSI address, and the paravirtual
   * extended destination ID (address bits 11:5, translated as the hypervisor backends do), with
   * `capabilities.maxApicId` 0xFFFFFFFE; default false (8-bit IDs, `maxApicId` 0xFE).
   */
  readonly x2apic?: boolean;
}

/** Most vCPUs: 255 addressable xAPIC IDs (0-0xFE), or 256 with x2APIC IDs. */
const MAX_VCPUS_XAPIC = 255;
const MAX_VCPUS_X2APIC = 256;
/**
 * The largest APIC ID a physical destination names: 8-bit xAPIC IDs stop at 0xFE (0xFF
 * broadcasts), 32-bit x2APIC IDs at 0xFFFFFFFE (0xFFFFFFFF broadcasts; Intel SDM, "x2APIC ID").
 */
const MAX_APIC_ID_XAPIC = 0xfe;
const MAX_APIC_ID_X2APIC = 0xfffffffe;

/**
 * The source id a level route asserts its pin with: KVM's `KVM_IRQFD_RESAMPLE_IRQ_SOURCE_ID`, the
 * one source every resample irqfd on a GSI shares (`virt/kvm/eventfd.c`).
 */
const RESAMPLE_SOURCE = 1;

/** Passed by {@link SoftwarePartition.create} to the constructor, which is not for callers: they get no token. */
const CREATE: unique symbol = Symbol('SoftwarePartition.create');

/**
 * A partition with no hypervisor: each vCPU is a {@link LocalApicModel} on one interrupt bus,
 * `requestMsi` delivers through the bus by APIC ID, and `irqfd()` is the user-space relay on the
 * in-process platform, so a signal on an armed route is delivered inside `event.signal()`.
 * Passes the whole irqfd conformance suite.
 *
 * Level-triggered routes (`irqfd().newLevelRoute(gsi)`, `capabilities.resample` true) drive the
 * pins of an IOAPIC model (the one `@tsvmm/virt/testing` shares with the KVM kernel model): a test
 * programs a pin as the guest would ({@link SoftwarePartition.writeRedirection}), reads it back
 * ({@link SoftwarePartition.readIoApic}), and plays the guest's EOI ({@link SoftwarePartition.eoi}).
 */
export class SoftwarePartition implements Partition, LocalApicAccess, IoApicAccess, GuestEoiAccess {
  /** Always `software`. */
  readonly backend = 'software';
  readonly vcpuCount: number;
  readonly capabilities: PartitionCapabilities;
  private readonly bus: ApicBus;
  private readonly policy: MsiPolicy;
  private readonly relay: RelayIrqFd;
  private readonly ioapic: IoApicModel;
  private readonly levels: LevelRouteTable;
  private isDisposed = false;

  /**
   * A new partition with every vCPU's APIC software-enabled. INVALID_ARGUMENT for a bad option
   * (vCPU count out of range, 256 vCPUs without `x2apic`, APIC IDs missing, repeated or too large,
   * `maxRoutes` outside 1 to 2^20), before anything is created.
   */
  static create(options: SoftwarePartitionOptions): SoftwarePartition {
    return new SoftwarePartition(CREATE, options);
  }

  private constructor(token: typeof CREATE, options: SoftwarePartitionOptions) {
    checkConstructToken(token, CREATE, 'SoftwarePartition', 'SoftwarePartition.create()');
    const op = 'SoftwarePartition.create';
    // Each option is read exactly once, validated, and only the copies are used afterwards.
    const o = checkOptions<Partial<Record<keyof SoftwarePartitionOptions, unknown>>>(op, 'options', options, ['vcpus', 'apicIds', 'maxRoutes', 'x2apic']);
    const rawVcpus = o.vcpus;
    const rawApicIds = o.apicIds;
    const rawMaxRoutes = o.maxRoutes;
    const x2apic = checkBoolean(op, 'x2apic', o.x2apic, false);
    const maxVcpus = x2apic ? MAX_VCPUS_X2APIC : MAX_VCPUS_XAPIC;
    if (rawVcpus === MAX_VCPUS_X2APIC && !x2apic) {
      throw invalidArgument(op, `vcpus 256 needs x2apic: true (xAPIC IDs 0-0xFE address at most ${MAX_VCPUS_XAPIC} vCPUs; 0xFF is the broadcast ID)`);
    }
    const vcpus = checkInteger(op, 'vcpus', rawVcpus, 1, maxVcpus);
    const given: unknown = rawApicIds === undefined ? Array.from({ length: vcpus }, (_, i) => i) : Array.isArray(rawApicIds) ? [...(rawApicIds as unknown[])] : rawApicIds;
    if (!Array.isArray(given) || given.length !== vcpus) throw invalidArgument(op, `apicIds must list one APIC ID per vCPU (${vcpus}), got ${describeValue(rawApicIds)}`);
    const maxApicId = x2apic ? MAX_APIC_ID_X2APIC : MAX_APIC_ID_XAPIC;
    const ids = (given as unknown[]).map((id, i) => checkInteger(op, `apicIds[${i}]`, id, 0, maxApicId));
    if (new Set(ids).size !== ids.length) throw invalidArgument(op, 'apicIds must be distinct');
    const maxRoutes = checkInteger(op, 'maxRoutes', rawMaxRoutes === undefined ? 4096 : rawMaxRoutes, 1, 1 << 20);
    this.vcpuCount = vcpus;
    this.bus = new ApicBus({ apicIds: ids, x2apic });
    // With x2APIC the model offers the guest the extended destination ID as well, translated like
    // the hypervisor backends do; without it, both are refused (typed) before anything is delivered.
    this.policy = Object.freeze(
      x2apic ? ({ addressHi: 'x2apic-ids', extendedDestinationId: 'translate', maxApicId, backend: 'software' } as const) : ({ addressHi: 'reject', maxApicId, backend: 'software' } as const),
    );
    const inject = (lo: number, hi: number, data: number): boolean => this.inject(lo, hi, data);
    const levelRoutes = new Map<number, SoftwareLevelRoute>();
    this.ioapic = new IoApicModel(this.bus, {
      acked: (pin) => levelRoutes.get(pin)?.acked(),
      notifyResampler: (pin) => levelRoutes.get(pin)?.notify() ?? false,
    });
    this.levels = new LevelRouteTable('the software partition', (gsi, release) => {
      const route = new SoftwareLevelRoute(gsi, this.ioapic, () => {
        levelRoutes.delete(gsi);
        release();
      });
      levelRoutes.set(gsi, route);
      return route;
    });
    this.relay = new RelayIrqFd({
      levelRoutes: this.levels,
      backend: 'software',
      maxRoutes,
      policy: this.policy,
      inject,
      platform: (table) => new InProcessRelayPlatform(table, inject),
      reason: 'the software backend models the hypervisor in-process',
    });
    this.capabilities = partitionCapabilities(this.relay, {
      backend: 'software',
      irqfdReason: 'in-process model: signals are delivered inside Event.signal()',
      resample: true,
      x2apic,
      maxApicId,
      maxVcpus,
    });
  }

  get disposed(): boolean {
    return this.isDisposed;
  }

  irqfd(): IrqFd | undefined {
    return this.relay;
  }

  requestMsi(address: number | bigint, data: number): boolean {
    const op = 'Partition.requestMsi';
    if (this.isDisposed) throw disposedError(op, 'the software partition');
    const msg = parseMsi(op, address, data, this.policy);
    return this.inject(msg.addressLo, msg.addressHi, msg.data);
  }

  /** vCPU `vcpu`'s APIC ID, IRR, ISR and TMR vectors and software enable. INVALID_ARGUMENT for a vCPU out of range; DISPOSED after dispose. */
  readLocalApic(vcpu: number): LocalApicState {
    const apic = this.apic('readLocalApic', vcpu);
    return { ...apic.state(), tmr: apic.tmrVectors() };
  }

  /** Clears every IRR bit of `vcpu`. INVALID_ARGUMENT for a vCPU out of range; DISPOSED after dispose. */
  clearIrr(vcpu: number): void {
    this.apic('clearIrr', vcpu).clearIrr();
  }

  /**
   * Sets the spurious-interrupt-vector software-enable bit, as a guest would; while it is clear,
   * fixed and lowest-priority messages to this vCPU are refused (`requestMsi` returns false).
   * INVALID_ARGUMENT for a vCPU out of range or a non-boolean; DISPOSED after dispose.
   */
  setApicSoftwareEnabled(vcpu: number, enabled: boolean): void {
    const apic = this.apic('setApicSoftwareEnabled', vcpu);
    apic.softwareEnabled = checkBoolean('SoftwarePartition.setApicSoftwareEnabled', 'enabled', enabled);
  }

  /**
   * The model of one vCPU's APIC, with counters (accepted, coalesced, nmi...), for tests; live,
   * not a copy. INVALID_ARGUMENT for a vCPU out of range; DISPOSED after dispose.
   */
  localApicModel(vcpu: number): LocalApicModel {
    return this.apic('localApicModel', vcpu);
  }

  /**
   * The IOAPIC model's 24 pins: redirection entry, remote IRR, and whether the line is asserted.
   * DISPOSED after dispose.
   */
  readIoApic(): IoApicState {
    this.live('SoftwarePartition.readIoApic');
    return this.ioapic.state();
  }

  /**
   * Programs IOAPIC pin `pin` (0-23) as a guest write would (remote IRR kept; unmasking a level
   * pin with a latched request signals its level route's resample event, as current kernels do).
   * INVALID_ARGUMENT for a bad pin or entry, before anything changes; DISPOSED after dispose.
   */
  writeRedirection(pin: number, entry: IoApicRedirection): void {
    this.live('SoftwarePartition.writeRedirection');
    this.ioapic.writeRedirection(pin, entry);
  }

  /**
   * The guest's EOI of `vector` on vCPU `vcpu`: the vector leaves IRR and ISR; when it was
   * level-triggered, the IOAPIC pins delivering it are acknowledged (a level route on them
   * deasserts and signals its resample event), their remote IRR is cleared, and a pin still
   * asserted delivers again. False when the vector was neither requested nor in service there.
   * INVALID_ARGUMENT for a vCPU or vector out of range; DISPOSED after dispose.
   */
  eoi(vcpu: number, vector: number): boolean {
    const apic = this.apic('eoi', vcpu);
    checkInteger('SoftwarePartition.eoi', 'vector', vector, 0, 255);
    return this.ioapic.guestEoi(apic, vector);
  }

  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    this.relay.dispose();
  }

  private live(op: string): void {
    if (this.isDisposed) throw disposedError(op, 'the software partition');
  }

  /** Same as `dispose()`. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  private apic(method: string, vcpu: number): LocalApicModel {
    const op = `SoftwarePartition.${method}`;
    if (this.isDisposed) throw disposedError(op, 'the software partition');
    return this.bus.apics[checkInteger(op, 'vcpu', vcpu, 0, this.vcpuCount - 1)]!;
  }

  /** Routes a validated message through the shared interrupt-bus model. */
  private inject(addressLo: number, addressHi: number, data: number): boolean {
    if (this.isDisposed) return false;
    return this.bus.deliver(addressLo, addressHi, data);
  }
}

/**
 * A level route of the software backend: its event asserts pin `gsi` of the IOAPIC model (under
 * the resample source), the model's acknowledgement deasserts it and signals `resample`.
 */
class SoftwareLevelRoute implements LevelIrqFdRoute {
  readonly event: Event;
  readonly resample: Event;
  private readonly trigger = new InProcessEvent();
  private readonly resampleEvent = new InProcessEvent();
  private isDisposed = false;

  constructor(
    readonly gsi: number,
    private readonly ioapic: IoApicModel,
    private readonly release: () => void,
  ) {
    this.event = this.trigger;
    this.resample = this.resampleEvent;
    // As a kernel irqfd: each signal is drained and asserts the line (irqfd_inject), inside signal().
    this.trigger.onSignal(() => {
      this.trigger.consume();
      if (!this.isDisposed) this.ioapic.setIrq(this.gsi, RESAMPLE_SOURCE, true);
    });
  }

  get disposed(): boolean {
    return this.isDisposed;
  }

  /** `irqfd_resampler_ack`: deassert, then signal the resample event. */
  acked(): void {
    if (this.isDisposed) return;
    this.ioapic.setIrq(this.gsi, RESAMPLE_SOURCE, false);
    if (!this.resampleEvent.disposed) this.resampleEvent.signal();
  }

  /** `kvm_notify_irqfd_resampler`: signal the resample event, the line left as it is. */
  notify(): boolean {
    if (this.isDisposed) return false;
    if (!this.resampleEvent.disposed) this.resampleEvent.signal();
    return true;
  }

  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    // irqfd_resampler_shutdown: the last resampler of a GSI leaving deasserts it.
    this.ioapic.setIrq(this.gsi, RESAMPLE_SOURCE, false);
    this.trigger.dispose();
    this.resampleEvent.dispose();
    this.release();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * The software backend is always available; `capabilities` describe a 1-vCPU xAPIC partition and
 * `x2apicPartition` what `x2apic: true` reaches (any APIC ID up to 0xFFFFFFFE, on up to 256 vCPUs).
 */
export function probe(): BackendProbe {
  using partition = SoftwarePartition.create({ vcpus: 1 });
  return {
    backend: 'software',
    available: true,
    code: 'ok',
    reason: 'Pure TypeScript model of the local APICs; always available, no hypervisor needed.',
    capabilities: partition.capabilities,
    x2apicPartition: {
      available: true,
      maxApicId: MAX_APIC_ID_X2APIC,
      reason: `x2apic: true gives 32-bit APIC IDs: any up to ${MAX_APIC_ID_X2APIC} (0xFFFFFFFE; 0xFFFFFFFF is the broadcast ID), on up to ${MAX_VCPUS_X2APIC} vCPUs.`,
    },
  };
}
