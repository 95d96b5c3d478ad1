/**
 * MshvPartition: what create makes and how it unwinds, one-shot MSIs by hypercall, local APIC
 * reads, and disposal, on every target; then what needs the model's own switches (a missing or
 * forbidden device, a hypervisor refusing a hypercall, APIC state set by hand) or no kernel at all.
 */
import { EACCES, EAGAIN, EINVAL, EIO, ENOMEM } from '@tsvmm/linux-sys';
import { FaultInjector } from '@tsvmm/linux-sys/testing';
import { type VirtError, isVirtError } from '@tsvmm/virt';
import { OptionReads, virtErrorThrownBy as thrown } from '@tsvmm/virt/testing';
import { MshvKernelModel } from '../src/testing';
import { MshvHypercallError, MshvPartition } from '../src';
import { ASSERT_INTERRUPT_ATTEMPTS, koffiMemory } from '../src/implement';
import { describeOnTargets, msiTo } from './support/targets';

function setup(vcpus = 2, model = new MshvKernelModel()): { model: MshvKernelModel; sys: FaultInjector; p: MshvPartition } {
  const sys = new FaultInjector(model);
  const p = MshvPartition.create({ vcpus, sys, memory: model });
  return { model, sys, p };
}

const msi = (apicId: number, vector: number, extra: Parameters<typeof msiTo>[2] = {}): [number, number] => {
  const m = msiTo(apicId, vector, extra);
  return [m.address, m.data];
};

