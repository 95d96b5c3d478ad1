// Container, group and device fds (docs/interfaces/vfio.md, "Opening a device") and region access ("Regions"), through the calls module,
// on every target.
import { EBADF, EBUSY, EFAULT, EINVAL, ENODEV, ENOTTY, EPERM } from '@tsvmm/linux-sys';
import { vfioAbi as abi, vfioCalls as calls } from '../src';
import { VfioKernelModel } from '../src/testing';
import { type VfioEnv, describeOnTargets, modelEnv, ok, openLegacy, readConfig, region, writeConfig } from './support/targets';

const CONFIG = abi.VFIO_PCI_REGION.VFIO_PCI_CONFIG_REGION_INDEX;

describeOnTargets('container and group: the legacy open sequence and its errors', (target) => {
  it('API version 0, type1v2 supported; SET_IOMMU needs a group; GET_DEVICE_FD needs SET_IOMMU', () => {
    const env = target.create();
    const { sys } = env;
    const container = ok(sys.open('/dev/vfio/vfio', 2), 'open container');
    const group = ok(sys.open(`/dev/vfio/${env.group}`, 2), 'open group');
    try {
      expect(calls.getApiVersion(sys, container)).toBe(0);
      expect(calls.checkExtension(sys, container, abi.VFIO_EXTENSION.VFIO_TYPE1v2_IOMMU)).toBeGreaterThan(0);
      expect(calls.setIommu(sys, container, abi.VFIO_EXTENSION.VFIO_TYPE1v2_IOMMU)).toBe(-EINVAL);
      const before = calls.groupGetStatus(sys, group);
      expect(before & abi.VFIO_GROUP_FLAGS_VIABLE).toBe(abi.VFIO_GROUP_FLAGS_VIABLE);
      expect(before & abi.VFIO_GROUP_FLAGS_CONTAINER_SET).toBe(0);
      expect(calls.groupGetDeviceFd(sys, group, env.address)).toBe(-EINVAL);
      // The name is matched before the container is looked at (vfio_group_ioctl_get_device_fd).
      expect(calls.groupGetDeviceFd(sys, group, '0000:ff:1f.7')).toBe(-ENODEV);
      expect(calls.groupSetContainer(sys, group, container)).toBe(0);
      expect(calls.groupSetContainer(sys, group, container)).toBe(-EINVAL);
      // fdget comes before the group's own state (vfio_group_ioctl_set_container).
      expect(calls.groupSetContainer(sys, group, 999)).toBe(-EBADF);
      expect(calls.groupGetStatus(sys, group) & abi.VFIO_GROUP_FLAGS_CONTAINER_SET).toBe(abi.VFIO_GROUP_FLAGS_CONTAINER_SET);
      expect(calls.groupGetDeviceFd(sys, group, env.address)).toBe(-EINVAL);
      expect(calls.setIommu(sys, container, 7)).toBeLessThan(0);
      expect(calls.setIommu(sys, container, abi.VFIO_EXTENSION.VFIO_TYPE1v2_IOMMU)).toBe(0);
      expect(calls.setIommu(sys, container, abi.VFIO_EXTENSION.VFIO_TYPE1v2_IOMMU)).toBe(-EINVAL);
      expect(calls.groupGetDeviceFd(sys, group, '0000:ff:1f.7')).toBe(-ENODEV);
      expect(calls.groupGetDeviceFd(sys, group, `${env.address}x`)).toBe(-ENODEV);
      // vfio_pci_core_match: spaces after the name are skipped; an unknown option is EINVAL.
      expect(calls.groupGetDeviceFd(sys, group, `${env.address} unknown=1`)).toBe(-EINVAL);
      if (env.model) {
        // A VF token on a function that is neither an SR-IOV PF nor a VF (every model device; a real
        // PF would take it as its new token, so the device half does not send one).
        expect(calls.groupGetDeviceFd(sys, group, `${env.address} vf_token=bd8d9d2b-5a5f-4f5a-a211-f591514ba1f3`)).toBe(-EINVAL);
      }
      sys.close(ok(calls.groupGetDeviceFd(sys, group, `${env.address}   `), 'GET_DEVICE_FD with trailing spaces'));
      const device = calls.groupGetDeviceFd(sys, group, env.address);
      expect(device).toBeGreaterThanOrEqual(0);
      // The cdev-only ioctls reach vfio-pci's own ioctl on a group-opened fd, which knows neither (vfio_device_fops_unl_ioctl).
      expect(calls.attachIommufdPt(sys, device, 1)).toBe(-ENOTTY);
      expect(calls.detachIommufdPt(sys, device)).toBe(-ENOTTY);
      // A device fd is open: the group cannot leave its container.
      expect(calls.groupUnsetContainer(sys, group)).toBe(-EBUSY);
      sys.close(device);
      expect(calls.groupUnsetContainer(sys, group)).toBe(0);
      expect(calls.groupUnsetContainer(sys, group)).toBe(-EINVAL);
    } finally {
      sys.close(group);
      sys.close(container);
    }
    expect(env.model?.hazards ?? []).toEqual([]);
  });

  it('a second open of a group is EBUSY until the first closes', () => {
    const env = target.create();
    const a = ok(env.sys.open(`/dev/vfio/${env.group}`, 2), 'open group');
    expect(env.sys.open(`/dev/vfio/${env.group}`, 2)).toBe(-EBUSY);
    env.sys.close(a);
    const b = ok(env.sys.open(`/dev/vfio/${env.group}`, 2), 'reopen group');
    env.sys.close(b);
  });

  it('GROUP_SET_CONTAINER refuses a non-container fd and a closed one', () => {
    const env = target.create();
    const group = ok(env.sys.open(`/dev/vfio/${env.group}`, 2), 'open group');
    const efd = ok(env.sys.eventfd(0, 0), 'eventfd');
    try {
      expect(calls.groupSetContainer(env.sys, group, efd)).toBeLessThan(0);
      expect(calls.groupSetContainer(env.sys, group, 1_000_000)).toBe(-9);
      expect(calls.groupGetStatus(env.sys, group) & abi.VFIO_GROUP_FLAGS_CONTAINER_SET).toBe(0);
    } finally {
      env.sys.close(efd);
      env.sys.close(group);
    }
  });
});

