import { existsSync, readFileSync } from 'node:fs';
import * as abi from '../src/abi';
import { generateCCheck, runCCheck } from '@tsvmm/ffi';

const VFIO_HEADER = '/usr/include/linux/vfio.h';
const IOMMUFD_HEADER = '/usr/include/linux/iommufd.h';
/** The cdev ioctls and layouts arrived with Linux 6.6's header; older installed headers lack them. */
const HEADER_HAS_CDEV = existsSync(VFIO_HEADER) && readFileSync(VFIO_HEADER, 'utf8').includes('struct vfio_device_bind_iommufd');
const HEADER_HAS_IOMMUFD = existsSync(IOMMUFD_HEADER);

describe('the VFIO ABI definitions match the installed <linux/vfio.h> (compiled with cc)', () => {
  it('every VFIO size, offset, member width, ioctl number and constant', () => {
    const check = generateCCheck({ headers: ['linux/vfio.h'], layouts: abi.VFIO_LAYOUTS, ioctls: abi.VFIO_IOCTLS, constants: abi.VFIO_CONSTANTS });
    expect(runCCheck(check)).toEqual(check.expected);
    expect(check.expected.filter((l) => l.startsWith('ioctl ')).length).toBe(abi.VFIO_IOCTLS.length);
    expect(check.expected.length).toBeGreaterThan(120);
  });

  it('a wrong definition is caught', () => {
    const wrongSize = { ...abi.VFIO_REGION_INFO, size: 24 };
    const s = generateCCheck({ headers: ['linux/vfio.h'], layouts: [wrongSize], ioctls: [] });
    expect(runCCheck(s)).not.toEqual(s.expected);
    const wrongIoctl = generateCCheck({ headers: ['linux/vfio.h'], layouts: [], ioctls: [{ name: 'VFIO_DEVICE_SET_IRQS', request: abi.VFIO_DEVICE_GET_IRQ_INFO.request }] });
    expect(runCCheck(wrongIoctl)).not.toEqual(wrongIoctl.expected);
  });

  it('the numbers in the reference table (vfio.md §1)', () => {
    expect(abi.VFIO_GET_API_VERSION.request).toBe(0x3b64);
    expect(abi.VFIO_GROUP_GET_DEVICE_FD.request).toBe(0x3b6a);
    expect(abi.VFIO_DEVICE_SET_IRQS.request).toBe(0x3b6e);
    expect(abi.VFIO_IOMMU_UNMAP_DMA.request).toBe(0x3b72);
    expect(abi.VFIO_DEVICE_BIND_IOMMUFD.request).toBe(0x3b76);
    expect(abi.VFIO_DEVICE_ATTACH_IOMMUFD_PT.request).toBe(0x3b77);
    expect(abi.VFIO_DEVICE_DETACH_IOMMUFD_PT.request).toBe(0x3b78);
    expect(abi.IOMMU_DESTROY.request).toBe(0x3b80);
    expect(abi.IOMMU_IOAS_ALLOC.request).toBe(0x3b81);
    expect(abi.IOMMU_IOAS_IOVA_RANGES.request).toBe(0x3b84);
    expect(abi.IOMMU_IOAS_MAP.request).toBe(0x3b85);
    expect(abi.IOMMU_IOAS_UNMAP.request).toBe(0x3b86);
  });
});

const cdevReason = `${VFIO_HEADER} predates Linux 6.6 (no struct vfio_device_bind_iommufd): the cdev layouts and ioctls are checked only against the reference's sizes here. Install a linux-libc-dev of 6.6 or later (Debian bookworm-backports) to check them.`;
const iommufdReason = `${IOMMUFD_HEADER} is not installed (linux-libc-dev before 6.2): the iommufd layouts and ioctls are checked only against the reference's sizes here. Install a linux-libc-dev of 6.2 or later (Debian bookworm-backports) to check them.`;

(HEADER_HAS_CDEV ? describe : describe.skip)('the cdev ABI definitions match <linux/vfio.h> (Linux 6.6 header)', () => {
  it('every cdev size, offset, width and ioctl number', () => {
    const check = generateCCheck({ headers: ['linux/vfio.h'], layouts: abi.VFIO_CDEV_LAYOUTS, ioctls: abi.VFIO_CDEV_IOCTLS });
    expect(runCCheck(check)).toEqual(check.expected);
  });
});
if (!HEADER_HAS_CDEV) process.stderr.write(`SKIPPED "the cdev ABI definitions match <linux/vfio.h>": ${cdevReason}\n`);

(HEADER_HAS_IOMMUFD ? describe : describe.skip)('the iommufd ABI definitions match <linux/iommufd.h>', () => {
  it('every iommufd size, offset, width, ioctl number and constant', () => {
    const check = generateCCheck({ headers: ['linux/iommufd.h'], layouts: abi.IOMMUFD_LAYOUTS, ioctls: abi.IOMMUFD_IOCTLS, constants: abi.IOMMUFD_CONSTANTS });
    expect(runCCheck(check)).toEqual(check.expected);
  });
});
if (!HEADER_HAS_IOMMUFD) process.stderr.write(`SKIPPED "the iommufd ABI definitions match <linux/iommufd.h>": ${iommufdReason}\n`);

describe('the cdev and iommufd sizes the reference gives (vfio.md §2), where no header can check them', () => {
  it('sizes and the offsets of every field', () => {
    const shape = (l: { size: number; fields: Record<string, { offset: number }> }) => [l.size, Object.values(l.fields).map((f) => f.offset)];
    expect(shape(abi.VFIO_DEVICE_BIND_IOMMUFD_LAYOUT)).toEqual([16, [0, 4, 8, 12]]);
    expect(shape(abi.VFIO_DEVICE_ATTACH_IOMMUFD_PT_LAYOUT)).toEqual([12, [0, 4, 8]]);
    expect(shape(abi.VFIO_DEVICE_DETACH_IOMMUFD_PT_LAYOUT)).toEqual([8, [0, 4]]);
    expect(shape(abi.IOMMU_DESTROY_LAYOUT)).toEqual([8, [0, 4]]);
    expect(shape(abi.IOMMU_IOAS_ALLOC_LAYOUT)).toEqual([12, [0, 4, 8]]);
    expect(shape(abi.IOMMU_IOAS_MAP_LAYOUT)).toEqual([40, [0, 4, 8, 12, 16, 24, 32]]);
    expect(shape(abi.IOMMU_IOAS_UNMAP_LAYOUT)).toEqual([24, [0, 4, 8, 16]]);
    expect(shape(abi.IOMMU_IOAS_IOVA_RANGES_LAYOUT)).toEqual([32, [0, 4, 8, 12, 16, 24]]);
    expect(shape(abi.IOMMU_IOVA_RANGE)).toEqual([16, [0, 8]]);
  });
});
