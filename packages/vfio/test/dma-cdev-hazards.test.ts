// Type1 DMA mapping (docs/interfaces/vfio.md, "DMA mapping"), the cdev + iommufd path ("Opening a device"), the model's hazards and its option
// checks. DMA on a real device needs the process address of memory the kernel can pin (guest RAM
// from mmap), which this package does not allocate yet: those tests run on the model only, and say
// so in their titles.
import { isVirtError } from '@tsvmm/virt';
import { EBADF, EBUSY, EEXIST, EINVAL, ENOENT, ENOSPC } from '@tsvmm/linux-sys';
import { checkVfioSyscalls, vfioAbi as abi, vfioCalls as calls } from '../src';
import { VfioKernelModel } from '../src/testing';
import { describeOnTargets, eventfd, modelEnv, ok, openLegacy } from './support/targets';

const MiB = 0x10_0000n;
/** EBADFD (x86_64 asm-generic/errno.h), not among linux-sys's errno names. */
const EBADFD = 77;
/** VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION (vfio.h), a capability the package does not decode. */
const CAP_MIGRATION = 2;

describeOnTargets('type1 container answers that need no mapping', (target) => {
  it('IOMMU_GET_INFO with argsz 16 or 20: CAPS set and argsz raised to the whole chain; the chain is MIGRATION, DMA_AVAIL, IOVA_RANGE (vfio_iommu_type1_get_info)', () => {
    const env = target.create();
    using o = openLegacy(env);
    let need = 0;
    for (const argsz of [16, 20]) {
      const raw = new Uint8Array(24);
      new DataView(raw.buffer).setUint32(0, argsz, true);
      expect(env.sys.ioctl(o.container, abi.VFIO_IOMMU_GET_INFO, raw)).toBe(0);
      const v = new DataView(raw.buffer);
      expect(v.getUint32(4, true) & (abi.VFIO_IOMMU_INFO_PGSIZES | abi.VFIO_IOMMU_INFO_CAPS)).toBe(abi.VFIO_IOMMU_INFO_PGSIZES | abi.VFIO_IOMMU_INFO_CAPS);
      need = v.getUint32(0, true);
      expect(need).toBeGreaterThan(24);
    }
    if (env.model) expect(need).toBe(24 + 32 + 16 + 16 + 2 * 16);
    const full = new Uint8Array(need);
    const v = new DataView(full.buffer);
    v.setUint32(0, need, true);
    expect(env.sys.ioctl(o.container, abi.VFIO_IOMMU_GET_INFO, full)).toBe(0);
    const chain: Array<[number, number]> = [];
    for (let at = v.getUint32(16, true), n = 0; at !== 0 && at + 8 <= need && n < 8; at = v.getUint32(at + 4, true), n++) chain.push([v.getUint16(at, true), at]);
    expect(chain.map(([id]) => id)).toEqual([CAP_MIGRATION, abi.VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, abi.VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE]);
    // The migration capability: the smallest page size (the lowest bit of iova_pgsizes) and DIRTY_BITMAP_SIZE_MAX (2^28 bytes).
    const pgsizes = v.getBigUint64(8, true);
    expect(v.getBigUint64(chain[0]![1] + 16, true)).toBe(pgsizes & -pgsizes);
    expect(v.getBigUint64(chain[0]![1] + 24, true)).toBe(0x1000_0000n);
  });

  it('DMA_CC is 0 until SET_IOMMU (type1 answers 0 without its iommu_data); 1 after on the model\'s coherent IOMMU', () => {
    const env = target.create();
    const c = ok(env.sys.open('/dev/vfio/vfio', 2), 'open');
    expect(calls.checkExtension(env.sys, c, abi.VFIO_EXTENSION.VFIO_DMA_CC_IOMMU)).toBe(0);
    env.sys.close(c);
    using o = openLegacy(env);
    // A real host answers whether its IOMMU enforces coherency; the model's does.
    if (env.model) expect(calls.checkExtension(env.sys, o.container, abi.VFIO_EXTENSION.VFIO_DMA_CC_IOMMU)).toBe(1);
    else expect(calls.checkExtension(env.sys, o.container, abi.VFIO_EXTENSION.VFIO_DMA_CC_IOMMU)).toBeGreaterThanOrEqual(0);
  });
});