describe('a non-viable group [VFIO model: a real one needs a second device bound to a host driver]', () => {
  it('reports no VIABLE flag, and SET_CONTAINER is EPERM', () => {
    const m = new VfioKernelModel({ devices: [{ address: '0000:02:00.0', group: 3 }], nonViableGroups: [3] });
    const c = m.open('/dev/vfio/vfio', 2);
    const g = m.open('/dev/vfio/3', 2);
    expect(calls.groupGetStatus(m, g) & abi.VFIO_GROUP_FLAGS_VIABLE).toBe(0);
    expect(calls.groupSetContainer(m, g, c)).toBe(-EPERM);
    expect(calls.groupGetStatus(m, g)).toBe(0);
  });
});

describeOnTargets('device info and regions', (target) => {
  it('DEVICE_GET_INFO: a vfio-pci device with 9 regions and 5 interrupt indexes', () => {
    const env = target.create();
    using o = openLegacy(env);
    const info = calls.deviceGetInfo(env.sys, o.device);
    if (typeof info === 'number') throw new Error(`errno ${-info}`);
    expect(info.flags & abi.VFIO_DEVICE_FLAGS_PCI).toBe(abi.VFIO_DEVICE_FLAGS_PCI);
    expect(info.numRegions).toBeGreaterThanOrEqual(9);
    expect(info.numIrqs).toBe(5);
    // The 24-byte struct of Linux 6.6: cap_offset and pad come back 0 (a zeroed struct, min(argsz, 24) bytes copied).
    const raw = new Uint8Array(24).fill(0xee);
    new DataView(raw.buffer).setUint32(0, 24, true);
    expect(env.sys.ioctl(o.device, abi.VFIO_DEVICE_GET_INFO, raw)).toBe(0);
    expect(Array.from(raw.subarray(16, 20))).toEqual([0, 0, 0, 0]); // no capability fits in 24 bytes
    if (env.model) expect(Array.from(raw.subarray(20, 24))).toEqual([0, 0, 0, 0]); // a kernel before 6.6 copies 20 bytes only
  });

  it('config region: 256 or 4096 bytes, read/write, never mmap, at index << 40', () => {
    const env = target.create();
    using o = openLegacy(env);
    const cfg = region(env, o.device, CONFIG);
    expect([256, 4096]).toContain(cfg.size);
    expect(cfg.flags & 7).toBe(abi.VFIO_REGION_INFO_FLAG_READ | abi.VFIO_REGION_INFO_FLAG_WRITE);
    expect(cfg.index).toBe(CONFIG);
    if (!target.real) expect(cfg.offset).toBe(7 * 2 ** 40);
    expect(calls.deviceGetRegionInfo(env.sys, o.device, 1000)).toBe(-EINVAL);
  });

  it('GET_REGION_INFO copies in its whole 32-byte minsz before reading argsz: argsz below 32 is EINVAL, a shorter buffer faults', () => {
    const env = target.create();
    using o = openLegacy(env);
    const raw = new Uint8Array(32);
    const v = new DataView(raw.buffer);
    v.setUint32(0, 16, true);
    expect(env.sys.ioctl(o.device, abi.VFIO_DEVICE_GET_REGION_INFO, raw)).toBe(-EINVAL);
    // On the device the bytes past a short buffer are whatever follows it in memory: only the model can say EFAULT.
    if (!target.real) expect(env.sys.ioctl(o.device, abi.VFIO_DEVICE_GET_REGION_INFO, raw.subarray(0, 16))).toBe(-EFAULT);
  });

  it('a region with capabilities: the first call raises argsz and the chain is followed', () => {
    const env = target.create();
    using o = openLegacy(env);
    // The raw exchange, with only the 32-byte struct: CAPS set, cap_offset 0, argsz = what is needed.
    let seen = false;
    for (let index = 0; index <= 5; index++) {
      const raw = new Uint8Array(32);
      const v = new DataView(raw.buffer);
      v.setUint32(0, 32, true);
      v.setUint32(8, index, true);
      ok(env.sys.ioctl(o.device, abi.VFIO_DEVICE_GET_REGION_INFO, raw), 'GET_REGION_INFO');
      if ((v.getUint32(4, true) & abi.VFIO_REGION_INFO_FLAG_CAPS) === 0) continue;
      seen = true;
      expect(v.getUint32(12, true)).toBe(0);
      expect(v.getUint32(0, true)).toBeGreaterThan(32);
      const full = region(env, o.device, index);
      expect(full.msixMappable || full.sparseMmap !== undefined || full.type !== undefined).toBe(true);
    }
    if (!target.real) {
      expect(seen).toBe(true);
      expect(region(env, o.device, 2).msixMappable).toBe(true);
      expect(region(env, o.device, 0).msixMappable).toBe(false);
      expect(region(env, o.device, 3).size).toBe(0); // the upper half of 64-bit BAR 2
    }
  });

  it('config reads at any offset and size agree with one another; past the end is EFAULT', () => {
    const env = target.create();
    using o = openLegacy(env);
    const cfg = region(env, o.device, CONFIG);
    const whole = readConfig(env, o.device, 0, 64);
    for (const [off, len] of [
      [0, 1],
      [1, 2],
      [2, 4],
      [3, 8],
      [0x2c, 4],
      [7, 13],
    ] as const) {
      expect(Array.from(readConfig(env, o.device, off, len))).toEqual(Array.from(whole.subarray(off, off + len)));
    }
    expect(calls.regionRead(env.sys, o.device, cfg.offset, cfg.size - 2, new Uint8Array(4))).toBe(-EFAULT);
    expect(calls.regionRead(env.sys, o.device, cfg.offset, cfg.size, new Uint8Array(1))).toBe(-EFAULT);
  });

  it('Vendor ID is read-only; BAR sizing through the virtual BAR: all ones read back as the size mask', () => {
    const env = target.create();
    using o = openLegacy(env);
    const vendor = readConfig(env, o.device, 0, 2);
    writeConfig(env, o.device, 0, new Uint8Array([0x12, 0x34]));
    expect(Array.from(readConfig(env, o.device, 0, 2))).toEqual(Array.from(vendor));
    const bar0 = region(env, o.device, 0);
    if (bar0.size === 0) return; // a device without BAR 0: nothing to size
    const original = readConfig(env, o.device, 0x10, 4);
    writeConfig(env, o.device, 0x10, new Uint8Array([0xff, 0xff, 0xff, 0xff]));
    const sized = new DataView(readConfig(env, o.device, 0x10, 4).buffer).getUint32(0, true);
    const typeBits = sized & 1 ? 0x3 : 0xf;
    expect((~(sized & ~typeBits) + 1) >>> 0).toBe(bar0.size >>> 0);
    writeConfig(env, o.device, 0x10, original);
    if (env.model) {
      // The device's own BAR register never changed (the host's address): vfio keeps the guest's value in its virtual copy.
      expect(new DataView(env.model.device(env.address).config.buffer).getUint32(0x10, true)).toBe(env.model.device(env.address).bar(0)!.hostAddress);
    }
  });

  it('before any write a BAR reads as the host placed it (vfio_config_init copies the device\'s header, vfio_bar_fixup masks it to the size)', () => {
    const env = target.create();
    using o = openLegacy(env);
    for (let i = 0; i < 6; i++) {
      const r = region(env, o.device, i);
      if (r.size === 0) continue; // unimplemented, or the upper half of a 64-bit BAR
      const reg = new DataView(readConfig(env, o.device, 0x10 + 4 * i, 4).buffer).getUint32(0, true);
      const address = reg & (reg & 1 ? ~3 : ~0xf);
      if (r.size < 2 ** 32) expect(address & (r.size - 1)).toBe(0);
      if (env.model) expect(address >>> 0).toBe(env.model.device(env.address).bar(i)!.hostAddress);
      else if (reg & 1 || (reg & 6) === 0) expect(address).not.toBe(0); // an I/O or 32-bit BAR the host placed is never at 0
    }
  });

  it('BAR access: EIO while Memory Space Enable is off; in range once on; cut short at the end, EINVAL from it; the MSI-X table reads 0xFF and drops writes', () => {
    const env = target.create();
    using o = openLegacy(env);
    const bar = [0, 1, 2, 3, 4, 5].map((i) => region(env, o.device, i)).find((r) => r.size >= 16 && r.flags & abi.VFIO_REGION_INFO_FLAG_MMAP);
    if (!bar) throw new Error('the device has no memory BAR of 16 bytes or more');
    const command = readConfig(env, o.device, 4, 2);
    writeConfig(env, o.device, 4, new Uint8Array([command[0]! & ~2, command[1]!]));
    expect(calls.regionRead(env.sys, o.device, bar.offset, 0, new Uint8Array(4))).toBe(-5);
    writeConfig(env, o.device, 4, new Uint8Array([command[0]! | 2, command[1]!]));
    expect(calls.regionRead(env.sys, o.device, bar.offset, 0, new Uint8Array(4))).toBe(4);
    // vfio_pci_bar_rw: `if (pos >= end) return -EINVAL; count = min(count, end - pos)`.
    expect(calls.regionRead(env.sys, o.device, bar.offset, bar.size - 2, new Uint8Array(4))).toBe(2);
    expect(calls.regionRead(env.sys, o.device, bar.offset, bar.size, new Uint8Array(1))).toBe(-EINVAL);
    if (env.model) {
      const msixBar = region(env, o.device, env.model.device(env.address).msixBar);
      expect(calls.regionWrite(env.sys, o.device, msixBar.offset, 0, new Uint8Array([1, 2, 3, 4]))).toBe(4);
      const back = new Uint8Array(4);
      calls.regionRead(env.sys, o.device, msixBar.offset, 0, back);
      expect(Array.from(back)).toEqual([0xff, 0xff, 0xff, 0xff]);
    }
    writeConfig(env, o.device, 4, command);
  });
});

