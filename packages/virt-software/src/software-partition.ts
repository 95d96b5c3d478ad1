/**
 * The software reference backend: a partition whose vCPUs are {@link LocalApicModel}s, whose
 * `requestMsi` routes by APIC ID like the hardware, and whose irqfd is the user-space relay on the
 * in-process platform (a signal on an armed route is delivered inside `signal()`).
 *
 * VMM authors use it to unit-test device models without a hypervisor.
 */
import {
  type BackendProbe,
  InProcessRelayPlatform,
  type IrqFd,
  type LocalApicAccess,
  type LocalApicState,
  type MsiPolicy,
  type Partition,
  type PartitionCapabilities,
  RelayIrqFd,
  checkInteger,
  disposedError,
  invalidArgument,
  parseMsi,
} from '@tsvmm/virt';
import { ApicBus, type LocalApicModel } from '@tsvmm/virt/testing';

export interface SoftwarePartitionOptions {
  /** vCPU count, 1 to 256. */
  readonly vcpus: number;
  /** APIC ID of each vCPU (default: its index). Distinct; up to 0xFE, or larger with `x2apic`. */
  readonly apicIds?: readonly number[];
  /** Route limit of the irqfd (default 4096), small values help test exhaustion. */
  readonly maxRoutes?: number;
  /** Accept 32-bit x2APIC destination IDs through the upper MSI address (default false). */
  readonly x2apic?: boolean;
}

const MAX_VCPUS = 256;

export class SoftwarePartition implements Partition, LocalApicAccess {
  readonly backend = 'software';
  readonly vcpuCount: number;
  readonly capabilities: PartitionCapabilities;
  private readonly bus: ApicBus;
  private readonly policy: MsiPolicy;
  private readonly relay: RelayIrqFd;
  private isDisposed = false;

  static create(options: SoftwarePartitionOptions): SoftwarePartition {
    return new SoftwarePartition(options);
  }

  private constructor(options: SoftwarePartitionOptions) {
    const op = 'SoftwarePartition.create';
    if (typeof options !== 'object' || options === null) throw invalidArgument(op, 'options must be an object');
    const vcpus = checkInteger(op, 'vcpus', options.vcpus, 1, MAX_VCPUS);
    const x2apic = options.x2apic ?? false;
    const given: unknown = options.apicIds ?? Array.from({ length: vcpus }, (_, i) => i);
    if (!Array.isArray(given) || given.length !== vcpus) throw invalidArgument(op, `apicIds must list one APIC ID per vCPU (${vcpus})`);
    const ids = (given as unknown[]).map((id, i) => checkInteger(op, `apicIds[${i}]`, id, 0, x2apic ? 0xfffffffe : 0xfe));
    if (new Set(ids).size !== ids.length) throw invalidArgument(op, 'apicIds must be distinct');
    const maxRoutes = checkInteger(op, 'maxRoutes', options.maxRoutes ?? 4096, 1, 1 << 20);
    this.vcpuCount = vcpus;
    this.bus = new ApicBus({ apicIds: ids, x2apic });
    this.policy = Object.freeze({ addressHi: x2apic ? 'x2apic-ids' : 'reject', backend: 'software' } as const);
    const inject = (lo: number, hi: number, data: number): boolean => this.inject(lo, hi, data);
    this.relay = new RelayIrqFd({
      backend: 'software',
      maxRoutes,
      policy: this.policy,
      inject,
      platform: (table) => new InProcessRelayPlatform(table, inject),
      reason: 'the software backend models the hypervisor in-process',
    });
    this.capabilities = Object.freeze({
      backend: 'software',
      irqfd: 'emulated' as const,
      irqfdReason: 'in-process model: signals are delivered inside Event.signal()',
      maxRoutes,
      resample: false,
      x2apic,
      maxVcpus: MAX_VCPUS,
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

  readLocalApic(vcpu: number): LocalApicState {
    return this.apic('readLocalApic', vcpu).state();
  }

  clearIrr(vcpu: number): void {
    this.apic('clearIrr', vcpu).clearIrr();
  }

  /** Sets the spurious-interrupt-vector software-enable bit, as a guest would. */
  setApicSoftwareEnabled(vcpu: number, enabled: boolean): void {
    this.apic('setApicSoftwareEnabled', vcpu).softwareEnabled = enabled;
  }

  /** The model of one vCPU's APIC, with counters (accepted, coalesced, nmi...), for tests. */
  localApicModel(vcpu: number): LocalApicModel {
    return this.apic('localApicModel', vcpu);
  }

  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    this.relay.dispose();
  }

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

/** The software backend is always available. */
export function probe(): BackendProbe {
  using partition = SoftwarePartition.create({ vcpus: 1 });
  return {
    backend: 'software',
    available: true,
    reason: 'Pure TypeScript model of the local APICs; always available, no hypervisor needed.',
    capabilities: partition.capabilities,
  };
}
