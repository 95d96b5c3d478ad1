/**
 * The KVM model's x2APIC behaviour, against the kernel's rules (`kvm_vm_ioctl_enable_cap`,
 * `kvm_vm_ioctl_create_vcpu`, `kvm_apic_set_base`, `msr_io`, `kvm_apic_state_fixup`,
 * `kvm_set_msi_irq`, `kvm_msi_route_invalid`, `kvm_apic_mda`): every argument written out here as
 * raw bytes at the header's offsets, never through the backend's encoders.
 */
import type { IoctlDef } from '@tsvmm/linux-sys';
import { KvmKernelModel } from '../../src/testing';
import {
  CHECK_EXTENSION,
  CREATE_IRQCHIP,
  CREATE_VCPU,
  CREATE_VM,
  ENABLE_CAP,
  GET_LAPIC,
  GET_MSRS,
  GET_SUPPORTED_CPUID,
  IRQFD,
  O_RDWR,
  SET_CPUID2,
  SET_GSI_ROUTING,
  SET_IRQCHIP,
  SET_LAPIC,
  SET_MSRS,
  SIGNAL_MSI,
  cpuidArg as cpuid,
  enableCapArg as enableCap,
  ioapicArg,
  irqfdArg as irqfd,
  msrsArg as msrs,
  routingTable,
  signalMsiArg as msi,
} from '../support/kvm-raw';

/** A routing table with one MSI entry (type 2) whose address has its high half. */
const route = (gsi: number, addressLo: number, addressHi: number, data: number): Uint8Array => routingTable([{ gsi, type: 2, a: addressLo, b: addressHi, c: data }]);

const EINVAL = -22;
const EFAULT = -14;
const EEXIST = -17;
const E2BIG = -7;

const page = new Uint8Array(1024);
const pv = new DataView(page.buffer);

function apicIdRegister(m: KvmKernelModel, vcpu: number): number {
  expect(m.ioctl(vcpu, GET_LAPIC, page)).toBe(0);
  return pv.getUint32(0x20, true);
}

/** A VM with an irqchip and the given vCPU ids, each APIC software-enabled; x2APIC API flags enabled first when given. */
function vm(ids: number[], apiFlags?: number) {
  const m = new KvmKernelModel({ apicIds: ids });
  const kvmFd = m.open('/dev/kvm', O_RDWR);
  const vmFd = m.ioctl(kvmFd, CREATE_VM, 0);
  expect(m.ioctl(vmFd, CREATE_IRQCHIP, 0)).toBe(0);
  if (apiFlags !== undefined) expect(m.ioctl(vmFd, ENABLE_CAP, enableCap(129, BigInt(apiFlags)))).toBe(0);
  const vcpus = ids.map((id) => m.ioctl(vmFd, CREATE_VCPU, id));
  for (const fd of vcpus) {
    expect(fd).toBeGreaterThanOrEqual(0);
    m.ioctl(fd, GET_LAPIC, page);
    pv.setUint32(0xf0, 0x1ff, true);
    expect(m.ioctl(fd, SET_LAPIC, page)).toBe(0);
  }
  return { m, kvmFd, vmFd, vcpus };
}

/** CPUID x2APIC bit, then IA32_APIC_BASE | EXTD, as the kernel requires; returns KVM_SET_MSRS's count. */
function toX2apic(m: KvmKernelModel, vcpu: number): number {
  expect(m.ioctl(vcpu, SET_CPUID2, cpuid(1 << 21))).toBe(0);
  const b = msrs(0x1b, 0n);
  expect(m.ioctl(vcpu, GET_MSRS, b)).toBe(1);
  const base = new DataView(b.buffer).getBigUint64(16, true);
  return m.ioctl(vcpu, SET_MSRS, msrs(0x1b, base | 0x400n));
}

const irr = (m: KvmKernelModel) => m.bus.apics.map((a) => {
  const out = a.state().irr;
  a.clearIrr();
  return out;
});