/** The MSI-X capability's table: its BAR, offset and bytes (pci_regs.h PCI_MSIX_FLAGS +2, PCI_MSIX_TABLE +4), or undefined without one. */
function msixTable(env: VfioEnv, device: number): { bar: number; offset: number; bytes: number } | undefined {
  let at = readConfig(env, device, 0x34, 1)[0]! & 0xfc;
  for (let n = 0; at !== 0 && n < 48; n++) {
    const head = readConfig(env, device, at, 12);
    const v = new DataView(head.buffer);
    if (head[0] === 0x11) return { bar: v.getUint32(4, true) & 7, offset: v.getUint32(4, true) & ~7, bytes: ((v.getUint16(2, true) & 0x7ff) + 1) * 16 };
    at = head[1]! & 0xfc;
  }
  return undefined;
}

/** The first BAR whose register says I/O space (bit 0) and that vfio reports with a size, or undefined. */
function ioBar(env: VfioEnv, device: number): calls.RegionInfo | undefined {
  for (let i = 0; i < 6; i++) {
    const reg = readConfig(env, device, 0x10 + 4 * i, 4)[0]!;
    const r = region(env, device, i);
    if ((reg & 1) === 1 && r.size > 0) return r;
  }
  return undefined;
}

/**
 * Runs `body` with the Command register's `bits` cleared (1: I/O Space, 2: Memory Space), then
 * writes Command back as it was, even when `body` fails, so a real device is left as found.
 */