describeOnTargets('MshvPartition', (target) => {
  describe('create', () => {
    it('opens /dev/mshv, creates an initialized LAPIC partition and one VP per vCPU with a software-enabled APIC; keeps only partition and VP fds', () => {
      const fds = target.openFdCount();
      using p = target.create({ vcpus: 3 });
      expect(target.sysOf(p).log.map((r) => r.label)).toEqual([
        'open',
        'MSHV_CREATE_PARTITION',
        'close',
        'MSHV_INITIALIZE_PARTITION',
        ...[0, 1, 2].flatMap(() => ['MSHV_CREATE_VP', 'MSHV_GET_VP_STATE', 'MSHV_SET_VP_STATE']),
      ]);
      expect(target.openFdCount() - fds).toBe(4);
      for (let v = 0; v < 3; v++) expect(p.readLocalApic(v)).toEqual({ apicId: v, irr: [], isr: [], softwareEnabled: true });
      // How the kernel made the partition can be read back on the model only.
      if (!target.real) {
        const model = target.modelOf(p);
        const mp = model.partitionOf(p.partitionFd)!;
        expect(mp.flags).toBe(1n); // LAPIC only: x2APIC-capable only when asked
        expect(mp.initialized).toBe(true);
        expect([...mp.vps.keys()]).toEqual([0, 1, 2]);
        expect(model.openFds()).toBe(4);
        expect(model.openFds('mshv')).toBe(0);
        expect(model.hazards).toEqual([]);
      }
    });

    it('capabilities: resample false with the reason, no x2APIC, 256 VPs', () => {
      using p = target.create();
      expect(p.capabilities).toMatchObject({ backend: 'mshv', resample: false, x2apic: false, maxApicId: 0xfe, maxVcpus: 256 });
      expect(p.capabilities.resampleReason).toMatch(/Fix level-triggered check on uninitialized data/);
      expect(Object.isFrozen(p.capabilities)).toBe(true);
    });

    it('a failure at any step of create leaves nothing open and nothing allocated, and is a typed error', () => {
      const steps = (() => {
        using probe = target.create();
        return target.sysOf(probe).log.length;
      })();
      let failures = 0;
      for (let step = 0; step < steps; step++) {
        for (const errno of [EIO, ENOMEM]) {
          const fds = target.openFdCount();
          const buffers = target.real ? 0 : target.modelBuffers();
          let sys: FaultInjector | undefined;
          let p: MshvPartition | undefined;
          try {
            p = target.create({ wrap: (inner) => (sys = new FaultInjector(inner).failStep(step, errno)) });
          } catch (e) {
            expect(isVirtError(e)).toBe(true);
            expect((e as VirtError).errno).toBe(errno);
            failures++;
          }
          // A failed close(/dev/mshv) still closes it (close releases the fd): create goes on.
          if (p) {
            expect(sys!.log[step]!.label).toBe('close');
            p.dispose();
          }
          expect([step, target.openFdCount()]).toEqual([step, fds]);
          // The pinned buffers are counted by the model's memory; koffi's are not.
          if (!target.real) expect([step, target.modelBuffers()]).toEqual([step, buffers]);
        }
      }
      expect(failures).toBe(2 * (steps - 1));
    });

    it('a taken VP index (EEXIST) is reported and unwound', () => {
      const fds = target.openFdCount();
      expect(thrown(() => target.create({ wrap: (inner) => new FaultInjector(inner).fail('MSHV_CREATE_VP', 17, { nth: 2 }) })).errnoName).toBe('EEXIST');
      expect(target.openFdCount()).toBe(fds);
    });
  });

  describe('requestMsi (HvCallAssertVirtualInterrupt)', () => {
    it('delivers fixed, logical and NMI messages to the right VP', () => {
      using p = target.create();
      // Start from nothing pending, whatever the VPs came with: this is about where each message lands.
      target.takeIrr(p);
      expect(p.requestMsi(...msi(1, 0x41))).toBe(true);
      expect(target.takeIrr(p)).toEqual([[1, 0x41]]);
      expect(p.requestMsi(...msi(0b01, 0x52, { destinationMode: 'logical' }))).toBe(true);
      expect(target.takeIrr(p)).toEqual([[0, 0x52]]);
      expect(p.requestMsi(...msi(1, 2, { deliveryMode: 'nmi' }))).toBe(true);
      expect(p.requestMsi(...msi(0, 0x60, { triggerMode: 'level', levelAssert: true }))).toBe(true);
      // An NMI and the trigger mode never show in IRR: the model's APICs count and record them.
      if (!target.real) {
        const model = target.modelOf(p);
        expect(model.partitionOf(p.partitionFd)!.apic(1)!.nmi).toBe(1);
        expect(model.partitionOf(p.partitionFd)!.apic(0)!.tmr[0x60 >>> 5]! & (1 << (0x60 & 31))).not.toBe(0);
        expect(model.hazards).toEqual([]);
      }
    });

    it('refuses, before any system call: vector 0, a nonzero upper address, an address outside 0xFEE, a physical destination without a VP', () => {
      using p = target.create();
      const sys = target.sysOf(p);
      const mark = sys.mark();
      const cases: Array<[number | bigint, number, RegExp]> = [
        [0xfee01000, 0x400, /vector 0/], // NMI with vector 0
        [0xfee01000, 0x0, /vector 0/],
        [0x1_fee01000n, 0x41, /upper address/],
        [0xfed01000, 0x41, /outside the interrupt window/],
        [0xfee02000, 0x41, /APIC ID 2 has no VP/],
        [0xfeeff000, 0x41, /APIC ID 255 has no VP/],
      ];
      for (const [a, d, why] of cases) {
        const e = thrown(() => p.requestMsi(a, d));
        expect(e.code).toBe('INVALID_MSI');
        expect(e.message).toMatch(why);
      }
      expect(thrown(() => p.requestMsi(-1, 0x41)).code).toBe('INVALID_ARGUMENT');
      expect(sys.callsSince(mark)).toEqual([]);
    });
  });

  describe('local APIC access', () => {
    it('a failing GET_VP_STATE is a typed error', () => {
      using p = target.create();
      target.sysOf(p).fail('MSHV_GET_VP_STATE', EIO);
      expect(thrown(() => p.readLocalApic(0)).errnoName).toBe('EIO');
    });
  });

  describe('dispose', () => {
    it('closes every fd exactly once and frees the pinned buffers; idempotent; then every call is DISPOSED', () => {
      const fds = target.openFdCount();
      const buffers = target.real ? 0 : target.modelBuffers();
      const p = target.create({ vcpus: 3 });
      const sys = target.sysOf(p);
      const owned = [p.partitionFd, p.vpFd(0), p.vpFd(1), p.vpFd(2)];
      const mark = sys.mark();
      p.dispose();
      p.dispose();
      p[Symbol.dispose]();
      const closes = sys.callsSince(mark).filter((r) => r.call === 'close').map((r) => r.fd);
      expect(closes.sort()).toEqual(owned.sort());
      expect(target.openFdCount()).toBe(fds);
      // The pinned buffers are counted by the model's memory; koffi's are not.
      if (!target.real) expect(target.modelBuffers()).toBe(buffers);
      for (const f of [() => p.requestMsi(0xfee00000, 0x41), () => p.readLocalApic(0), () => p.clearIrr(0), () => p.partitionFd, () => p.vpFd(0)]) {
        expect(thrown(f).code).toBe('DISPOSED');
      }
      expect(p.disposed).toBe(true);
    });

    it('dispose never throws, even when every close fails', () => {
      const fds = target.openFdCount();
      const p = target.create();
      target.sysOf(p).fail('close', EIO, { times: 100 });
      expect(() => p.dispose()).not.toThrow();
      expect(target.openFdCount()).toBe(fds);
    });
  });
});

