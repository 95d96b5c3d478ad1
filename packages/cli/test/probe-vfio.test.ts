/**
 * `tsvmm probe`'s VFIO section on fake sysfs and devfs trees: the VFIO kernel model's
 * `writeSysfs` lays out the devices, a temporary devfs holds the nodes, and the model answers the
 * container's ioctls. Each missing thing is reported with its reason and what to do; the listings
 * are bounded; the JSON validates against schemas/probe.schema.json.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { EACCES } from '@tsvmm/linux-sys';
import type { VfioSyscalls } from '@tsvmm/vfio';
import { VfioKernelModel, type VfioModelOptions } from '@tsvmm/vfio/testing';
import { memoryIo } from '../src/cli/io';
import { main } from '../src/cli/main';
import type { ProbeReport } from '../src/probe/backends';
import { VFIO_LIST_LIMIT, type VfioReport, probeVfio } from '../src/probe/vfio';

const ADDRESS = '0000:01:00.0';

interface FakeHost {
  readonly sysfs: string;
  readonly devfs: string;
  readonly model: VfioKernelModel;
  /** The model's calls, with devfs paths taken as the model's `/dev` paths. */
  readonly sys: VfioSyscalls;
}

let roots: string[] = [];
afterEach(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
  roots = [];
});

function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  roots.push(dir);
  return dir;
}

/** Links each function bound to vfio-pci from the driver's directory, as the kernel does. */
function linkDriverEntries(sysfs: string, driver: string, addresses: readonly string[]): void {
  const dir = path.join(sysfs, 'bus/pci/drivers', driver);
  fs.mkdirSync(dir, { recursive: true });
  for (const a of addresses) fs.symlinkSync(path.join(sysfs, 'bus/pci/devices', a), path.join(dir, a));
}

