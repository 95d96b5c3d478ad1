import { existsSync, readFileSync } from 'node:fs';
import * as abi from '../src/abi';
import { describeCCheck, requestNumbers } from '@tsvmm/ffi/testing';

const VFIO_HEADER = '/usr/include/linux/vfio.h';
const IOMMUFD_HEADER = '/usr/include/linux/iommufd.h';
/** The cdev ioctls and layouts arrived with Linux 6.6's header; older installed headers lack them. */
const HEADER_HAS_CDEV = existsSync(VFIO_HEADER) && readFileSync(VFIO_HEADER, 'utf8').includes('struct vfio_device_bind_iommufd');
const HEADER_HAS_IOMMUFD = existsSync(IOMMUFD_HEADER);

describeCCheck(
  'the VFIO ABI definitions match the installed <linux/vfio.h> (compiled with cc)',
  { headers: ['linux/vfio.h'], layouts: abi.VFIO_LAYOUTS, ioctls: abi.VFIO_IOCTLS, constants: abi.VFIO_CONSTANTS },
  { atLeast: 120 },
);

test('the numbers in the interface page\'s table (docs/interfaces/vfio.md, ioctls)', () => {
  expect(requestNumbers([...abi.VFIO_IOCTLS, ...abi.VFIO_CDEV_IOCTLS, ...abi.IOMMUFD_IOCTLS])).toMatchObject({
    VFIO_GET_API_VERSION: 0x3b64,
    VFIO_GROUP_GET_DEVICE_FD: 0x3b6a,
    VFIO_DEVICE_SET_IRQS: 0x3b6e,
    VFIO_IOMMU_UNMAP_DMA: 0x3b72,
    VFIO_DEVICE_BIND_IOMMUFD: 0x3b76,
    VFIO_DEVICE_ATTACH_IOMMUFD_PT: 0x3b77,
    VFIO_DEVICE_DETACH_IOMMUFD_PT: 0x3b78,
    IOMMU_DESTROY: 0x3b80,
    IOMMU_IOAS_ALLOC: 0x3b81,
    IOMMU_IOAS_IOVA_RANGES: 0x3b84,
    IOMMU_IOAS_MAP: 0x3b85,
    IOMMU_IOAS_UNMAP: 0x3b86,
  });
});

describeCCheck(
  'the cdev ABI definitions match <linux/vfio.h> (Linux 6.6 header)',
  { headers: ['linux/vfio.h'], layouts: abi.VFIO_CDEV_LAYOUTS, ioctls: abi.VFIO_CDEV_IOCTLS },
  {
    unavailable: HEADER_HAS_CDEV
      ? undefined
      : `${VFIO_HEADER} predates Linux 6.6 (no struct vfio_device_bind_iommufd): the cdev layouts and ioctls are checked only against the reference's sizes here. Install a linux-libc-dev of 6.6 or later (Debian bookworm-backports) to check them.`,
  },
);

describeCCheck(
  'the iommufd ABI definitions match <linux/iommufd.h>',
  { headers: ['linux/iommufd.h'], layouts: abi.IOMMUFD_LAYOUTS, ioctls: abi.IOMMUFD_IOCTLS, constants: abi.IOMMUFD_CONSTANTS },
  {
    unavailable: HEADER_HAS_IOMMUFD
      ? undefined
      : `${IOMMUFD_HEADER} is not installed (linux-libc-dev before 6.2): the iommufd layouts and ioctls are checked only against the reference's sizes here. Install a linux-libc-dev of 6.2 or later (Debian bookworm-backports) to check them.`,
  },
);

describe('the cdev and iommufd sizes the interface page gives (docs/interfaces/vfio.md, Layouts), where no header can check them', () => {
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
