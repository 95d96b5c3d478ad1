// How the VFIO model copies each ioctl struct in and out, in the kernel's order. VFIO
// (vfio_main.c, vfio_iommu_type1.c, vfio_pci_core.c): copy_from_user of `minsz` (EFAULT), then
// `argsz < minsz` (EINVAL), then copy_to_user of min(argsz, sizeof) bytes (EFAULT). iommufd
// (iommufd/main.c iommufd_fops_ioctl): get_user of `size` (EFAULT), `size < min_size` (EINVAL),
// then copy_struct_from_user (nonzero bytes past the struct: E2BIG; `size` bytes unreadable:
// EFAULT). A short buffer on a real device is memory past the buffer, not a fault, so these run on
// the model only.
import { E2BIG, EFAULT, EINVAL } from '@tsvmm/linux-sys';
import { vfioAbi as abi, vfioCalls as calls } from '../src';
import { modelEnv, ok, openLegacy } from './support/targets';

/** A buffer of `length` bytes whose first u32 (`argsz` or `size`) is `size`, and other u32s as given. */
function struct(length: number, size: number, words: Record<number, number> = {}): Uint8Array {
  const b = new Uint8Array(length);
  const v = new DataView(b.buffer);
  if (length >= 4) v.setUint32(0, size, true);
  for (const [at, w] of Object.entries(words)) v.setUint32(Number(at), w, true);
  return b;
}

function cdevEnv() {
  const env = modelEnv();
  const { sys, model } = env;
  const iommufd = ok(sys.open('/dev/iommu', 2), 'open /dev/iommu');
  const dev = ok(sys.open(model.cdevPath(), 2), 'open cdev');
  ok(calls.bindIommufd(sys, dev, iommufd), 'BIND_IOMMUFD');
  return { env, sys, iommufd, dev };
}

describe('VFIO struct copies [VFIO model only: a short buffer on a real device is not a fault]', () => {
  it('VFIO_DEVICE_GET_INFO: minsz 16 copied first (EFAULT), argsz < 16 EINVAL, then min(argsz, 24) bytes copied out (EFAULT on a shorter buffer, vfio_pci_ioctl_get_info)', () => {
    const env = modelEnv();
    using o = openLegacy(env);
    const io = (b: Uint8Array): number => env.sys.ioctl(o.device, abi.VFIO_DEVICE_GET_INFO, b);
    expect(io(struct(12, 24))).toBe(-EFAULT);
    expect(io(struct(16, 12))).toBe(-EINVAL);
    // argsz 24 over 20 bytes: the 24-byte copy_to_user faults, and nothing is written here.
    const short = struct(20, 24, { 16: 0xdead });
    expect(io(short)).toBe(-EFAULT);
    expect(new DataView(short.buffer).getUint32(16, true)).toBe(0xdead);
    const full = struct(24, 24, { 16: 0xdead, 20: 0xbeef });
    expect(io(full)).toBe(0);
    const v = new DataView(full.buffer);
    expect([v.getUint32(8, true), v.getUint32(12, true), v.getUint32(16, true), v.getUint32(20, true)]).toEqual([9, 5, 0, 0]);
    // argsz 16 over 16 bytes: only the minsz part goes out.
    expect(io(struct(16, 16))).toBe(0);
  });

  it('VFIO_IOMMU_GET_INFO: minsz 16 (EFAULT, then EINVAL); the chain or min(argsz, 24) bytes copied out fault on a shorter buffer (vfio_iommu_type1_get_info)', () => {
    const env = modelEnv();
    using o = openLegacy(env);
    const io = (b: Uint8Array): number => env.sys.ioctl(o.container, abi.VFIO_IOMMU_GET_INFO, b);
    expect(io(struct(8, 24))).toBe(-EFAULT);
    expect(io(struct(16, 8))).toBe(-EINVAL);
    // argsz 20 over 16 bytes: the 20-byte info copy faults (no exception out of the model).
    expect(io(struct(16, 20))).toBe(-EFAULT);
    const raised = struct(24, 24);
    expect(io(raised)).toBe(0);
    const need = new DataView(raised.buffer).getUint32(0, true);
    expect(need).toBeGreaterThan(24);
    // argsz big enough for the chain over a buffer that is not: the chain's copy_to_user faults.
    const short = struct(need - 8, need);
    expect(io(short)).toBe(-EFAULT);
    expect(new DataView(short.buffer).getUint32(4, true)).toBe(0);
    expect(io(struct(need, need))).toBe(0);
  });

  it('VFIO_GROUP_GET_STATUS and VFIO_DEVICE_DETACH_IOMMUFD_PT: minsz 8 copied first (EFAULT), then argsz < 8 (EINVAL)', () => {
    const env = modelEnv();
    using o = openLegacy(env);
    expect(env.sys.ioctl(o.group, abi.VFIO_GROUP_GET_STATUS, struct(4, 8))).toBe(-EFAULT);
    expect(env.sys.ioctl(o.group, abi.VFIO_GROUP_GET_STATUS, struct(8, 4))).toBe(-EINVAL);
    const status = struct(8, 8);
    expect(env.sys.ioctl(o.group, abi.VFIO_GROUP_GET_STATUS, status)).toBe(0);
    expect(new DataView(status.buffer).getUint32(4, true)).toBe(abi.VFIO_GROUP_FLAGS_VIABLE | abi.VFIO_GROUP_FLAGS_CONTAINER_SET);
    const c = cdevEnv();
    expect(c.sys.ioctl(c.dev, abi.VFIO_DEVICE_DETACH_IOMMUFD_PT, struct(4, 8))).toBe(-EFAULT);
    expect(c.sys.ioctl(c.dev, abi.VFIO_DEVICE_DETACH_IOMMUFD_PT, struct(8, 4))).toBe(-EINVAL);
    expect(c.sys.ioctl(c.dev, abi.VFIO_DEVICE_DETACH_IOMMUFD_PT, struct(8, 8, { 4: 1 }))).toBe(-EINVAL);
    expect(c.sys.ioctl(c.dev, abi.VFIO_DEVICE_DETACH_IOMMUFD_PT, struct(8, 8))).toBe(0);
    c.sys.close(c.dev);
    c.sys.close(c.iommufd);
  });
});