describe('type1 DMA mapping [VFIO model only: a real mapping needs pinned guest RAM]', () => {
  it('IOMMU_GET_INFO: page sizes and the IOVA ranges (the x86 MSI window cut out), through the capability chain', () => {
    const env = modelEnv();
    const o = openLegacy(env);
    const info = calls.iommuGetInfo(env.sys, o.container);
    if (typeof info === 'number') throw new Error(`errno ${-info}`);
    expect(info.iovaPgsizes & 0x1000n).toBe(0x1000n);
    expect(info.iovaRanges).toEqual([
      { start: 0n, end: 0xfedf_ffffn },
      { start: 0xfef0_0000n, end: 0xffff_ffff_ffffn },
    ]);
    expect(info.dmaAvail).toBe(65535);
    o.close();
  });

  it('map, overlap EEXIST (checked before the IOVA ranges), misalignment EINVAL, a split unmap EINVAL, unmap returns the bytes, UNMAP_ALL empties it', () => {
    const env = modelEnv();
    const o = openLegacy(env);
    const m = (iova: bigint, size: bigint) => calls.mapDma(env.sys, o.container, { vaddr: 0x7f00_0000_0000n + iova, iova, size });
    expect(m(0n, 2n * MiB)).toBe(0);
    expect(m(4n * MiB, MiB)).toBe(0);
    expect(m(MiB, 4n * MiB)).toBe(-EEXIST);
    expect(m(8n * MiB + 0x800n, 0x1000n)).toBe(-EINVAL);
    expect(m(8n * MiB, 0n)).toBe(-EINVAL);
    expect(m(0xfee0_0000n, 0x1000n)).toBe(-EINVAL); // the MSI window is not usable IOVA
    // vfio_dma_do_map looks for an overlap before it checks the IOVA ranges: a range crossing the
    // MSI window and overlapping a mapping is EEXIST.
    expect(m(0xfed0_0000n, MiB)).toBe(0); // the last MiB below the window
    expect(m(0xfed0_0000n, 2n * MiB)).toBe(-EEXIST);
    expect(calls.unmapDma(env.sys, o.container, 0xfed0_0000n, MiB)).toBe(MiB);
    expect(calls.mapDma(env.sys, o.container, { vaddr: 0x1000n, iova: 16n * MiB, size: 0x1000n }, 0)).toBe(-EINVAL); // no READ/WRITE
    expect(env.model.mappings(o.container).map((x) => [x.iova, x.size])).toEqual([
      [0n, 2n * MiB],
      [4n * MiB, MiB],
    ]);
    expect(calls.unmapDma(env.sys, o.container, MiB, MiB)).toBe(-EINVAL); // would split the first mapping
    expect(calls.unmapDma(env.sys, o.container, 0n, 2n * MiB)).toBe(2n * MiB);
    expect(calls.unmapDma(env.sys, o.container, 0n, 2n * MiB)).toBe(0n); // nothing there now
    expect(calls.unmapDma(env.sys, o.container, 1n, 0n, abi.VFIO_DMA_UNMAP_FLAG_ALL)).toBe(-EINVAL);
    expect(calls.unmapDma(env.sys, o.container, 0n, 0n, abi.VFIO_DMA_UNMAP_FLAG_ALL)).toBe(MiB);
    expect(env.model.mappings(o.container)).toEqual([]);
    o.close();
    expect(env.model.hazards).toEqual([]);
  });

  it('the type1 (v1) IOMMU unmaps as v1 does: an unmap from inside a mapping is 0 bytes, one from its start takes it whole', () => {
    const env = modelEnv();
    const container = ok(env.sys.open('/dev/vfio/vfio', 2), 'open container');
    const group = ok(env.sys.open(`/dev/vfio/${env.group}`, 2), 'open group');
    ok(calls.groupSetContainer(env.sys, group, container), 'SET_CONTAINER');
    ok(calls.setIommu(env.sys, container, abi.VFIO_EXTENSION.VFIO_TYPE1_IOMMU), 'SET_IOMMU(TYPE1)');
    const m = (iova: bigint, size: bigint) => calls.mapDma(env.sys, container, { vaddr: 0x7f00_0000_0000n + iova, iova, size });
    expect(m(0n, 2n * MiB)).toBe(0);
    expect(m(4n * MiB, MiB)).toBe(0);
    expect(calls.unmapDma(env.sys, container, MiB, 4n * MiB)).toBe(0n); // starts inside [0, 2 MiB): the walk stops there
    expect(calls.unmapDma(env.sys, container, 4n * MiB, 0x1000n)).toBe(MiB); // v2 would refuse to split it
    expect(env.model.mappings(container).map((x) => [x.iova, x.size])).toEqual([[0n, 2n * MiB]]);
    expect(calls.unmapDma(env.sys, container, 0n, 0n, abi.VFIO_DMA_UNMAP_FLAG_ALL)).toBe(2n * MiB);
    env.sys.close(group);
    env.sys.close(container);
    expect(env.model.hazards).toEqual([]);
  });

  it('UPDATE_VADDR: UNMAP_DMA with VADDR keeps the mappings with their process address invalid; MAP_DMA with VADDR gives exactly such a mapping a new one', () => {
    const env = modelEnv();
    using o = openLegacy(env);
    const c = o.container;
    const MAP_VADDR = 4; // VFIO_DMA_MAP_FLAG_VADDR
    const UNMAP_VADDR = 4; // VFIO_DMA_UNMAP_FLAG_VADDR
    const at = (x: bigint) => ({ vaddr: 0x7f00_0000_0000n + x, iova: x, size: 2n * MiB });
    expect(calls.checkExtension(env.sys, c, abi.VFIO_EXTENSION.VFIO_UPDATE_VADDR)).toBe(1);
    expect(calls.mapDma(env.sys, c, at(0n))).toBe(0);
    expect(calls.mapDma(env.sys, c, at(0n), MAP_VADDR | abi.VFIO_DMA_MAP_FLAG_READ)).toBe(-EINVAL); // VADDR takes no protection
    expect(calls.mapDma(env.sys, c, at(8n * MiB), MAP_VADDR)).toBe(-ENOENT); // nothing mapped there
    expect(calls.mapDma(env.sys, c, at(0n), MAP_VADDR)).toBe(-EINVAL); // its address is still valid
    expect(calls.unmapDma(env.sys, c, 0n, 2n * MiB, UNMAP_VADDR)).toBe(2n * MiB);
    expect(env.model.mappings(c).length).toBe(1); // still mapped
    expect(calls.unmapDma(env.sys, c, 0n, 2n * MiB, UNMAP_VADDR)).toBe(-EINVAL); // already invalid
    expect(calls.mapDma(env.sys, c, { ...at(0n), size: MiB }, MAP_VADDR)).toBe(-EINVAL); // not the whole mapping
    expect(calls.mapDma(env.sys, c, { ...at(0n), vaddr: 0x7e00_0000_0000n }, MAP_VADDR)).toBe(0);
    expect(env.model.mappings(c).map((m) => m.vaddr)).toEqual([0x7e00_0000_0000n]);
    expect(calls.unmapDma(env.sys, c, 0n, 0n, abi.VFIO_DMA_UNMAP_FLAG_ALL | UNMAP_VADDR)).toBe(2n * MiB);
    expect(calls.unmapDma(env.sys, c, 0n, 0n, abi.VFIO_DMA_UNMAP_FLAG_ALL)).toBe(2n * MiB); // an invalidated mapping unmaps as any other
    expect(env.model.mappings(c)).toEqual([]);
  });

  it('the entry limit gives ENOSPC, checked before the IOVA ranges; MAP_DMA before SET_IOMMU is EINVAL', () => {
    const env = modelEnv({ dmaEntryLimit: 1 });
    const c = ok(env.sys.open('/dev/vfio/vfio', 2), 'open');
    expect(calls.mapDma(env.sys, c, { vaddr: 0x1000n, iova: 0n, size: 0x1000n })).toBe(-EINVAL);
    env.sys.close(c);
    const o = openLegacy(env);
    expect(calls.mapDma(env.sys, o.container, { vaddr: 0x1000n, iova: 0n, size: 0x1000n })).toBe(0);
    expect(calls.mapDma(env.sys, o.container, { vaddr: 0x2000n, iova: 0x1000n, size: 0x1000n })).toBe(-ENOSPC);
    // vfio_dma_do_map checks the entry limit before the IOVA ranges: ENOSPC even inside the MSI window.
    expect(calls.mapDma(env.sys, o.container, { vaddr: 0x2000n, iova: 0xfee0_0000n, size: 0x1000n })).toBe(-ENOSPC);
    expect(calls.unmapDma(env.sys, o.container, 0n, 0n, abi.VFIO_DMA_UNMAP_FLAG_ALL)).toBe(0x1000n);
    o.close();
  });
});

