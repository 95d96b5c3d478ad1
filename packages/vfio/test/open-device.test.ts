// VfioDevice.open: sysfs resolution, the legacy and cdev paths, every refusal a typed error that
// changes nothing (every fd opened on the way is closed again), and dispose.
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type VirtErrorCode, isVirtError } from '@tsvmm/virt';
import { VfioDevice, type VfioOpenOptions, readVfioSysfs, vfioCalls as calls } from '../src';
import { VfioKernelModel, type VfioModelOptions } from '../src/testing';
import { type VfioEnv, describeOnTargets } from './support/targets';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A model and a fake sysfs tree for it. */
function modelWithSysfs(options?: VfioModelOptions, others?: Parameters<VfioKernelModel['writeSysfs']>[1]): { model: VfioKernelModel; sysfs: string } {
  const model = new VfioKernelModel(options);
  const sysfs = mkdtempSync(join(tmpdir(), 'tsvmm-vfio-sysfs-'));
  dirs.push(sysfs);
  model.writeSysfs(sysfs, others);
  return { model, sysfs };
}

/** The open options of `env`: the model with its own fake sysfs, or the real host as it is. */
function openOptions(env: VfioEnv): Omit<VfioOpenOptions, 'path'> {
  if (!env.model) return { address: env.address };
  const sysfs = mkdtempSync(join(tmpdir(), 'tsvmm-vfio-sysfs-'));
  dirs.push(sysfs);
  env.model.writeSysfs(sysfs);
  return { address: env.address, sys: env.model, sysfs };
}

function thrown(f: () => unknown): { code: VirtErrorCode | undefined; message: string } {
  try {
    f();
  } catch (e) {
    return { code: isVirtError(e) ? e.code : undefined, message: String(e) };
  }
  throw new Error('expected a throw');
}

describeOnTargets('VfioDevice.open through the legacy path', (target) => {
  it('opens, reports the device info, and dispose closes every fd (idempotent)', () => {
    const env = target.create();
    const before = env.model?.openFds;
    const device = VfioDevice.open({ ...openOptions(env), path: 'legacy' });
    expect(device.path).toBe('legacy');
    expect(device.group).toBe(env.group);
    expect(device.info.numIrqs).toBe(5);
    const cfg = calls.deviceGetRegionInfo(device.sys, device.deviceFd, 7);
    expect(typeof cfg === 'number' ? cfg : cfg.size).toBeGreaterThanOrEqual(256);
    // Opened once at a time: the group is held.
    expect(thrown(() => VfioDevice.open({ ...openOptions(env), path: 'legacy' })).code).toBe('BUSY');
    device.dispose();
    // A number freed by dispose is reused by the next open (POSIX: the lowest free one); a second
    // dispose must not close it.
    const reused = env.sys.eventfd(0, 0);
    expect(reused).toBeLessThanOrEqual(Math.max(device.deviceFd, device.groupFd, device.iommuFd));
    device[Symbol.dispose]();
    expect(device.isDisposed).toBe(true);
    const one = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);
    expect(env.sys.write(reused, one, 8)).toBe(8);
    env.sys.close(reused);
    if (env.model) {
      expect(env.model.openFds).toBe(before);
      expect(env.model.hazards).toEqual([]);
    }
    // And it opens again once closed.
    VfioDevice.open({ ...openOptions(env), path: 'legacy' }).dispose();
  });
});

describe('VfioDevice.open through the cdev + iommufd path [VFIO model: this host has no device cdev]', () => {
  it('binds the cdev to a new IOAS; dispose closes both fds', () => {
    const { model, sysfs } = modelWithSysfs();
    const device = VfioDevice.open({ address: '0000:01:00.0', sys: model, sysfs, path: 'cdev' });
    expect([device.path, device.groupFd, device.ioasId > 0]).toEqual(['cdev', -1, true]);
    expect(model.openFds).toBe(2);
    // The legacy group cannot be opened while the cdev is bound.
    expect(thrown(() => VfioDevice.open({ address: '0000:01:00.0', sys: model, sysfs, path: 'legacy' })).code).toBe('BUSY');
    device.dispose();
    expect(model.openFds).toBe(0);
    expect(model.hazards).toEqual([]);
  });

  it("'auto' picks the cdev where sysfs shows one, the legacy path where not", () => {
    const withCdev = modelWithSysfs();
    const a = VfioDevice.open({ address: '0000:01:00.0', sys: withCdev.model, sysfs: withCdev.sysfs, path: 'auto' });
    expect(a.path).toBe('cdev');
    a.dispose();
    const without = modelWithSysfs({ cdev: false });
    const b = VfioDevice.open({ address: '0000:01:00.0', sys: without.model, sysfs: without.sysfs, path: 'auto' });
    expect(b.path).toBe('legacy');
    b.dispose();
    expect(thrown(() => VfioDevice.open({ address: '0000:01:00.0', sys: without.model, sysfs: without.sysfs, path: 'cdev' }))).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('CONFIG_VFIO_DEVICE_CDEV') });
  });
});