function withCommandCleared(env: VfioEnv, device: number, bits: number, body: () => void): void {
  const command = readConfig(env, device, 4, 2);
  writeConfig(env, device, 4, new Uint8Array([command[0]! & ~bits, command[1]!]));
  try {
    body();
  } finally {
    writeConfig(env, device, 4, command);
  }
}

describeOnTargets('region reads and writes as vfio_pci_rdwr.c and vfio_pci_core.c serve them', (target) => {
  it('a zero-byte pread or pwrite is 0 before any region check: past the end of config space, with Memory Space off, on a region index with nothing behind it', () => {
    const env = target.create();
    using o = openLegacy(env);
    const cfg = region(env, o.device, CONFIG);
    const none = new Uint8Array(0);
    // vfio_pci_core_read / vfio_pci_core_write: `if (!count) return 0;`
    expect(calls.regionRead(env.sys, o.device, cfg.offset, cfg.size + 64, none)).toBe(0);
    expect(calls.regionWrite(env.sys, o.device, cfg.offset, cfg.size + 64, none)).toBe(0);
    expect(calls.regionRead(env.sys, o.device, 200 * 2 ** 40, 0, none)).toBe(0);
    withCommandCleared(env, o.device, 3, () => {
      const bar = [0, 1, 2, 3, 4, 5].map((i) => region(env, o.device, i)).find((r) => r.size > 0);
      if (!bar) throw new Error('the device has no BAR');
      expect(calls.regionRead(env.sys, o.device, bar.offset, 0, none)).toBe(0);
      expect(calls.regionWrite(env.sys, o.device, bar.offset, bar.size, none)).toBe(0);
    });
  });

  it('an I/O BAR is served with I/O Space off: only a memory BAR tests the Command register', () => {
    const env = target.create();
    using o = openLegacy(env);
    const io = ioBar(env, o.device);
    if (!io) {
      // The model device has one (BAR 4); a real device may not, and then there is nothing to show.
      expect(target.real).toBe(true);
      return;
    }
    withCommandCleared(env, o.device, 3, () => {
      // vfio_pci_bar_rw passes `res->flags & IORESOURCE_MEM` as test_mem: false for an I/O BAR.
      expect(calls.regionRead(env.sys, o.device, io.offset, 0, new Uint8Array(4))).toBe(4);
    });
  });

  it('with Memory Space off the MSI-X table still reads 0xFF and drops writes; an access reaching past the table is EIO', () => {
    const env = target.create();
    using o = openLegacy(env);
    const t = msixTable(env, o.device);
    if (!t) {
      expect(target.real).toBe(true); // the model device has an MSI-X table
      return;
    }
    const bar = region(env, o.device, t.bar);
    withCommandCleared(env, o.device, 2, () => {
      // vfio_pci_core_do_io_rw fills the excluded range without calling the ioread/iowrite that test Memory Space.
      const back = new Uint8Array(8);
      expect(calls.regionRead(env.sys, o.device, bar.offset, t.offset, back)).toBe(8);
      expect(Array.from(back)).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
      expect(calls.regionWrite(env.sys, o.device, bar.offset, t.offset, new Uint8Array([1, 2, 3, 4]))).toBe(4);
      if (t.offset + t.bytes < bar.size) expect(calls.regionRead(env.sys, o.device, bar.offset, t.offset + t.bytes - 4, new Uint8Array(8))).toBe(-5);
      else expect(target.real).toBe(true); // the model's table is followed by device registers
    });
  });
});