describe('the cdev + iommufd path [VFIO model only: this host has no /dev/vfio/devices]', () => {
  it('bind, allocate an IOAS, attach, map and unmap; the legacy group is EBUSY while bound', () => {
    const env = modelEnv();
    const { sys, model } = env;
    const iommufd = ok(sys.open('/dev/iommu', 2), 'open /dev/iommu');
    const dev = ok(sys.open(model.cdevPath(), 2), 'open cdev');
    // Until BIND every other ioctl and every region access is EINVAL.
    expect(calls.deviceGetInfo(sys, dev)).toBe(-EINVAL);
    expect(sys.pread(dev, new Uint8Array(4), 4, 7 * 2 ** 40)).toBe(-EINVAL);
    const ioas = ok(calls.ioasAlloc(sys, iommufd), 'IOMMU_IOAS_ALLOC');
    expect(calls.bindIommufd(sys, dev, -1)).toBe(-EINVAL);
    // iommufd_ctx_from_fd: a closed fd is EBADF, another kind of file EBADFD.
    expect(calls.bindIommufd(sys, dev, 999)).toBe(-EBADF);
    expect(calls.bindIommufd(sys, dev, dev)).toBe(-EBADFD);
    // The open group node is looked at first (vfio_device_block_group).
    const open = ok(sys.open(`/dev/vfio/${env.group}`, 2), 'open group');
    expect(calls.bindIommufd(sys, dev, 999)).toBe(-EBUSY);
    sys.close(open);
    const devid = ok(calls.bindIommufd(sys, dev, iommufd), 'BIND_IOMMUFD');
    expect(devid).toBeGreaterThan(0);
    expect(calls.bindIommufd(sys, dev, iommufd)).toBe(-EINVAL); // already bound
    expect(sys.open(`/dev/vfio/${env.group}`, 2)).toBe(-EBUSY);
    expect(calls.attachIommufdPt(sys, dev, 999)).toBe(-ENOENT);
    expect(ok(calls.attachIommufdPt(sys, dev, ioas), 'ATTACH')).not.toBe(ioas);
    const info = calls.deviceGetInfo(sys, dev);
    expect(typeof info === 'number' ? info : info.numIrqs).toBe(5);
    const map = (iova: bigint, size: bigint) => calls.ioasMap(sys, iommufd, ioas, { vaddr: 0x7f00_0000_0000n, iova, size });
    expect(map(0n, 2n * MiB)).toBe(0);
    expect(map(MiB, MiB)).toBe(-EEXIST);
    expect(map(0x800n, 0x1000n)).toBe(-EINVAL);
    expect(model.mappings(iommufd, ioas)).toHaveLength(1);
    expect(calls.ioasUnmap(sys, iommufd, ioas, 0n, MiB)).toBe(-ENOENT); // partial
    expect(calls.iommuDestroy(sys, iommufd, ioas)).toBe(-EBUSY); // attached
    expect(calls.ioasUnmap(sys, iommufd, ioas, 0n, 2n * MiB)).toBe(2n * MiB);
    expect(calls.ioasUnmap(sys, iommufd, ioas, 0n, 0xffff_ffff_ffff_ffffn)).toBe(0n);
    expect(calls.detachIommufdPt(sys, dev)).toBe(0);
    expect(calls.iommuDestroy(sys, iommufd, ioas)).toBe(0);
    sys.close(dev);
    const group = ok(sys.open(`/dev/vfio/${env.group}`, 2), 'open group after unbind');
    sys.close(group);
    sys.close(iommufd);
    expect(model.hazards).toEqual([]);
  });

  it('a bound device holds its iommufd: closed first, the iommufd is released (and its mappings judged) with the device', () => {
    const env = modelEnv();
    const { sys, model } = env;
    const iommufd = ok(sys.open('/dev/iommu', 2), 'open /dev/iommu');
    const ioas = ok(calls.ioasAlloc(sys, iommufd), 'IOAS_ALLOC');
    const dev = ok(sys.open(model.cdevPath(), 2), 'open cdev');
    ok(calls.bindIommufd(sys, dev, iommufd), 'BIND');
    ok(calls.attachIommufdPt(sys, dev, ioas), 'ATTACH');
    expect(calls.ioasMap(sys, iommufd, ioas, { vaddr: 0x1000n, iova: 0n, size: 0x1000n })).toBe(0);
    sys.close(iommufd);
    expect(model.hazards).toEqual([]);
    expect(calls.deviceGetInfo(sys, dev)).toMatchObject({ numIrqs: 5 });
    sys.close(dev);
    expect(model.hazards).toEqual([`an iommufd was closed with 1 DMA mapping(s) still in IOAS ${ioas}`]);
  });

  it('a kernel without cdev: /dev/iommu and the cdev node do not exist', () => {
    const env = modelEnv({ cdev: false });
    expect(env.sys.open('/dev/iommu', 2)).toBe(-ENOENT);
    expect(env.sys.open('/dev/vfio/devices/vfio0', 2)).toBe(-ENOENT);
  });
});