describe('VfioDevice.open refusals, each typed and leaving no fd open [VFIO model with a fake sysfs]', () => {
  it('bad arguments are INVALID_ARGUMENT before anything is read or opened', () => {
    const { model, sysfs } = modelWithSysfs();
    for (const bad of [
      undefined,
      {},
      { address: '01:00.0', sys: model, sysfs },
      { address: '0000:01:00.0', sys: model, sysfs, path: 'group' },
      { address: '0000:01:00.0', sys: model, sysfs, sfsys: '/sys' },
      { address: '0000:01:00.0', sys: {}, sysfs },
      { address: '0000:01:00.0', sys: model, sysfs: '' },
    ]) {
      expect(thrown(() => VfioDevice.open(bad as never)).code).toBe('INVALID_ARGUMENT');
    }
    expect(model.openFds).toBe(0);
  });

  it('no such function; bound to another driver; bound to none: UNAVAILABLE with how to bind', () => {
    const { model, sysfs } = modelWithSysfs(undefined, [
      { address: '0000:02:00.0', group: 9, driver: 'e1000e' },
      { address: '0000:03:00.0', group: 10 },
    ]);
    expect(thrown(() => VfioDevice.open({ address: '0000:09:00.0', sys: model, sysfs }))).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('lspci') });
    const e1000e = thrown(() => VfioDevice.open({ address: '0000:02:00.0', sys: model, sysfs }));
    expect(e1000e.code).toBe('UNAVAILABLE');
    expect(e1000e.message).toContain('bound to e1000e, not vfio-pci');
    expect(e1000e.message).toContain('echo 0000:02:00.0 > /sys/bus/pci/devices/0000:02:00.0/driver/unbind');
    const none = thrown(() => VfioDevice.open({ address: '0000:03:00.0', sys: model, sysfs }));
    expect(none.message).toContain('bound to no driver');
    expect(none.message).not.toContain('unbind');
    expect(model.openFds).toBe(0);
  });

  it('no IOMMU group: UNAVAILABLE, saying how to enable the IOMMU and what the no-IOMMU mode gives up', () => {
    const { model, sysfs } = modelWithSysfs();
    unlinkSync(join(sysfs, 'bus/pci/devices/0000:01:00.0/iommu_group'));
    const e = thrown(() => VfioDevice.open({ address: '0000:01:00.0', sys: model, sysfs }));
    expect(e.code).toBe('UNAVAILABLE');
    expect(e.message).toContain('intel_iommu=on');
    expect(e.message).toContain('vfio.enable_unsafe_noiommu_mode=1');
    expect(e.message).toContain('no isolation');
    expect(model.openFds).toBe(0);
  });

  it('a group that is not viable: UNAVAILABLE naming the function bound to a host driver; the fds opened are closed again', () => {
    const { model, sysfs } = modelWithSysfs({ devices: [{ address: '0000:01:00.0', group: 7 }], nonViableGroups: [7] }, [{ address: '0000:01:00.1', group: 7, driver: 'snd_hda_intel' }]);
    expect(readVfioSysfs('0000:01:00.0', sysfs).groupDevices).toEqual([{ address: '0000:01:00.1', driver: 'snd_hda_intel' }]);
    const e = thrown(() => VfioDevice.open({ address: '0000:01:00.0', sys: model, sysfs }));
    expect(e.code).toBe('UNAVAILABLE');
    expect(e.message).toContain('0000:01:00.1 is bound to snd_hda_intel');
    expect(model.openFds).toBe(0);
  });

  it('/dev/vfio missing (devfs elsewhere): UNAVAILABLE saying to load vfio-pci', () => {
    const { model, sysfs } = modelWithSysfs();
    const e = thrown(() => VfioDevice.open({ address: '0000:01:00.0', sys: model, sysfs, devfs: '/nonexistent' }));
    expect(e.code).toBe('UNAVAILABLE');
    expect(e.message).toContain('modprobe vfio-pci');
    expect(model.openFds).toBe(0);
  });

  it('a permission error on the group node: PERMISSION with a hint', () => {
    const { model, sysfs } = modelWithSysfs();
    const sys = Object.assign(Object.create(model) as VfioKernelModel, {
      open: (path: string, flags: number) => (path === '/dev/vfio/7' ? -13 : model.open(path, flags)),
    });
    const e = thrown(() => VfioDevice.open({ address: '0000:01:00.0', sys, sysfs }));
    expect(e.code).toBe('PERMISSION');
    expect(e.message).toContain('/dev/vfio/7');
    expect(model.openFds).toBe(0);
  });
});