describe('MshvPartition.create (mshv model)', () => {
  // The model stands in for a host without the device and for one that forbids it.
  it('a missing device is UNAVAILABLE saying this host is not a root partition; EACCES is PERMISSION', () => {
    const e = thrown(() => MshvPartition.create({ vcpus: 1, sys: new MshvKernelModel({ device: 'missing' }), memory: new MshvKernelModel() }));
    expect(e.code).toBe('UNAVAILABLE');
    expect(e.message).toMatch(/not a Microsoft Hypervisor root partition/);
    const d = thrown(() => MshvPartition.create({ vcpus: 1, sys: new MshvKernelModel({ device: EACCES }), memory: new MshvKernelModel() }));
    expect(d.code).toBe('PERMISSION');
    expect(d.errno).toBe(EACCES);
    // Read from the node itself (devicePermissionHint): where it is missing, the hint still says what to do.
    expect(d.message).toMatch(/\/dev\/mshv (could not be opened read-write by this user: run as a user with access to it, or as root|is \S+ \d{4})/);
  });

  it('bad options are INVALID_ARGUMENT before any system call', () => {
    const model = new MshvKernelModel();
    const sys = new FaultInjector(model);
    const bad: unknown[] = [
      null,
      {},
      { vcpus: 0, sys, memory: model },
      { vcpus: 257, sys, memory: model },
      { vcpus: 1.5, sys, memory: model },
      { vcpus: '2', sys, memory: model },
      { vcpus: 1, sys: 'libc', memory: model },
      { vcpus: 1, sys, memory: {} },
      { vcpus: 1, sys, memory: model, device: '' },
      { vcpus: 1, sys, memory: model, maxRoutes: 0 },
      { vcpus: 1, sys, memory: model, maxKernelRoutes: 4096 },
      { vcpus: 1, sys, memory: model, relayPlatform: 'epoll' },
    ];
    for (const o of bad) expect(thrown(() => MshvPartition.create(o as never)).code).toBe('INVALID_ARGUMENT');
    expect(sys.log).toEqual([]);
    expect(model.allocatedBuffers).toBe(0);
  });

  it('reads each option exactly once', () => {
    const model = new MshvKernelModel();
    const reads = new OptionReads();
    MshvPartition.create(reads.watch({ vcpus: 2, sys: model, memory: model, device: '/dev/mshv' })).dispose();
    expect(reads.counts).toEqual({ vcpus: 1, x2apic: 1, apicIds: 1, sys: 1, memory: 1, device: 1, maxRoutes: 1, maxKernelRoutes: 1, relayPlatform: 1, retargetWindowMs: 1 });
  });
});