describe('hazards the model records', () => {
  it('a device closed with eventfds still bound, and a container closed with DMA still mapped', () => {
    const env = modelEnv();
    const o = openLegacy(env);
    const e = eventfd(env);
    expect(calls.setIrqs(env.sys, o.device, abi.VFIO_PCI_IRQ.VFIO_PCI_MSIX_IRQ_INDEX, 'trigger', 0, { eventfds: [e] })).toBe(0);
    expect(calls.mapDma(env.sys, o.container, { vaddr: 0x1000n, iova: 0n, size: 0x1000n })).toBe(0);
    o.close();
    env.sys.close(e);
    expect(env.model.hazards).toEqual([
      'device 0000:01:00.0 was closed with eventfds still bound to msix vector(s) 0',
      'a container lost its last group with 1 DMA mapping(s) still mapped',
    ]);
    // The kernel cleaned up regardless: interrupts off, the device reset.
    expect(env.model.device().irq.mode).toBe('none');
  });

  it('an INTx unmask eventfd left registered, and an iommufd closed with mappings', () => {
    const env = modelEnv();
    const o = openLegacy(env);
    const t = eventfd(env);
    const r = eventfd(env);
    const INTX = abi.VFIO_PCI_IRQ.VFIO_PCI_INTX_IRQ_INDEX;
    expect(calls.setIrqs(env.sys, o.device, INTX, 'trigger', 0, { eventfds: [t] })).toBe(0);
    expect(calls.setIrqs(env.sys, o.device, INTX, 'unmask', 0, { eventfds: [r] })).toBe(0);
    o.close();
    const iommufd = ok(env.sys.open('/dev/iommu', 2), 'open /dev/iommu');
    const ioas = ok(calls.ioasAlloc(env.sys, iommufd), 'IOAS_ALLOC');
    expect(calls.ioasMap(env.sys, iommufd, ioas, { vaddr: 0x1000n, iova: 0n, size: 0x1000n })).toBe(0);
    env.sys.close(iommufd);
    env.sys.close(t);
    env.sys.close(r);
    expect(env.model.hazards).toEqual([
      'device 0000:01:00.0 was closed with eventfds still bound to intx vector(s) 0',
      'device 0000:01:00.0 was closed with an INTx unmask eventfd still registered',
      `an iommufd was closed with 1 DMA mapping(s) still in IOAS ${ioas}`,
    ]);
  });
});

