/**
 * A device model with MSI-X, written against the hypervisor-neutral contract: BAR 0 holds the
 * device's own registers at 0x0-0xfff, the MSI-X table at 0x2000 and the PBA at 0x3000. Guest MMIO
 * exits are dispatched with `msix.claims()`; the capability sits at config offset 0x70.
 */
import type { Partition } from '@tsvmm/virt';
import { type IrqFdMsixRoutes, MsixEmulator, createIrqFdMsixRoutes, partitionInjector } from '@tsvmm/pci-core';

export const MSIX_CAP = 0x70;

export class ExampleDevice implements Disposable {
  readonly msix: MsixEmulator;
  private readonly routes: IrqFdMsixRoutes | undefined;
  private readonly regs = new Uint32Array(0x1000 / 4);

  constructor(partition: Partition, vectors: number) {
    this.msix = new MsixEmulator({
      vectors,
      table: { bir: 0, offset: 0x2000 },
      pba: { bir: 0, offset: 0x3000 },
      // Vectors without a route (none here) would inject through requestMsi.
      requestMsi: partitionInjector(partition),
      onError: (error, vector) => console.warn(`MSI-X vector ${vector}: ${error.message}`),
    });
    const irqfd = partition.irqfd();
    if (irqfd !== undefined) {
      // One route per vector, created in one commit; hand routes.irqfdRoutes[v].event.fd to VFIO.
      this.routes = createIrqFdMsixRoutes(irqfd, vectors);
      this.msix.setRoutes(this.routes.routes, { batch: this.routes.batch });
    }
  }

  /** The event a device back-end signals for `vector` (undefined without irqfd: use `msix.signal`). */
  eventFor(vector: number) {
    return this.routes?.irqfdRoutes[vector]?.event;
  }

  /** A guest MMIO write exit on this device's BARs. */
  mmioWrite(bar: number, offset: number, data: Uint8Array): void {
    if (this.msix.claims(bar, offset, data.length)) this.msix.write(bar, offset, data);
    else if (bar === 0 && offset + 4 <= 0x1000 && data.length === 4) this.regs[offset >>> 2] = new DataView(data.buffer, data.byteOffset).getUint32(0, true);
  }

  /** A guest MMIO read exit. */
  mmioRead(bar: number, offset: number, out: Uint8Array): void {
    out.fill(0);
    if (this.msix.claims(bar, offset, out.length)) this.msix.read(bar, offset, out);
    else if (bar === 0 && offset + 4 <= 0x1000 && out.length === 4) new DataView(out.buffer, out.byteOffset).setUint32(0, this.regs[offset >>> 2]!, true);
  }

  /** A guest config-space access that falls in the MSI-X capability. */
  configWrite(offset: number, size: number, value: number): void {
    if (offset >= MSIX_CAP && offset < MSIX_CAP + 12) this.msix.configWrite(offset - MSIX_CAP, size, value);
  }

  [Symbol.dispose](): void {
    this.msix.clearRoutes();
    this.routes?.dispose();
  }
}

/** What a Linux driver does: program each entry while masked, set Enable, unmask each. */
export function linuxDriverProgram(dev: ExampleDevice, targets: readonly { apicId: number; vector: number }[]): void {
  const le32 = (x: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, x >>> 0, true);
    return b;
  };
  targets.forEach(({ apicId, vector }, v) => {
    const entry = 0x2000 + v * 16;
    dev.mmioWrite(0, entry, le32(0xfee00000 | (apicId << 12))); // address low: physical, APIC ID
    dev.mmioWrite(0, entry + 4, le32(0)); // address high
    dev.mmioWrite(0, entry + 8, le32(vector)); // data: fixed, edge
  });
  dev.configWrite(MSIX_CAP + 2, 2, 0x8000); // Message Control: Enable
  targets.forEach((_, v) => dev.mmioWrite(0, 0x2000 + v * 16 + 12, le32(0))); // unmask
}