describe('iommufd struct copies, iommufd_fops_ioctl\'s order [VFIO model only: this host has no /dev/iommu]', () => {
  it('get_user of size first: under 4 bytes EFAULT; a size below min_size EINVAL even over a buffer shorter than min_size', () => {
    const { sys, iommufd, dev } = cdevEnv();
    for (const [req, min] of [[abi.IOMMU_DESTROY, 8], [abi.IOMMU_IOAS_ALLOC, 12], [abi.IOMMU_IOAS_MAP, 40], [abi.IOMMU_IOAS_UNMAP, 24]] as const) {
      expect({ req: req.name, r: sys.ioctl(iommufd, req, new Uint8Array(3)) }).toEqual({ req: req.name, r: -EFAULT });
      expect({ req: req.name, r: sys.ioctl(iommufd, req, struct(4, min - 4)) }).toEqual({ req: req.name, r: -EINVAL });
      // A size that passes, over a buffer shorter than it: copy_struct_from_user faults.
      expect({ req: req.name, r: sys.ioctl(iommufd, req, struct(min - 4, min)) }).toEqual({ req: req.name, r: -EFAULT });
    }
    sys.close(dev);
    sys.close(iommufd);
  });

  it('a size past the struct: the extra bytes must be zero (E2BIG, nothing allocated) and readable (EFAULT); zero extra bytes are accepted', () => {
    const { env, sys, iommufd, dev } = cdevEnv();
    expect(sys.ioctl(iommufd, abi.IOMMU_IOAS_ALLOC, struct(16, 16, { 12: 1 }))).toBe(-E2BIG);
    expect(sys.ioctl(iommufd, abi.IOMMU_IOAS_ALLOC, struct(12, 16))).toBe(-EFAULT);
    const alloc = struct(16, 16);
    expect(sys.ioctl(iommufd, abi.IOMMU_IOAS_ALLOC, alloc)).toBe(0);
    const ioas = new DataView(alloc.buffer).getUint32(8, true);
    // The refused calls made no IOAS: the first one allocated has the id a plain call would get first.
    const fresh = cdevEnv();
    expect(ioas).toBe(ok(calls.ioasAlloc(fresh.sys, fresh.iommufd), 'IOAS_ALLOC'));
    const map = struct(48, 48, { 4: abi.IOMMU_IOAS_MAP_FIXED_IOVA | abi.IOMMU_IOAS_MAP_READABLE, 8: ioas, 24: 0x1000, 44: 1 });
    expect(sys.ioctl(iommufd, abi.IOMMU_IOAS_MAP, map)).toBe(-E2BIG);
    expect(env.model.mappings(iommufd, ioas)).toHaveLength(0);
    expect(sys.ioctl(iommufd, abi.IOMMU_DESTROY, struct(12, 12, { 4: ioas, 8: 1 }))).toBe(-E2BIG);
    expect(sys.ioctl(iommufd, abi.IOMMU_DESTROY, struct(12, 12, { 4: ioas }))).toBe(0);
    sys.close(dev);
    sys.close(iommufd);
  });
});