describe('model options and the VfioSyscalls check', () => {
  it('an unknown option, a bad address, a duplicate or an MSI count that is not a power of two is INVALID_ARGUMENT', () => {
    const bad: unknown[] = [
      { devcies: [] },
      { devices: [] },
      { devices: [{ address: '1:0.0', group: 1 }] },
      { devices: [{ address: '0000:01:00.0', group: 1 }, { address: '0000:01:00.0', group: 2 }] },
      { devices: [{ address: '0000:01:00.0', group: 1, msiVectors: 3 }] },
      { devices: [{ address: '0000:01:00.0', group: 1, msixVectors: 4096 }] },
      { cdev: 'yes' },
    ];
    for (const options of bad) {
      let thrown: unknown;
      try {
        new VfioKernelModel(options as never);
      } catch (e) {
        thrown = e;
      }
      expect(isVirtError(thrown) && thrown.code).toBe('INVALID_ARGUMENT');
    }
  });

  it('checkVfioSyscalls accepts the model and refuses an object without pread/pwrite', () => {
    const m = new VfioKernelModel();
    expect(checkVfioSyscalls('test', 'sys', m)).toBe(m);
    const { pread: _p, pwrite: _w, ...rest } = { ...Object.fromEntries(Object.getOwnPropertyNames(VfioKernelModel.prototype).map((k) => [k, () => 0])) };
    let thrown: unknown;
    try {
      checkVfioSyscalls('test', 'sys', rest);
    } catch (e) {
      thrown = e;
    }
    expect(isVirtError(thrown) && thrown.code).toBe('INVALID_ARGUMENT');
    expect(String(thrown)).toContain('pread');
  });
});