describeOnTargets('config header write permissions (vfio_pci_config.c init_pci_cap_basic_perm)', (target) => {
  it('Cache Line Size reaches the device and reads back; Subsystem IDs, reserved bytes, Min_Gnt and Max_Lat drop writes', () => {
    const env = target.create();
    using o = openLegacy(env);
    const cls = readConfig(env, o.device, 0x0c, 1)[0]!;
    writeConfig(env, o.device, 0x0c, new Uint8Array([0x10]));
    expect(readConfig(env, o.device, 0x0c, 1)[0]).toBe(0x10);
    writeConfig(env, o.device, 0x0c, new Uint8Array([cls]));
    for (const [at, len] of [
      [0x2c, 4],
      [0x35, 3],
      [0x3e, 2],
    ] as const) {
      const before = readConfig(env, o.device, at, len);
      writeConfig(env, o.device, at, before.map((b) => b ^ 0xff));
      expect(Array.from(readConfig(env, o.device, at, len))).toEqual(Array.from(before));
    }
    if (env.model) {
      // Nothing of them reached the device either.
      expect(Array.from(env.model.device(env.address).config.subarray(0x2c, 0x30))).toEqual([0, 0, 0, 0]);
      expect(env.model.device(env.address).config[0x0c]).toBe(cls);
    }
  });
});

