/**
 * x2APIC partitions on KVM: vCPUs at APIC IDs 0, 255, 256 and 1000 (those the host's
 * KVM_CAP_MAX_VCPU_ID allows), each delivery read back from the right vCPU's IRR with
 * KVM_GET_LAPIC: by kernel irqfd, by the overflow relay, by the user-space relay,
 * and by an extended destination ID. One body, run on the KVM model and on /dev/kvm where it exists.
 */
import { type IrqFdRoute, type MsiMessage, encodeMsi, isVirtError } from '@tsvmm/virt';
import type { KvmPartition } from '../src';
import { FaultInjector } from '@tsvmm/linux-sys/testing';
import { type KvmTarget, describeOnTargets } from './support/targets';

/** The APIC IDs to reach: the first, the xAPIC broadcast ID, the first above 255, and one with bits 14:8 set. */
const WANTED = [0, 255, 256, 1000];

/** The wanted IDs this kernel allows (vCPU ids stay below KVM_CAP_MAX_VCPU_ID), read from a 1-vCPU partition. */
function allowedIds(target: KvmTarget): number[] {
  using probe = target.create({ vcpus: 1 });
  return WANTED.filter((id) => id < probe.extensions.maxVcpuId);
}

function x2apicPartition(target: KvmTarget, options: Parameters<KvmTarget['create']>[0] = {}): KvmPartition {
  const ids = allowedIds(target);
  return target.create({ ...options, x2apic: true, apicIds: ids, vcpus: ids.length });
}

/** The 64-bit address of `m`. */
const address = (m: MsiMessage): bigint => BigInt(m.addressLo) | (BigInt(m.addressHi) << 32n);

/** vCPU i's vector. */
const vectorOf = (i: number): number => 0x40 + i;

/** One armed route per vCPU: route i to vCPU i's APIC ID, vector {@link vectorOf}(i), by its 64-bit address. */
function armedPerVcpu(p: KvmPartition): IrqFdRoute[] {
  const irqfd = p.irqfd()!;
  return p.apicIds.map((id, i) => {
    const m = encodeMsi({ destinationId: id, vector: vectorOf(i) });
    const r = irqfd.newIrqFdRoute();
    r.setMsi(address(m), m.data);
    r.unmask();
    return r;
  });
}