describe('encodeIrqSet: the bytes the interface page gives (docs/interfaces/vfio.md, Layouts)', () => {
  it('DATA_EVENTFD: argsz 20 + 4n, flags DATA_EVENTFD | ACTION_TRIGGER, s32 fds at 20', () => {
    const b = calls.encodeIrqSet(2, 'trigger', 3, { eventfds: [10, -1] });
    const v = new DataView(b.buffer);
    expect([b.length, v.getUint32(0, true), v.getUint32(4, true), v.getUint32(8, true), v.getUint32(12, true), v.getUint32(16, true), v.getInt32(20, true), v.getInt32(24, true)]).toEqual([
      28, 28, 0x24, 2, 3, 2, 10, -1,
    ]);
  });

  it('DATA_BOOL and DATA_NONE', () => {
    const b = calls.encodeIrqSet(0, 'unmask', 0, { bools: [true] });
    expect(Array.from(b)).toEqual([21, 0, 0, 0, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
    const n = calls.encodeIrqSet(1, 'mask', 0, { none: 0 });
    expect(Array.from(n)).toEqual([20, 0, 0, 0, 0x09, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('a capability chain that loops or leaves the buffer is cut, never followed forever', () => {
    const b = new Uint8Array(64);
    const v = new DataView(b.buffer);
    v.setUint16(32, 3, true);
    v.setUint32(36, 40, true);
    v.setUint16(40, 1, true);
    v.setUint32(44, 32, true); // back to the first
    expect(calls.capabilityChain(b, 32).map((c) => c.offset)).toEqual([32, 40]);
    v.setUint32(44, 60, true); // past the end (a header needs 8 bytes)
    expect(calls.capabilityChain(b, 32).map((c) => c.offset)).toEqual([32, 40]);
  });
});