/** Config offset of the first capability with ID `id` (a bounded walk of the list), or undefined. */
function capability(env: VfioEnv, device: number, id: number): number | undefined {
  let at = readConfig(env, device, 0x34, 1)[0]! & 0xfc;
  for (let n = 0; at !== 0 && n < 48; n++) {
    const head = readConfig(env, device, at, 2);
    if (head[0] === id) return at;
    at = head[1]! & 0xfc;
  }
  return undefined;
}

describeOnTargets('PCI Express capability write permissions (vfio_pci_config.c init_pci_cap_exp_perm)', (target) => {
  it('Device Control 2: ARI Forwarding Enable keeps its value whatever is written', () => {
    const env = target.create({ devices: [{ address: '0000:01:00.0', group: 7, pcie: {} }] });
    using o = openLegacy(env);
    const exp = capability(env, o.device, 0x10);
    if (exp === undefined) {
      expect(target.real).toBe(true); // the model device here is PCI Express
      return;
    }
    const before = readConfig(env, o.device, exp + 0x28, 1)[0]!;
    writeConfig(env, o.device, exp + 0x28, new Uint8Array([before ^ 0x20]));
    expect(readConfig(env, o.device, exp + 0x28, 1)[0]).toBe(before);
    writeConfig(env, o.device, exp + 0x28, new Uint8Array([before]));
  });
});