// A real hypervisor cannot be made to refuse a hypercall on demand; the model's can, with the status it would return.
describe('requestMsi when the hypervisor refuses (mshv model)', () => {
  it(`retries EAGAIN up to ${ASSERT_INTERRUPT_ATTEMPTS} times, then fails with the errno`, () => {
    const { model, sys, p } = setup();
    model.failNextHypercall(EAGAIN, 0x0b, ASSERT_INTERRUPT_ATTEMPTS - 1);
    let mark = sys.mark();
    expect(p.requestMsi(...msi(1, 0x41))).toBe(true);
    expect(sys.callsSince(mark).filter((r) => r.label === 'MSHV_ROOT_HVCALL')).toHaveLength(ASSERT_INTERRUPT_ATTEMPTS);
    expect(p.readLocalApic(1).irr).toEqual([0x41]);
    model.failNextHypercall(EAGAIN, 0x0b, ASSERT_INTERRUPT_ATTEMPTS);
    mark = sys.mark();
    const e = thrown(() => p.requestMsi(...msi(1, 0x42)));
    expect(e).toBeInstanceOf(MshvHypercallError);
    expect(e.errno).toBe(EAGAIN);
    expect(sys.callsSince(mark)).toHaveLength(ASSERT_INTERRUPT_ATTEMPTS);
    expect(p.readLocalApic(1).irr).toEqual([0x41]);
    model.failNextHypercall(EAGAIN, 0x0b, 0);
    p.dispose();
  });

  it('a hypervisor failure is a typed error carrying the errno and the hypervisor status', () => {
    const { model, p } = setup();
    model.failNextHypercall(ENOMEM, 0x0b);
    const e = thrown(() => p.requestMsi(...msi(0, 0x41))) as MshvHypercallError;
    expect(e).toBeInstanceOf(MshvHypercallError);
    expect(e.code).toBe('SYSCALL');
    expect(e.errno).toBe(ENOMEM);
    expect(e.hvStatus).toBe(0x0b);
    expect(e.message).toMatch(/HV_STATUS_INSUFFICIENT_MEMORY/);
    expect(e.message).toContain(e.kernelRelease);
    model.failNextHypercall(EINVAL, 0x05);
    expect((thrown(() => p.requestMsi(...msi(0, 0x41))) as MshvHypercallError).hvStatus).toBe(5);
    p.dispose();
  });
});

describe('local APIC access (mshv model)', () => {
  // ISR bits and chosen IRR bits can be set by hand only in the model's APIC.
  it('readLocalApic reads the hypervisor format; clearIrr clears only IRR', () => {
    const { model, p } = setup();
    const apic = model.partitionOf(p.partitionFd)!.apic(1)!;
    apic.acceptVector(0x41, false);
    apic.acceptVector(0xfe, false);
    apic.isr[1] = 1;
    expect(p.readLocalApic(1)).toEqual({ apicId: 1, irr: [0x41, 0xfe], isr: [0x20], softwareEnabled: true });
    p.clearIrr(1);
    expect(p.readLocalApic(1)).toEqual({ apicId: 1, irr: [], isr: [0x20], softwareEnabled: true });
    // A VP out of range is refused naming the method called.
    expect([thrown(() => p.readLocalApic(2)), thrown(() => p.clearIrr(-1)), thrown(() => p.vpFd(2))].map((e) => [e.code, e.operation])).toEqual([
      ['INVALID_ARGUMENT', 'MshvPartition.readLocalApic'],
      ['INVALID_ARGUMENT', 'MshvPartition.clearIrr'],
      ['INVALID_ARGUMENT', 'MshvPartition.vpFd'],
    ]);
    p.dispose();
  });
});

test('koffi memory hands out page-aligned, writable buffers (what the real kernel needs)', () => {
  const m = koffiMemory();
  const b = m.allocate(4096, 4096);
  expect(b.address % 4096n).toBe(0n);
  expect(b.bytes.byteLength).toBe(4096);
  expect(b.bytes.every((x) => x === 0)).toBe(true);
  b.bytes[4095] = 7;
  m.free(b);
  m.free(b);
});