function fakeHost(
  opts: { model?: VfioModelOptions; others?: { address: string; group?: number; driver?: string }[]; nodes?: string[]; open?: (path: string) => number | undefined } = {},
): FakeHost {
  const model = new VfioKernelModel(opts.model ?? { devices: [{ address: ADDRESS, group: 7 }], cdev: true });
  const sysfs = tempDir('tsvmm-sysfs-');
  const devfs = tempDir('tsvmm-devfs-');
  model.writeSysfs(sysfs, opts.others ?? []);
  linkDriverEntries(
    sysfs,
    'vfio-pci',
    fs.readdirSync(path.join(sysfs, 'bus/pci/devices')).filter((a) => {
      try {
        return path.basename(fs.readlinkSync(path.join(sysfs, 'bus/pci/devices', a, 'driver'))) === 'vfio-pci';
      } catch {
        return false;
      }
    }),
  );
  for (const node of opts.nodes ?? ['vfio/vfio', 'vfio/7', 'iommu', 'vfio/devices/vfio0']) {
    fs.mkdirSync(path.dirname(path.join(devfs, node)), { recursive: true });
    fs.writeFileSync(path.join(devfs, node), '');
  }
  const sys = new Proxy(model, {
    get(target, key): unknown {
      if (key === 'open') {
        return (p: string, flags: number): number => opts.open?.(p) ?? target.open(p.startsWith(devfs) ? `/dev${p.slice(devfs.length)}` : p, flags);
      }
      const v = Reflect.get(target, key, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as unknown as VfioSyscalls;
  return { sysfs, devfs, model, sys };
}

const whats = (r: VfioReport): string[] => r.problems.map((p) => p.what);

describe('tsvmm probe: VFIO', () => {
  it('a function bound to vfio-pci in a viable group, with the container, iommufd and its cdev: ready, nothing missing', () => {
    const host = fakeHost();
    const r = probeVfio(host);
    expect(r.problems).toEqual([]);
    expect(r.ready).toBe(true);
    expect(r.container).toEqual({ present: true, apiVersion: 0, type1v2: true });
    expect(r.groups).toEqual([{ group: 7, devices: [{ address: ADDRESS, driver: 'vfio-pci' }], viable: true }]);
    expect(r.groupCount).toBe(1);
    expect(r.vfioPci).toEqual([{ address: ADDRESS, group: 7, cdev: 'vfio0', blockers: [], groupAccess: true }]);
    expect(r.vfioPciCount).toBe(1);
    expect({ iommufd: r.iommufd, cdevs: r.cdevs, noIommuMode: r.noIommuMode }).toEqual({ iommufd: true, cdevs: true, noIommuMode: null });
    // The container was opened to ask, and closed again.
    expect(host.model.openFds).toBe(0);
  });

  it('a group with a function on a host driver is not viable: the blocker is named, with what to do', () => {
    const host = fakeHost({ others: [{ address: '0000:01:00.1', group: 7, driver: 'snd_hda_intel' }] });
    const r = probeVfio(host);
    expect(r.ready).toBe(false);
    expect(r.groups[0]).toEqual({
      group: 7,
      devices: [
        { address: ADDRESS, driver: 'vfio-pci' },
        { address: '0000:01:00.1', driver: 'snd_hda_intel' },
      ],
      viable: false,
    });
    expect(r.vfioPci[0]!.blockers).toEqual(['0000:01:00.1 (snd_hda_intel)']);
    expect(r.problems).toEqual([
      {
        what: ADDRESS,
        reason: expect.stringContaining('IOMMU group 7 of 0000:01:00.0 is not viable: 0000:01:00.1 (snd_hda_intel) is bound to a host driver'),
        hint: expect.stringMatching(/Bind every function of the group to vfio-pci/),
      },
    ]);
  });

  it('a bridge of the group on pcieport keeps it viable', () => {
    const r = probeVfio(fakeHost({ others: [{ address: '0000:00:01.0', group: 7, driver: 'pcieport' }] }));
    expect(r.groups[0]!.viable).toBe(true);
    expect(r.vfioPci[0]!.blockers).toEqual([]);
    expect(r.ready).toBe(true);
  });

  it('a host without VFIO or an IOMMU: each missing thing with the reason and what to do, never a throw', () => {
    const sysfs = tempDir('tsvmm-sysfs-');
    const devfs = tempDir('tsvmm-devfs-');
    const r = probeVfio({ sysfs, devfs });
    expect(r.ready).toBe(false);
    expect(r.container).toEqual({ present: false, apiVersion: null, type1v2: null });
    expect(whats(r)).toEqual([path.join(devfs, 'vfio/vfio'), 'IOMMU groups', 'vfio-pci']);
    expect(r.problems[0]!.hint).toMatch(/modprobe vfio-pci/);
    expect(r.problems[1]!.hint).toMatch(/intel_iommu=on .*amd_iommu=on/);
    expect(r.problems[2]!.hint).toMatch(/driver_override/);
    expect({ iommufd: r.iommufd, cdevs: r.cdevs, groups: r.groups, vfioPci: r.vfioPci }).toEqual({ iommufd: false, cdevs: false, groups: [], vfioPci: [] });
  });

  it('a container this user may not open: PERMISSION with the device-permission hint', () => {
    const host = fakeHost({ open: (p) => (p.endsWith('vfio/vfio') ? -EACCES : undefined) });
    const r = probeVfio(host);
    expect(r.container).toEqual({ present: true, apiVersion: null, type1v2: null });
    expect(r.ready).toBe(false);
    const p = r.problems.find((x) => x.what === path.join(host.devfs, 'vfio/vfio'))!;
    expect(p.reason).toMatch(/^PERMISSION: .*EACCES/);
    expect(p.hint).toContain(path.join(host.devfs, 'vfio/vfio'));
  });

  it('a group node this user may not open read-write: groupAccess false, with the hint', () => {
    const host = fakeHost();
    fs.chmodSync(path.join(host.devfs, 'vfio/7'), 0o400);
    // root reads and writes anything: only an unprivileged user sees the refusal.
    const unprivileged = process.getuid?.() !== 0;
    const r = probeVfio(host);
    expect(r.vfioPci[0]!.groupAccess).toBe(!unprivileged);
    expect(r.ready).toBe(!unprivileged);
    if (unprivileged) expect(whats(r)).toEqual([path.join(host.devfs, 'vfio/7')]);
  });

  it('a function without an IOMMU group and a missing group node are reported', () => {
    const host = fakeHost({ nodes: ['vfio/vfio'] });
    fs.unlinkSync(path.join(host.sysfs, 'bus/pci/devices', ADDRESS, 'iommu_group'));
    const noGroup = probeVfio(host);
    expect(noGroup.vfioPci[0]).toMatchObject({ group: null, groupAccess: null });
    expect(noGroup.problems.find((p) => p.what === ADDRESS)!.hint).toMatch(/intel_iommu=on/);
    const other = fakeHost({ nodes: ['vfio/vfio'] });
    const noNode = probeVfio(other);
    expect(noNode.problems.map((p) => p.what)).toEqual([path.join(other.devfs, 'vfio/7')]);
    expect({ iommufd: noNode.iommufd, cdevs: noNode.cdevs }).toEqual({ iommufd: false, cdevs: false });
  });

  it('no-IOMMU mode on is reported with what it gives up; off is false', () => {
    const host = fakeHost();
    const param = path.join(host.sysfs, 'module/vfio/parameters/enable_unsafe_noiommu_mode');
    fs.mkdirSync(path.dirname(param), { recursive: true });
    fs.writeFileSync(param, 'N\n');
    expect(probeVfio(host).noIommuMode).toBe(false);
    fs.writeFileSync(param, 'Y\n');
    const r = probeVfio(host);
    expect(r.noIommuMode).toBe(true);
    expect(r.problems.find((p) => p.what === 'no-IOMMU mode')!.reason).toMatch(/no DMA translation and no isolation/);
  });

  it('lists at most VFIO_LIST_LIMIT groups and vfio-pci functions, and counts them all', () => {
    const n = VFIO_LIST_LIMIT + 6;
    const devices = Array.from({ length: n }, (_, i) => ({ address: `0000:${(i + 1).toString(16).padStart(2, '0')}:00.0`, group: i }));
    const host = fakeHost({ model: { devices }, nodes: ['vfio/vfio'] });
    const r = probeVfio(host);
    expect(r.groups).toHaveLength(VFIO_LIST_LIMIT);
    expect(r.groupCount).toBe(n);
    expect(r.vfioPci).toHaveLength(VFIO_LIST_LIMIT);
    expect(r.vfioPciCount).toBe(n);
  });

  it('the probe command shows the section in text and JSON, and the JSON validates against the schema', async () => {
    const host = fakeHost({ others: [{ address: '0000:01:00.1', group: 7, driver: 'snd_hda_intel' }] });
    const text = memoryIo();
    expect(await main(['probe'], text, { vfioProbe: host })).toBe(0);
    expect(text.stdout).toContain('\nVFIO: not ready\n  /dev/vfio/vfio API version 0, type1v2 IOMMU yes\n  IOMMU groups: 1 (0 of those listed viable for VFIO)\n');
    expect(text.stdout).toContain('  vfio-pci 0000:01:00.0: group 7 (not viable), cdev vfio0\n');
    expect(text.stdout).toContain('  iommufd (/dev/iommu) yes, device cdevs (/dev/vfio/devices) yes');
    expect(text.stdout).toMatch(/\n {4}Bind every function of the group to vfio-pci/);
    const json = memoryIo();
    expect(await main(['probe', '--json'], json, { vfioProbe: host })).toBe(0);
    const doc = JSON.parse(json.stdout) as ProbeReport;
    expect(doc.vfio.vfioPci[0]!.blockers).toEqual(['0000:01:00.1 (snd_hda_intel)']);
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    const validate = ajv.compile(JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'schemas', 'probe.schema.json'), 'utf8')) as object);
    expect(validate(doc) ? [] : validate.errors).toEqual([]);
    const broken = JSON.parse(json.stdout) as { vfio: { vfioPci: { group: unknown }[] } };
    broken.vfio.vfioPci[0]!.group = 'seven';
    expect(validate(broken)).toBe(false);
  });
});
