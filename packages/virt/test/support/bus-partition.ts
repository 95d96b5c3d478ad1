/**
 * The Partition half of a test backend that delivers into the shared APIC bus model: everything
 * but how its irqfd works, so each test backend states only that.
 */
import { type IrqFd, type LocalApicAccess, type MsiPolicy, type Partition, type PartitionCapabilities, parseMsi } from '../../src';
import { disposedError } from '../../src/implement';
import type { ApicBus } from '../../src/testing';

export interface BusPartitionParts {
  readonly backend: string;
  readonly bus: ApicBus;
  readonly vcpuCount: number;
  readonly policy: MsiPolicy;
  readonly irqfd: IrqFd;
  readonly capabilities: PartitionCapabilities;
  /** Delivers one MSI into the bus (false when blocked or disposed). */
  readonly inject: (lo: number, hi: number, data: number) => boolean;
  readonly isDisposed: () => boolean;
  /** Idempotent. */
  readonly dispose: () => void;
}

export function busPartition(p: BusPartitionParts): Partition & LocalApicAccess {
  return {
    backend: p.backend,
    vcpuCount: p.vcpuCount,
    capabilities: p.capabilities,
    get disposed() {
      return p.isDisposed();
    },
    irqfd: () => p.irqfd,
    requestMsi(address, data) {
      if (p.isDisposed()) throw disposedError('Partition.requestMsi', `the ${p.backend} partition`);
      const m = parseMsi('Partition.requestMsi', address, data, p.policy);
      return p.inject(m.addressLo, m.addressHi, m.data);
    },
    readLocalApic: (v) => p.bus.apics[v]!.state(),
    clearIrr: (v) => p.bus.apics[v]!.clearIrr(),
    dispose: p.dispose,
    [Symbol.dispose]: p.dispose,
  };
}
