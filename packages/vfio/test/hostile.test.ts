// Whatever a guest (through a VMM) or a confused caller sends, the model answers with a result or
// -errno and never throws; the decoders in the calls module never throw on any kernel answer.
import fc from 'fast-check';
import { vfioAbi as abi, vfioCalls as calls } from '../src';
import type { VfioKernelModel } from '../src/testing';
import { modelEnv, openLegacy } from './support/targets';

const REGION = (index: number) => index * 2 ** 40;

describe('hostile region accesses on the model', () => {
  it('any region, offset and length: pread/pwrite return the length or -errno, never throw; the IDs and the MSI-X table stay intact', () => {
    const env = modelEnv();
    const m = env.model;
    const o = openLegacy(env);
    const idBefore = m.device().config.slice(0, 4);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 0x5000 }), fc.integer({ min: 0, max: 64 }), fc.boolean(), fc.uint8Array({ minLength: 64, maxLength: 64 }), (index, offset, length, write, bytes) => {
        const r = write ? m.pwrite(o.device, bytes, length, REGION(index) + offset) : m.pread(o.device, bytes, length, REGION(index) + offset);
        // A BAR access running past the BAR's end is cut there (vfio_pci_bar_rw): a short count.
        const bar = index <= 5 ? m.device().bar(index) : undefined;
        const full = bar && offset < bar.size ? Math.min(length, bar.size - offset) : length;
        expect(r === full || (r < 0 && [-5, -14, -22].includes(r))).toBe(true);
      }),
      { numRuns: 3000 },
    );
    expect(Array.from(m.device().config.subarray(0, 4))).toEqual(Array.from(idBefore));
    // The MSI-X table range reads 0xFF whatever was written (with Memory Space Enable on).
    m.pwrite(o.device, new Uint8Array([0x02, 0x00]), 2, REGION(7) + 4);
    const table = new Uint8Array(16);
    expect(m.pread(o.device, table, 16, REGION(2))).toBe(16);
    expect(Array.from(table)).toEqual(new Array(16).fill(0xff));
    o.close();
    expect(m.hazards).toEqual([]);
  });

  it('malformed ioctl arguments (short buffers, integers, nothing) on every fd kind get -errno, never a throw', () => {
    const env = modelEnv();
    const m = env.model;
    const o = openLegacy(env);
    const iommufd = m.open('/dev/iommu', 2);
    const efd = m.eventfd(0, 0);
    const fds = [o.container, o.group, o.device, iommufd, efd, 999];
    const requests = [...abi.VFIO_IOCTLS, ...abi.VFIO_CDEV_IOCTLS, ...abi.IOMMUFD_IOCTLS];
    fc.assert(
      fc.property(
        fc.constantFrom(...fds),
        fc.constantFrom(...requests),
        fc.oneof(fc.constant(undefined), fc.integer({ min: -1, max: 16 }), fc.uint8Array({ minLength: 0, maxLength: 48 })),
        (fd, request, arg) => {
          const r = m.ioctl(fd, request, arg);
          expect(Number.isInteger(r)).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
    // Nothing that the calls did can have left interrupts bound: close everything and check.
    calls.setIrqs(m, o.device, abi.VFIO_PCI_IRQ.VFIO_PCI_MSIX_IRQ_INDEX, 'trigger', 0, { none: 0 });
    calls.setIrqs(m, o.device, abi.VFIO_PCI_IRQ.VFIO_PCI_MSI_IRQ_INDEX, 'trigger', 0, { none: 0 });
    calls.setIrqs(m, o.device, abi.VFIO_PCI_IRQ.VFIO_PCI_INTX_IRQ_INDEX, 'unmask', 0, { eventfds: [-1] });
    calls.setIrqs(m, o.device, abi.VFIO_PCI_IRQ.VFIO_PCI_INTX_IRQ_INDEX, 'trigger', 0, { none: 0 });
    calls.unmapDma(m, o.container, 0n, 0n, abi.VFIO_DMA_UNMAP_FLAG_ALL);
    m.close(efd);
    m.close(iommufd);
    o.close();
    expect(m.hazards.filter((h) => !h.startsWith('an iommufd was closed'))).toEqual([]);
  });
});

describe('the decoders of the calls module on any kernel answer', () => {
  it('a region-info answer of any bytes, capability chain included, decodes without throwing', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 128 }), (answer) => {
        const sys = {
          ioctl: (_fd: number, _req: unknown, arg?: number | Uint8Array) => {
            if (arg instanceof Uint8Array) arg.set(answer.subarray(0, arg.length));
            return 0;
          },
        } as unknown as VfioKernelModel;
        const r = calls.deviceGetRegionInfo(sys, 3, 0);
        expect(typeof r === 'object' || typeof r === 'number').toBe(true);
        const i = calls.iommuGetInfo(sys, 3);
        expect(typeof i === 'object' || typeof i === 'number').toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
