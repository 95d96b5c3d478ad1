/**
 * An `IrqFdRoute` that records every call made on it (`log`) and parses the MSI it is given as an
 * x2APIC-capable backend would: what the adapters hand a route, seen without a hypervisor.
 */
import { type IrqFdRoute, type MsiMessage, parseMsi } from '@tsvmm/virt';
import { InProcessEvent } from '@tsvmm/virt/implement';

export class StubRoute implements IrqFdRoute {
  // A counter event: a signal the adapter forwards shows in consume().
  event = new InProcessEvent();
  msi: MsiMessage | undefined;
  masked = true;
  readonly mediation = 'kernel' as const;
  disposed = false;
  log: unknown[][] = [];
  setMsi(address: number | bigint, data: number): void {
    this.log.push(['setMsi', address, data]);
    this.msi = parseMsi('stub', address, data, { addressHi: 'x2apic-ids', backend: 'stub' });
  }
  clearMsi(): void {
    this.log.push(['clearMsi']);
  }
  mask(): void {
    this.log.push(['mask']);
  }
  unmask(): void {
    this.log.push(['unmask']);
  }
  consumePending(): boolean {
    this.log.push(['consumePending']);
    return true;
  }
  onEventReplaced(): () => void {
    return () => undefined;
  }
  dispose(): void {
    this.disposed = true;
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}