describeOnTargets('argsz below a struct ioctl\'s minsz is EINVAL (vfio_main.c, vfio_iommu_type1.c: `if (argsz < minsz) return -EINVAL`)', (target) => {
  it.each([
    ['VFIO_GROUP_GET_STATUS', 'group', 8],
    ['VFIO_DEVICE_GET_INFO', 'device', 16],
    ['VFIO_IOMMU_GET_INFO', 'container', 16],
    ['VFIO_IOMMU_MAP_DMA', 'container', 32],
    ['VFIO_IOMMU_UNMAP_DMA', 'container', 24],
  ] as const)('%s on the %s fd: argsz one below its minsz of %i bytes', (name, fd, minsz) => {
    const env = target.create();
    using o = openLegacy(env);
    const raw = new Uint8Array(minsz);
    new DataView(raw.buffer).setUint32(0, minsz - 1, true);
    expect(env.sys.ioctl(o[fd], abi[name], raw)).toBe(-EINVAL);
    // A buffer shorter than minsz: the model's copy_from_user faults; a real kernel would read past it, so only the model is asked.
    if (env.model) expect(env.sys.ioctl(o[fd], abi[name], new Uint8Array(minsz - 1))).toBe(-EFAULT);
  });
});

describeOnTargets('closing in any order: the device fd holds its group, the group holds its container', (target) => {
  it('with the group and container fds closed first, the device still works; the group opens again only after the device closes', () => {
    const env = target.create();
    const o = openLegacy(env);
    env.sys.close(o.container);
    env.sys.close(o.group);
    const info = calls.deviceGetInfo(env.sys, o.device);
    expect(typeof info === 'number' ? info : info.numIrqs).toBe(5);
    expect(env.sys.open(`/dev/vfio/${env.group}`, 2)).toBe(-EBUSY);
    env.sys.close(o.device);
    const again = ok(env.sys.open(`/dev/vfio/${env.group}`, 2), 'reopen group');
    // Released for good: the reopened group is in no container.
    expect(calls.groupGetStatus(env.sys, again) & abi.VFIO_GROUP_FLAGS_CONTAINER_SET).toBe(0);
    env.sys.close(again);
    expect(env.model?.hazards ?? []).toEqual([]);
  });

  it('`using` an opened device closes its three fds at the end of the block (every body here relies on it): the group opens again', () => {
    const env = target.create();
    {
      using o = openLegacy(env);
      expect(env.sys.open(`/dev/vfio/${env.group}`, 2)).toBe(-EBUSY);
      expect(o.device).toBeGreaterThanOrEqual(0);
    }
    env.sys.close(ok(env.sys.open(`/dev/vfio/${env.group}`, 2), 'reopen group'));
    expect(env.model?.hazards ?? []).toEqual([]);
  });
});

describe('the container outlives its fd while a group holds it [model: needs a mapping]', () => {
  it('mappings stay until the last group leaves, and leaving with one mapped is a hazard', () => {
    const env = modelEnv();
    const m = env.model;
    const o = openLegacy(env);
    expect(calls.mapDma(m, o.container, { vaddr: 0x1000n, iova: 0n, size: 0x1000n })).toBe(0);
    m.close(o.container);
    expect(m.hazards).toEqual([]);
    m.close(o.device);
    expect(m.hazards).toEqual([]);
    m.close(o.group);
    expect(m.hazards).toEqual(['a container lost its last group with 1 DMA mapping(s) still mapped']);
  });
});
