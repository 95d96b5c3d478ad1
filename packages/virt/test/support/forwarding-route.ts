/**
 * A route that hands every call to another route (`inner`). The test backends' route wrappers (the
 * replacing, overflow and broken routes) extend it and override only what they change, so each
 * wrapper reads as its difference from a plain route.
 */
import type { Event, IrqFdMediation, IrqFdRoute, MsiMessage } from '../../src';

export class ForwardingRoute implements IrqFdRoute {
  constructor(protected inner: IrqFdRoute) {}
  get event(): Event {
    return this.inner.event;
  }
  get msi(): MsiMessage | undefined {
    return this.inner.msi;
  }
  get masked(): boolean {
    return this.inner.masked;
  }
  get mediation(): IrqFdMediation {
    return this.inner.mediation;
  }
  get disposed(): boolean {
    return this.inner.disposed;
  }
  setMsi(address: number | bigint, data: number): void {
    this.inner.setMsi(address, data);
  }
  clearMsi(): void {
    this.inner.clearMsi();
  }
  mask(): void {
    this.inner.mask();
  }
  unmask(): void {
    this.inner.unmask();
  }
  consumePending(): boolean {
    return this.inner.consumePending();
  }
  onEventReplaced(listener: (event: Event) => void): () => void {
    return this.inner.onEventReplaced(listener);
  }
  dispose(): void {
    this.inner.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}