describeOnTargets('x2APIC destinations above 255', (target) => {
  /** Signals every route of {@link armedPerVcpu} at once: each vCPU's IRR holds its own vector, and only that. */
  async function expectEachOnItsVcpu(p: KvmPartition, routes: readonly IrqFdRoute[]): Promise<void> {
    for (const r of routes) r.event.signal();
    await p.irqfd()!.settle();
    expect(target.takeIrr(p).sort((a, b) => a[0] - b[0])).toEqual(p.apicIds.map((_, i) => [i, vectorOf(i)]));
  }

  it('creates vCPUs at the chosen APIC IDs in x2APIC mode, reads each 32-bit ID back, and reports the largest reachable ID', () => {
    using p = x2apicPartition(target);
    const ids = allowedIds(target);
    expect(ids.filter((id) => id > 255).length).toBeGreaterThan(0);
    expect(p.apicIds).toEqual(ids);
    expect(ids.map((_, i) => p.readLocalApic(i).apicId)).toEqual(ids);
    expect(p.capabilities).toMatchObject({ x2apic: true, maxApicId: p.extensions.maxVcpuId - 1 });
    expect(p.msiPolicy).toMatchObject({ addressHi: 'x2apic-ids', extendedDestinationId: 'translate', maxApicId: p.extensions.maxVcpuId - 1 });
  });

  it('enables KVM_CAP_X2APIC_API before the first vCPU, and gives each vCPU the x2APIC CPUID bit before IA32_APIC_BASE', () => {
    using p = x2apicPartition(target);
    const names = target.sysOf(p).log.filter((r) => r.call === 'ioctl').map((r) => r.label);
    const first = (label: string) => names.indexOf(label);
    expect(first('KVM_ENABLE_CAP')).toBeGreaterThanOrEqual(0);
    expect(first('KVM_ENABLE_CAP')).toBeLessThan(first('KVM_CREATE_VCPU'));
    expect(first('KVM_SET_CPUID2')).toBeLessThan(first('KVM_SET_MSRS'));
    expect(names.filter((n) => n === 'KVM_SET_MSRS').length).toBe(p.vcpuCount);
  });

  it('kernel irqfd: a signal on each route lands on its own vCPU only, whatever its APIC ID', () => {
    using p = x2apicPartition(target);
    const irqfd = p.irqfd()!;
    expect(irqfd.capabilities.mediation).toBe('kernel');
    armedPerVcpu(p).forEach((r, i) => {
      r.event.signal();
      expect(target.takeIrr(p)).toEqual([[i, vectorOf(i)]]);
    });
  });

  it('overflow: routes beyond the kernel GSIs are relayed from user space to the same vCPUs', async () => {
    using p = x2apicPartition(target, { kernelGsis: 1, maxRoutes: 16 });
    const routes = armedPerVcpu(p);
    expect(routes.map((r) => r.mediation)).toEqual(routes.map((_, i) => (i === 0 ? 'kernel' : 'emulated')));
    await expectEachOnItsVcpu(p, routes);
  });

  // On a device the epoll worker injects from its own thread; on the model the model's relay platform runs its injector.
  it('the user-space relay (epoll worker + KVM_SIGNAL_MSI) reaches every vCPU', async () => {
    using p = x2apicPartition(target, { irqfd: 'relay' });
    const irqfd = p.irqfd()!;
    expect(irqfd.capabilities.mediation).toBe('emulated');
    await expectEachOnItsVcpu(p, armedPerVcpu(p));
  });

  it('an extended destination ID (address bits 11:5) reaches the same vCPU, on a route and by requestMsi', () => {
    using p = x2apicPartition(target);
    const irqfd = p.irqfd()!;
    p.apicIds.forEach((id, i) => {
      const m = encodeMsi({ destinationId: id & 0xff, vector: vectorOf(i) });
      const lo = (m.addressLo | (((id >>> 8) & 0x7f) << 5)) >>> 0;
      expect(p.requestMsi(lo, m.data)).toBe(true);
      expect(target.takeIrr(p)).toEqual([[i, vectorOf(i)]]);
      const r = irqfd.newIrqFdRoute();
      r.setMsi(lo, m.data);
      r.unmask();
      r.event.signal();
      expect(target.takeIrr(p)).toEqual([[i, vectorOf(i)]]);
      // KVM receives the destination in address_hi: the route keeps that encoding of the same ID.
      expect(r.msi).toEqual({ addressLo: (m.addressLo & ~0xfe0) >>> 0, addressHi: (id & 0x7f00) >>> 0, data: m.data });
    });
  });

  it('a destination above maxApicId is INVALID_MSI naming the limit, before any system call', () => {
    using p = x2apicPartition(target);
    const sys = target.sysOf(p);
    const beyond = encodeMsi({ destinationId: p.capabilities.maxApicId + 1, vector: 0x41 });
    const r = p.irqfd()!.newIrqFdRoute();
    const mark = sys.mark();
    for (const call of [() => p.requestMsi(address(beyond), beyond.data), () => r.setMsi(address(beyond), beyond.data)]) {
      let error: unknown;
      try {
        call();
      } catch (e) {
        error = e;
      }
      expect(isVirtError(error) && error.code).toBe('INVALID_MSI');
      expect(String((error as Error).message)).toContain(`${p.capabilities.maxApicId}, the largest APIC ID KVM can reach on this partition (maxApicId)`);
    }
    expect(sys.callsSince(mark)).toEqual([]);
  });

  it('an APIC ID at or above KVM_CAP_MAX_VCPU_ID is INVALID_ARGUMENT naming the limit, before the VM is created', () => {
    const max = allowedIdsLimit(target);
    let sys: FaultInjector | undefined;
    let error: unknown;
    try {
      target.create({ x2apic: true, apicIds: [0, max], vcpus: 2, wrap: (inner) => (sys = new FaultInjector(inner)) });
    } catch (e) {
      error = e;
    }
    expect(isVirtError(error) && error.code).toBe('INVALID_ARGUMENT');
    expect(String((error as Error).message)).toMatch(new RegExp(`below ${max} on this host \\(KVM_CAP_MAX_VCPU_ID\\)`));
    expect(sys!.log.filter((r) => r.label === 'KVM_CREATE_VM')).toEqual([]);
  });

  it('without x2apic, APIC IDs above 0xFE and the upper address are refused, typed', () => {
    expect(() => target.create({ apicIds: [0, 256], vcpus: 2 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/need x2apic: true/) }));
    using p = target.create({});
    expect(p.capabilities).toMatchObject({ x2apic: false, maxApicId: Math.min(0xfe, p.extensions.maxVcpuId - 1) });
    const high = encodeMsi({ destinationId: 256, vector: 0x41 });
    expect(() => p.requestMsi(address(high), high.data)).toThrow(expect.objectContaining({ code: 'INVALID_MSI' }));
    expect(() => p.requestMsi((0xfee00000 | (1 << 5)) >>> 0, 0x41)).toThrow(expect.objectContaining({ code: 'INVALID_MSI', message: expect.stringMatching(/extended destination ID/) }));
  });
});

/** KVM_CAP_MAX_VCPU_ID of the target's kernel. */
function allowedIdsLimit(target: KvmTarget): number {
  using probe = target.create({ vcpus: 1 });
  return probe.extensions.maxVcpuId;
}