describe('the KVM model, x2APIC', () => {
  it('KVM_CHECK_EXTENSION reports KVM_CAP_MAX_VCPU_ID 4096 and the two KVM_CAP_X2APIC_API flags of the header', () => {
    const m = new KvmKernelModel();
    const kvmFd = m.open('/dev/kvm', O_RDWR);
    expect(m.ioctl(kvmFd, CHECK_EXTENSION, 128)).toBe(4096);
    expect(m.ioctl(kvmFd, CHECK_EXTENSION, 129)).toBe(3);
  });

  it('KVM_ENABLE_CAP: EINVAL for nonzero flags, for API flags the kernel does not report, and for a capability it does not model', () => {
    const { m, vmFd } = vm([0]);
    expect(m.ioctl(vmFd, ENABLE_CAP, enableCap(129, 1n, 1))).toBe(EINVAL);
    expect(m.ioctl(vmFd, ENABLE_CAP, enableCap(129, 4n))).toBe(EINVAL);
    expect(m.ioctl(vmFd, ENABLE_CAP, enableCap(9999, 0n))).toBe(EINVAL);
    expect(m.vm.x2apicFormat).toBe(false);
    expect(m.ioctl(vmFd, ENABLE_CAP, enableCap(129, 3n))).toBe(0);
    expect([m.vm.x2apicFormat, m.vm.broadcastQuirkDisabled]).toEqual([true, true]);
  });

  it('KVM_CREATE_VCPU: EINVAL at or above KVM_CAP_MAX_VCPU_ID or beyond KVM_CAP_MAX_VCPUS vCPUs, EEXIST for a repeated id', () => {
    const m = new KvmKernelModel({ apicIds: [0, 1000, 4095, 4096], capabilities: { 0: 1, 66: 3, 128: 4096, 129: 3 } });
    const vmFd = m.ioctl(m.open('/dev/kvm', O_RDWR), CREATE_VM, 0);
    expect(m.ioctl(vmFd, CREATE_VCPU, 4096)).toBe(EINVAL);
    expect(m.ioctl(vmFd, CREATE_VCPU, 1000)).toBeGreaterThanOrEqual(0);
    expect(m.ioctl(vmFd, CREATE_VCPU, 1000)).toBe(EEXIST);
    expect(m.ioctl(vmFd, CREATE_VCPU, 0)).toBeGreaterThanOrEqual(0);
    expect(m.ioctl(vmFd, CREATE_VCPU, 4095)).toBeGreaterThanOrEqual(0);
    const full = new KvmKernelModel({ apicIds: [0, 1], capabilities: { 0: 1, 66: 1, 128: 4096 } });
    const vm2 = full.ioctl(full.open('/dev/kvm', O_RDWR), CREATE_VM, 0);
    expect(full.ioctl(vm2, CREATE_VCPU, 0)).toBeGreaterThanOrEqual(0);
    expect(full.ioctl(vm2, CREATE_VCPU, 1)).toBe(EINVAL);
  });

  it('IA32_APIC_BASE: x2APIC mode needs the CPUID bit and EN; KVM_SET_MSRS reports how many MSRs it wrote, E2BIG at 256', () => {
    const { m, vcpus } = vm([0, 300], 3);
    const v = vcpus[1]!;
    const b = msrs(0x1b, 0n);
    expect(m.ioctl(v, GET_MSRS, b)).toBe(1);
    // Reset: default base, EN; no BSP bit for a vCPU other than 0.
    expect(new DataView(b.buffer).getBigUint64(16, true)).toBe(0xfee00800n);
    expect(m.ioctl(v, SET_MSRS, msrs(0x1b, 0xfee00c00n))).toBe(0); // EXTD without the CPUID bit: reserved
    expect(m.ioctl(v, SET_CPUID2, cpuid(1 << 21))).toBe(0);
    expect(m.ioctl(v, SET_MSRS, msrs(0x1b, 0xfee00400n))).toBe(0); // EXTD without EN: invalid mode
    expect(m.ioctl(v, SET_MSRS, msrs(0x1b, 0x10_fee00c00n))).toBe(0); // above 36 physical address bits
    expect(m.ioctl(v, SET_MSRS, msrs(0x1b, 0xfee00c01n))).toBe(0); // reserved bits 7:0
    expect(m.ioctl(v, SET_MSRS, msrs(0x1b, 0n, 256))).toBe(E2BIG);
    expect(m.ioctl(v, SET_CPUID2, cpuid(0, 257))).toBe(E2BIG);
    expect(apicIdRegister(m, v)).toBe((300 & 0xff) << 24); // still xAPIC: the id's low byte
    expect(m.ioctl(v, SET_MSRS, msrs(0x1b, 0xfee00c00n))).toBe(1);
    expect(apicIdRegister(m, v)).toBe(300);
  });

  it('KVM_GET_LAPIC / KVM_SET_LAPIC: the 32-bit ID whole with 32-bit IDs, shifted by 24 without; a different ID is EINVAL and changes nothing', () => {
    const with32 = vm([0, 0x234], 3);
    expect(toX2apic(with32.m, with32.vcpus[1]!)).toBe(1);
    expect(apicIdRegister(with32.m, with32.vcpus[1]!)).toBe(0x234);
    expect(pv.getUint32(0xd0, true)).toBe((0x23 << 16) | (1 << 4)); // LDR derived from the ID
    pv.setUint32(0x200, 0x2, true);
    pv.setUint32(0x20, 0x235, true);
    expect(with32.m.ioctl(with32.vcpus[1]!, SET_LAPIC, page)).toBe(EINVAL);
    expect(with32.m.bus.apics[1]!.state().irr).toEqual([]);
    const legacy = vm([0, 0x12], undefined);
    expect(toX2apic(legacy.m, legacy.vcpus[1]!)).toBe(1);
    expect(apicIdRegister(legacy.m, legacy.vcpus[1]!)).toBe(0x12 << 24);
  });

  it('MSIs: address_hi counts only with 32-bit IDs, whose bits 7:0 must be 0 (EINVAL from routing and KVM_SIGNAL_MSI)', () => {
    const { m, vmFd, vcpus } = vm([0, 256, 1000], 3);
    for (const v of vcpus) expect(toX2apic(m, v)).toBe(1);
    expect(m.ioctl(vmFd, SIGNAL_MSI, msi(0xfee00000 | (0xe8 << 12), 0x300, 0x41))).toBe(1);
    expect(irr(m)).toEqual([[], [], [0x41]]);
    expect(m.ioctl(vmFd, SIGNAL_MSI, msi(0xfee00000, 0x100, 0x42))).toBe(1);
    expect(irr(m)).toEqual([[], [0x42], []]);
    expect(m.ioctl(vmFd, SIGNAL_MSI, msi(0xfee00000, 0x101, 0x43))).toBe(EINVAL);
    expect(m.ioctl(vmFd, SET_GSI_ROUTING, route(30, 0xfee00000, 0x1, 0x44))).toBe(EINVAL);
    expect(m.ioctl(vmFd, SET_GSI_ROUTING, route(30, 0xfee00000, 0x100, 0x44))).toBe(0);
    // Without 32-bit IDs address_hi is ignored: the low byte alone names the destination.
    const old = vm([0, 1]);
    expect(old.m.ioctl(old.vmFd, SIGNAL_MSI, msi(0xfee01000, 0x101, 0x45))).toBe(1);
    expect(irr(old.m)).toEqual([[], [0x45]]);
  });

  it('broadcast: 0xFF reaches every x2APIC vCPU with the quirk, names APIC ID 255 alone without it; 0xFFFFFFFF is a broadcast only without the quirk (with it, a physical ID above max_apic_id: dropped)', () => {
    for (const [flags, ff, all] of [
      [3, [[], [0x51], []], [[0x52], [0x52], [0x52]]],
      [1, [[0x51], [0x51], [0x51]], [[], [], []]],
    ] as const) {
      const { m, vmFd, vcpus } = vm([0, 255, 1000], flags);
      for (const v of vcpus) expect(toX2apic(m, v)).toBe(1);
      expect(m.ioctl(vmFd, SIGNAL_MSI, msi(0xfee00000 | (0xff << 12), 0, 0x51))).toBe(ff.filter((x) => x.length > 0).length);
      expect(irr(m)).toEqual(ff);
      expect(m.ioctl(vmFd, SIGNAL_MSI, msi(0xfee00000 | (0xff << 12), 0xffffff00, 0x52))).toBe(all.filter((x) => x.length > 0).length);
      expect(irr(m)).toEqual(all);
    }
  });

  // Each struct a model ioctl reads, built whole: cut one byte short, or empty, it is EFAULT, as is an integer in place of the pointer.
  const STRUCT_ARGS: Array<[string, 'kvm' | 'vm' | 'vcpu', IoctlDef, () => Uint8Array]> = [
    ['KVM_SIGNAL_MSI', 'vm', SIGNAL_MSI, () => msi(0xfee00000, 0, 0x41)],
    ['KVM_GET_LAPIC', 'vcpu', GET_LAPIC, () => new Uint8Array(1024)],
    ['KVM_SET_LAPIC', 'vcpu', SET_LAPIC, () => new Uint8Array(1024)],
    ['KVM_IRQFD', 'vm', IRQFD, () => irqfd(0, 1)],
    ['KVM_SET_GSI_ROUTING (its entries)', 'vm', SET_GSI_ROUTING, () => route(1, 0xfee00000, 0, 0x41)],
    ['KVM_SET_GSI_ROUTING (its header)', 'vm', SET_GSI_ROUTING, () => new Uint8Array(8)],
    ['KVM_ENABLE_CAP', 'vm', ENABLE_CAP, () => enableCap(129, 3n)],
    ['KVM_SET_IRQCHIP', 'vm', SET_IRQCHIP, () => ioapicArg(0, 1n << 16n)],
    ['KVM_SET_CPUID2', 'vcpu', SET_CPUID2, () => cpuid(0)],
    ['KVM_GET_MSRS', 'vcpu', GET_MSRS, () => msrs(0x1b, 0n)],
    ['KVM_SET_MSRS', 'vcpu', SET_MSRS, () => msrs(0x1b, 0n)],
    ['KVM_GET_SUPPORTED_CPUID', 'kvm', GET_SUPPORTED_CPUID, () => cpuid(0, 2)],
  ];

  it.each(STRUCT_ARGS)('a %s argument shorter than its struct, or not a pointer, is EFAULT (copy_from_user of the whole struct), nothing delivered', (_name, on, request, whole) => {
    const { m, kvmFd, vmFd, vcpus } = vm([0, 1], 3);
    const fd = on === 'kvm' ? kvmFd : on === 'vm' ? vmFd : vcpus[0]!;
    const arg = whole();
    expect(m.ioctl(fd, request, arg.subarray(0, arg.length - 1))).toBe(EFAULT);
    expect(m.ioctl(fd, request, new Uint8Array(0))).toBe(EFAULT);
    expect(m.ioctl(fd, request, 0)).toBe(EFAULT);
    expect(irr(m)).toEqual([[], []]);
  });

  it('the slow path: a broadcast no vCPU accepts is -1 (EPERM) from KVM_SIGNAL_MSI; the fast path reports 0 for an ID no vCPU has', () => {
    const { m, vmFd } = vm([0, 1], 3); // both vCPUs still in xAPIC mode
    expect(m.ioctl(vmFd, SIGNAL_MSI, msi(0xfee00000 | (0xff << 12), 0xffffff00, 0x41))).toBe(-1);
    expect(m.ioctl(vmFd, SIGNAL_MSI, msi(0xfee00000 | (7 << 12), 0, 0x41))).toBe(0);
    expect(irr(m)).toEqual([[], []]);
  });

  it('logical destinations: x2APIC cluster mode from the ID; lowest priority picks one enabled vCPU of the cluster by vector', () => {
    const { m, vmFd, vcpus } = vm([0, 0x3e8, 0x3e9], 3);
    for (const v of vcpus) expect(toX2apic(m, v)).toBe(1);
    const cluster = 0x003e0300; // cluster 0x3e, members 8 and 9
    expect(m.ioctl(vmFd, SIGNAL_MSI, msi(0xfee00004 | ((cluster & 0xff) << 12), cluster & 0xffffff00, 0x61))).toBe(2);
    expect(irr(m)).toEqual([[], [0x61], [0x61]]);
    expect(m.ioctl(vmFd, SIGNAL_MSI, msi(0xfee00004 | ((cluster & 0xff) << 12), cluster & 0xffffff00, 0x161))).toBe(1);
    // Vector 0x61 (97) over two candidates: the (97 mod 2) = second, APIC ID 0x3E9.
    expect(irr(m)).toEqual([[], [], [0x61]]);
  });

  it('the APIC map decides before the per-vCPU match: vCPUs 0, 1 (xAPIC, LDR 0) and 0x102 (x2APIC); 0xFF without the quirk is APIC ID 255 (none), not a broadcast', () => {
    // kvm_recalculate_logical_map counts only software-enabled APICs with a nonzero LDR: the x2APIC one alone, so logical_mode is x2APIC.
    const { m, vmFd, vcpus } = vm([0, 1, 0x102], 2);
    expect(toX2apic(m, vcpus[2]!)).toBe(1);
    expect(m.vm.apicMap()?.logicalMode).toBe('x2apic');
    expect(m.ioctl(vmFd, SIGNAL_MSI, msi(0xfee00000 | (0xff << 12), 0, 0x40))).toBe(0);
    expect(irr(m)).toEqual([[], [], []]);
    // An xAPIC vCPU with a nonzero LDR makes the logical modes mixed: the map is disabled and 0xFF is a broadcast again.
    m.ioctl(vcpus[0]!, GET_LAPIC, page);
    pv.setUint32(0xd0, 1 << 24, true);
    expect(m.ioctl(vcpus[0]!, SET_LAPIC, page)).toBe(0);
    expect(m.vm.apicMap()?.logicalMode).toBe('disabled');
    expect(m.ioctl(vmFd, SIGNAL_MSI, msi(0xfee00000 | (0xff << 12), 0, 0x40))).toBe(2);
    expect(irr(m)).toEqual([[0x40], [0x40], []]);
  });

  it('32-bit IDs with the quirk kept: 0xFFFFFFFF is a physical ID above max_apic_id, dropped (0) even with a vCPU in x2APIC mode', () => {
    const { m, vmFd, vcpus } = vm([0, 1, 0x102], 1);
    expect(toX2apic(m, vcpus[2]!)).toBe(1);
    expect(m.ioctl(vmFd, SIGNAL_MSI, msi(0xfee00000 | (0xff << 12), 0xffffff00, 0x40))).toBe(0);
    expect(irr(m)).toEqual([[], [], []]);
  });

  it('a vCPU back in xAPIC mode keeps the x2APIC LDR (only the ID is reset), which then counts in the logical map', () => {
    const { m, vmFd, vcpus } = vm([0, 1, 0x102], 2);
    expect(toX2apic(m, vcpus[1]!)).toBe(1);
    expect(toX2apic(m, vcpus[2]!)).toBe(1);
    expect(m.ioctl(vcpus[2]!, SET_MSRS, msrs(0x1b, 0xfee00800n))).toBe(1);
    expect(apicIdRegister(m, vcpus[2]!)).toBe(0x02 << 24);
    expect(pv.getUint32(0xd0, true)).toBe((0x10 << 16) | (1 << 2)); // kvm_apic_calc_x2apic_ldr(0x102), left in place
    // vCPU 1 counts as x2APIC, vCPU 0x102 (nonzero LDR, flat DFR) as xAPIC flat: mixed, so no logical map, and 0xFF is a broadcast.
    expect(m.vm.apicMap()?.logicalMode).toBe('disabled');
    expect(m.ioctl(vmFd, SIGNAL_MSI, msi(0xfee00000 | (0xff << 12), 0, 0x40))).toBe(2);
    expect(irr(m)).toEqual([[0x40], [], [0x40]]);
  });

  it('an irqfd on a broadcast MSI route injects from its work item, after the write returns; a unicast one inside the write', () => {
    const { m, vmFd, vcpus } = vm([0, 1], 3);
    for (const v of vcpus) expect(toX2apic(m, v)).toBe(1);
    expect(m.ioctl(vmFd, SET_GSI_ROUTING, routingTable([{ gsi: 30, type: 2, a: 0xfee00000 | (0xff << 12), b: 0xffffff00, c: 0x41 }, { gsi: 31, type: 2, a: 0xfee01000, c: 0x42 }]))).toBe(0);
    const b = m.eventfd(0, 0);
    const u = m.eventfd(0, 0);
    expect(m.ioctl(vmFd, IRQFD, irqfd(b, 30))).toBe(0);
    expect(m.ioctl(vmFd, IRQFD, irqfd(u, 31))).toBe(0);
    const one = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);
    expect(m.write(u, one, 8)).toBe(8);
    expect(irr(m)).toEqual([[], [0x42]]);
    expect(m.write(b, one, 8)).toBe(8);
    expect(m.write(b, one, 8)).toBe(8); // queued once: schedule_work of a queued item does nothing
    expect({ irr: irr(m), work: m.pendingWork, count: m.eventfdCount(b) }).toEqual({ irr: [[], []], work: 1, count: 0n });
    expect(m.flushWork()).toBe(1);
    expect(irr(m)).toEqual([[0x41], [0x41]]);
  });

  it('KVM_GET_SUPPORTED_CPUID on /dev/kvm: leaf 1 ECX bit 21 as configured, E2BIG when nent is too small; without it, x2APIC mode is refused even with the guest bit', () => {
    for (const offered of [true, false]) {
      const m = new KvmKernelModel({ apicIds: [0], x2apic: offered });
      const kvmFd = m.open('/dev/kvm', O_RDWR);
      const table = cpuid(0, 8);
      expect(m.ioctl(kvmFd, GET_SUPPORTED_CPUID, table)).toBe(0);
      const v = new DataView(table.buffer);
      const nent = v.getUint32(0, true);
      const leaf1 = Array.from({ length: nent }, (_, i) => 8 + i * 40).find((at) => v.getUint32(at, true) === 1)!;
      expect((v.getUint32(leaf1 + 20, true) >>> 21) & 1).toBe(offered ? 1 : 0);
      expect(m.ioctl(kvmFd, GET_SUPPORTED_CPUID, cpuid(0, 1))).toBe(E2BIG);
      const vmFd = m.ioctl(kvmFd, CREATE_VM, 0);
      expect(m.ioctl(vmFd, CREATE_IRQCHIP, 0)).toBe(0);
      const vcpu = m.ioctl(vmFd, CREATE_VCPU, 0);
      expect(toX2apic(m, vcpu)).toBe(offered ? 1 : 0);
    }
  });
});
