/**
 * The assigned device's own surface: config-space virtualisation (BAR sizing, ROM, INTx Disable,
 * the capabilities), the byte-granular BAR split, the mmap-able ranges, DMA mapping and
 * unmapping on both VFIO paths, dynamic MSI-X, event replacement, and typed errors that change
 * nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Event, IrqFd, IrqFdRoute } from '@tsvmm/virt';
import { isVirtError } from '@tsvmm/virt';
import { thrownBy } from '@tsvmm/virt/testing';
import { KvmPartition } from '@tsvmm/virt-kvm';
import { KvmKernelModel } from '@tsvmm/virt-kvm/testing';
import { AssignedPciDevice, VfioDevice } from '../src';
import { VfioKernelModel } from '../src/testing';
import { assign, describeAssignedTargets } from './support/assigned-targets';
import { modelOnly } from './support/model-only';
import { MSIX_CAP, TABLE_BAR, logTaker, maskVector, mmioRead32, mmioWrite32, msixControl, msixDriverUp, programVector } from './support/guest';

describeAssignedTargets('assigned device: config space', (target) => {
  modelOnly(target, "the sizes are the model device's")('BARs size as the spec says, keep the guest address, and never reach the device', () => {
    using env = target.create();
    using dev = assign(env);
    if (!env.model) throw new Error('model only');
    const vfioBars = Array.from(env.model.vfio.device().vconfig.subarray(0x10, 0x28));
    const bar = (i: number) => dev.configRead(0x10 + 4 * i, 4);
    for (let i = 0; i < 6; i++) dev.configWrite(0x10 + 4 * i, 4, 0xffffffff);
    expect([0, 1, 2, 3, 4, 5].map(bar)).toEqual([0xffffc000, 0, 0xffffc004, 0xffffffff, 0xffffffe1, 0]);
    expect(dev.configRead(0x30, 4)).toBe(0); // no ROM
    dev.configWrite(0x10, 4, 0xfebf0000);
    dev.configWrite(0x18, 4, 0x00004000);
    dev.configWrite(0x1c, 4, 0x1);
    expect(dev.barAddress(0)).toBe(0xfebf0000);
    expect(dev.barAddress(2)).toBe(0x1_0000_4000);
    expect(dev.barAddress(1)).toBeUndefined();
    // vfio's virtual BAR registers (the host's addresses since the open) were never written.
    expect(Array.from(env.model.vfio.device().vconfig.subarray(0x10, 0x28))).toEqual(vfioBars);
    expect(new DataView(env.model.vfio.device().vconfig.buffer).getUint32(0x10, true)).toBe(env.model.vfio.device().bar(0)!.hostAddress);
    expect(dev.bars.map((b) => b && { index: b.index, kind: b.kind, size: b.size })).toEqual([
      { index: 0, kind: 'mem32', size: 0x4000 },
      undefined,
      { index: 2, kind: 'mem64', size: 0x4000 },
      undefined,
      { index: 4, kind: 'io', size: 0x20 },
      undefined,
    ]);
  });

  it('Command: INTx Disable is kept here and forwarded; other bits reach the device', () => {
    using env = target.create();
    using dev = assign(env);
    dev.configWrite(0x04, 2, 0x0406);
    expect(dev.configRead(0x04, 2) & 0x0406).toBe(0x0406);
    if (env.model) {
      expect(env.model.vfio.device().config[0x04]).toBe(0x06);
      expect(env.model.vfio.device().vconfig[0x05]! & 0x04).toBe(0x04); // vfio-pci masks INTx for it
    }
    dev.configWrite(0x05, 1, 0x00);
    expect(dev.configRead(0x04, 2) & 0x0400).toBe(0);
  });

  it('the MSI-X and MSI capabilities are the emulators; other bytes pass through, an access straddling both is split', () => {
    using env = target.create();
    using dev = assign(env);
    expect(dev.msixCapability).toBe(env.model ? MSIX_CAP : dev.msixCapability);
    const x = dev.msixCapability!;
    expect(dev.configRead(x, 1)).toBe(0x11);
    expect(dev.configRead(x + 2, 2) & 0x7ff).toBe(dev.msix!.vectors - 1);
    msixControl(dev, true, true);
    expect(dev.configRead(x + 2, 2) >> 14).toBe(3);
    if (!env.model) return;
    expect(env.model.vfio.device().config[MSIX_CAP + 3]).toBe(0); // the device's own Function Mask untouched
    expect(dev.configRead(0, 4)).toBe(0x10f01af4);
    // 0x0e-0x11: header type, BIST (device) and the first two bytes of BAR0 (virtual).
    dev.configWrite(0x10, 4, 0xfebfc000);
    expect(dev.configRead(0x0e, 4)).toBe(0xc0000000);
    expect(dev.configRead(0x11, 2)).toBe(0xbfc0);
    // Bytes of the MSI capability one at a time (an access of the guest's choosing).
    expect(dev.configRead(0x40, 1)).toBe(0x05);
    expect(dev.configRead(0x41, 1)).toBe(MSIX_CAP);
  });
});

describeAssignedTargets('assigned device: BARs', (target) => {
  modelOnly(target, "the layout is the model device's")('accesses split at byte granularity between the MSI-X table and the device', () => {
    using env = target.create();
    const errors: Error[] = [];
    using dev = assign(env, errors);
    if (!env.model) throw new Error('model only');
    dev.configWrite(0x04, 2, 0x0002);
    const mem = env.model.vfio.device().barMemory.get(TABLE_BAR)!;
    // An 8-byte write at 0x7c: vector 7's Vector Control (emulator) and 0x80-0x83 (device).
    dev.barWrite(TABLE_BAR, 0x7c, Uint8Array.of(0, 0, 0, 0, 0xaa, 0xbb, 0xcc, 0xdd));
    expect(dev.msix!.entry(7).masked).toBe(false);
    expect(Array.from(mem.subarray(0x7c, 0x84))).toEqual([0, 0, 0, 0, 0xaa, 0xbb, 0xcc, 0xdd]);
    const back = new Uint8Array(8);
    dev.barRead(TABLE_BAR, 0x7c, back);
    expect(Array.from(back)).toEqual([0, 0, 0, 0, 0xaa, 0xbb, 0xcc, 0xdd]);
    // Plain device registers.
    mmioWrite32(dev, 0, 0x100, 0x12345678);
    expect(mmioRead32(dev, 0, 0x100)).toBe(0x12345678);
    // Past the end of the BAR: the in-range bytes reach the device, the rest read 0xFF.
    const edge = new Uint8Array(4);
    dev.barRead(0, 0x3ffe, edge);
    expect(Array.from(edge.subarray(2))).toEqual([0xff, 0xff]);
    expect(errors).toEqual([]);
    // Memory Space off: vfio answers EIO; the guest reads 0xFF and the failure is reported.
    dev.configWrite(0x04, 2, 0);
    expect(mmioRead32(dev, 0, 0x100)).toBe(0xffffffff);
    expect(errors.length).toBe(1);
    expect(isVirtError(errors[0], 'SYSCALL') && (errors[0] as { errno?: number }).errno).toBe(5);
    // The table still answers: it is the emulator's.
    expect(mmioRead32(dev, TABLE_BAR, 12)).toBe(1);
  });

  it('mappable ranges leave out the MSI-X table and PBA pages', () => {
    using env = target.create();
    using dev = assign(env);
    for (const b of dev.bars) {
      if (!b) continue;
      for (const r of b.mappable) {
        expect(r.offset % 4096).toBe(0);
        expect(r.size % 4096).toBe(0);
        const t = dev.msix?.layout;
        if (t && t.tableBir === b.index) expect(r.offset + r.size <= Math.floor(t.tableOffset / 4096) * 4096 || r.offset >= t.tableOffset + t.tableSize).toBe(true);
        if (t && t.pbaBir === b.index) expect(r.offset + r.size <= Math.floor(t.pbaOffset / 4096) * 4096 || r.offset >= t.pbaOffset + t.pbaSize).toBe(true);
      }
    }
    if (env.model) expect(dev.bars.map((b) => b?.mappable)).toEqual([[{ offset: 0, size: 0x4000 }], undefined, [{ offset: 0x1000, size: 0x1000 }, { offset: 0x3000, size: 0x1000 }], undefined, [], undefined]);
  });
});

describeAssignedTargets('assigned device: MSI-X growth and event replacement', (target) => {
  it('dynamic MSI-X (no NORESIZE): a vector past the block is bound in place, no disable', () => {
    using env = target.create({ devices: [{ address: '0000:01:00.0', group: 7, dynamicMsix: true }] });
    using dev = assign(env);
    const L = logTaker(env);
    msixDriverUp(dev, 0, 0, 0x41);
    programVector(dev, 5, 1, 0x45);
    const fd = (v: number) => dev.msixRoutes[v]!.event.fd;
    const vfio = L.vfio();
    if (vfio) expect(vfio).toEqual(['SET_IRQS MSIX start=0 [-1]', `SET_IRQS MSIX start=0 [${fd(0)}]`, `SET_IRQS MSIX start=5 [${fd(5)}]`]);
    env.raiseMsix(5);
    expect(env.irr()).toEqual(['1:69']);
  });

  modelOnly(target, 'no Linux backend replaces route events; the wrapper stands in for one')('a replaced route event is re-pointed in vfio before the old event is closed', () => {
    using env = target.create();
    if (!env.model) throw new Error('model only');
    const { kvm, bridge } = env.model;
    const inner = env.vm.irqfd()!;
    const replacers: ((e: Event) => void)[][] = [];
    const current: Event[] = [];
    // An irqfd whose routes can replace their event, as WHP's do: listeners first, then the old event goes.
    const irqfd: IrqFd = {
      get capabilities() {
        return { ...inner.capabilities, stableEvent: false };
      },
      get routeCount() {
        return inner.routeCount;
      },
      get commitCount() {
        return inner.commitCount;
      },
      batch: (fn) => inner.batch(fn),
      settle: () => inner.settle(),
      newIrqFdRoute(): IrqFdRoute {
        const r = inner.newIrqFdRoute();
        const i = replacers.length;
        replacers.push([]);
        current.push(r.event);
        return new Proxy(r, {
          get(t, p) {
            if (p === 'event') return current[i];
            if (p === 'onEventReplaced') return (l: (e: Event) => void) => (replacers[i]!.push(l), () => undefined);
            const v = Reflect.get(t, p, t) as unknown;
            return typeof v === 'function' ? ((v as (...a: unknown[]) => unknown).bind(t) as unknown) : v;
          },
        });
      },
    };
    using dev = AssignedPciDevice.create({ device: env.device, irqfd });
    msixDriverUp(dev, 0, 0, 0x41);
    bridge.vfioLog.length = 0;
    const replace = (v: number): number => {
      const fd = kvm.eventfd(0, 0x80800);
      const e = { kind: 'eventfd', fd, handle: undefined, disposed: false, signal: () => undefined, dispose: () => undefined, [Symbol.dispose]: () => undefined } as unknown as Event;
      current[v] = e;
      for (const l of replacers[v]!) l(e);
      bridge.vfioLog.push('old event closed');
      return fd;
    };
    const fresh = replace(0);
    expect(bridge.vfioLog).toEqual([`SET_IRQS MSIX start=0 [${fresh}]`, 'old event closed']);
    expect(bridge.isTrigger(fresh, 'msix', 0)).toBe(true);
    bridge.vfioLog.length = 0;
    replace(3); // never bound: nothing to re-point
    expect(bridge.vfioLog).toEqual(['old event closed']);
    dev.dispose();
    kvm.close(fresh);
  });
});

describeAssignedTargets('assigned device: host vector shortage', (target) => {
  modelOnly(target, 'the host vector limit is the model\'s hostVectors')('SET_IRQS answering fewer vectors than asked is reported as EXHAUSTED, and vfio and the device object agree afterwards', () => {
    using env = target.create({ devices: [{ address: '0000:01:00.0', group: 7, hostVectors: 1 }] });
    const errors: Error[] = [];
    using dev = assign(env, errors);
    msixDriverUp(dev, 0, 0, 0x41);
    expect(dev.boundMsixVectors).toEqual([0]);
    programVector(dev, 1, 1, 0x42);
    expect(errors.map((e) => isVirtError(e) && e.code)).toEqual(['EXHAUSTED']);
    expect(dev.boundMsixVectors).toEqual([]);
    expect(env.model!.vfio.device().irq.mode).toBe('none');
    env.raiseMsix(0);
    expect(env.irr()).toEqual([]);
  });
});

describe('assigned device: DMA mapping, both VFIO paths (VFIO model + KVM model)', () => {
  const RAM = [
    { guestAddress: 0, hostAddress: 0x7f00_0000_0000n, size: 0x10_0000 },
    { guestAddress: 0x1_0000_0000n, hostAddress: 0x7f10_0000_0000n, size: 0x20_0000n },
  ];
  for (const path of ['legacy', 'cdev'] as const) {
    it(`${path}: guest RAM mapped at create, unmapped on dispose; a failed map undoes the others`, () => {
      const model = new VfioKernelModel();
      const sysfs = mkdtempSync(join(tmpdir(), 'tsvmm-dma-'));
      model.writeSysfs(sysfs);
      using device = VfioDevice.open({ address: '0000:01:00.0', path, sys: model, sysfs });
      rmSync(sysfs, { recursive: true, force: true });
      using vm = KvmPartition.create({ vcpus: 1, sys: new KvmKernelModel({ apicIds: [0] }), irqfd: 'kernel' });
      const mapped = () => model.mappings(device.iommuFd, path === 'cdev' ? device.ioasId : undefined).map((m) => [m.iova, m.size]);
      const dev = AssignedPciDevice.create({ device, irqfd: vm.irqfd()!, dma: RAM });
      expect(mapped()).toEqual([[0n, 0x10_0000n], [0x1_0000_0000n, 0x20_0000n]]);
      dev.dispose();
      dev.dispose();
      expect(mapped()).toEqual([]);
      // The second range crosses the x86 MSI window the IOMMU reserves: EINVAL, the first is unmapped again.
      const e = thrownBy(() => AssignedPciDevice.create({ device, irqfd: vm.irqfd()!, dma: [RAM[0]!, { guestAddress: 0xfee0_0000, hostAddress: 0x7f20_0000_0000n, size: 0x1000 }] }));
      expect(isVirtError(e, 'SYSCALL') && (e as { errno?: number }).errno).toBe(22);
      expect(mapped()).toEqual([]);
      expect(vm.irqfd()!.routeCount).toBe(0);
      device.dispose();
      expect(model.hazards).toEqual([]);
    });
  }
});

describeAssignedTargets('assigned device: typed errors, nothing changed', (target) => {
  it('bad options are INVALID_ARGUMENT before any route or mapping is made', () => {
    using env = target.create();
    const irqfd = env.vm.irqfd()!;
    const bad: unknown[] = [
      undefined,
      {},
      { device: env.device },
      { device: {}, irqfd },
      { device: env.device, irqfd: {} },
      { device: env.device, irqfd, dma: 'all' },
      { device: env.device, irqfd, dma: [{ guestAddress: 1, hostAddress: 0, size: 4096 }] },
      { device: env.device, irqfd, dma: [{ guestAddress: 0, hostAddress: 0, size: 0 }] },
      { device: env.device, irqfd, dma: [{ guestAddress: -4096, hostAddress: 0, size: 4096 }] },
      { device: env.device, irqfd, dma: [{ guestAddress: 0, hostAddress: 0, size: 8192 }, { guestAddress: 4096, hostAddress: 0x10000, size: 4096 }] },
      { device: env.device, irqfd, onError: 5 },
      { device: env.device, irqfd, extra: 1 },
    ];
    const L = logTaker(env);
    for (const o of bad) {
      const e = thrownBy(() => AssignedPciDevice.create(o as never));
      expect(isVirtError(e, 'INVALID_ARGUMENT')).toBe(true);
    }
    expect(irqfd.routeCount).toBe(0);
    const calls = L.vfio();
    if (calls) expect(calls).toEqual([]);
  });

  it('reset without a reset method is UNSUPPORTED and changes nothing; a bad snapshot is INVALID_ARGUMENT', () => {
    using env = target.create({ devices: [{ address: '0000:01:00.0', group: 7, resetWorks: false }] });
    using dev = assign(env);
    msixDriverUp(dev, 0, 0, 0x41);
    const before = dev.save();
    const L = logTaker(env);
    L.vfio();
    if (env.model) {
      expect(isVirtError(thrownBy(() => dev.reset()), 'UNSUPPORTED')).toBe(true);
      expect(L.vfio()).toEqual([]);
      expect(dev.save()).toEqual(before);
    }
    for (const s of [null, {}, { ...before, version: 3 }, { ...before, msixLive: undefined }, { ...before, msixLive: [8] }, { ...before, msixLive: [0, 0] }, { ...before, msixLive: ['0'] }, { ...before, msix: { ...before.msix!, enable: false } }, { ...before, bars: [1] }, { ...before, msix: undefined }, { ...before, msix: { ...before.msix!, vectors: 3 } }, { ...before, msi: { bogus: 1 } }]) {
      expect(isVirtError(thrownBy(() => dev.restore(s as never)), 'INVALID_ARGUMENT')).toBe(true);
    }
    expect(L.vfio() ?? []).toEqual([]);
    expect(dev.save()).toEqual(before);
  });

  it('after dispose: guest accesses are master aborts, VMM calls are DISPOSED, everything is unbound', () => {
    using env = target.create();
    const dev = assign(env);
    msixControl(dev, true, false);
    programVector(dev, 0, 0, 0x41);
    maskVector(dev, 0, true);
    dev.dispose();
    expect(dev.isDisposed).toBe(true);
    expect(dev.configRead(0, 4)).toBe(0xffffffff);
    expect(mmioRead32(dev, TABLE_BAR, 0)).toBe(0xffffffff);
    dev.configWrite(0x52, 2, 0x8000);
    expect(isVirtError(thrownBy(() => dev.reset()), 'DISPOSED')).toBe(true);
    expect(isVirtError(thrownBy(() => dev.save()), 'DISPOSED')).toBe(true);
    expect(env.vm.irqfd()!.routeCount).toBe(0);
    if (env.model) expect(env.model.vfio.device().irq.mode).toBe('none');
  });
});
