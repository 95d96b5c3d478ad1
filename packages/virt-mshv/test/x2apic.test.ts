/**
 * x2APIC-capable mshv partitions (`x2apic: true`): MSHV_CREATE_PARTITION with LAPIC|X2APIC, what
 * the partition can and cannot reach (APIC IDs stay the VP indexes 0-255, routes carry 8-bit
 * destinations), the `apicIds` option mshv cannot honour beyond the identity, and the refusals
 * that keep an x2APIC message away from a kernel that would misroute or reject it. One body per
 * behaviour on every target; the model's own records (flags, routing table) are read back on the
 * model only.
 */
import { FaultInjector } from '@tsvmm/linux-sys/testing';
import { encodeMsi } from '@tsvmm/virt';
import { virtErrorThrownBy as thrown } from '@tsvmm/virt/testing';
import { MshvKernelModel } from '../src/testing';
import { MshvPartition } from '../src';
import { abi } from '../src/implement';
import { describeOnTargets } from './support/targets';

describeOnTargets('MshvPartition with x2apic', (target) => {
  it('creates the partition with MSHV_PT_BIT_LAPIC|MSHV_PT_BIT_X2APIC; capabilities say x2APIC-capable, APIC IDs still 0-254, and why', () => {
    using p = target.create({ vcpus: 3, x2apic: true });
    expect(p.capabilities).toMatchObject({ backend: 'mshv', x2apic: false, maxApicId: 0xfe, maxVcpus: 256, x2apicCapable: true });
    expect(p.capabilities.x2apicReason).toMatch(/VP indexes below 256.*address bits 19:12.*address_hi/);
    for (let v = 0; v < 3; v++) expect(p.readLocalApic(v).apicId).toBe(v);
    if (!target.real) expect(target.modelOf(p).partitionOf(p.partitionFd)!.flags).toBe(abi.MSHV_PT_BIT_LAPIC | abi.MSHV_PT_BIT_X2APIC);
  });

  it('without the option the partition is LAPIC only and not x2APIC-capable', () => {
    using p = target.create({ vcpus: 1, x2apic: false });
    expect(p.capabilities.x2apicCapable).toBe(false);
    if (!target.real) expect(target.modelOf(p).partitionOf(p.partitionFd)!.flags).toBe(abi.MSHV_PT_BIT_LAPIC);
  });

  it('the identity apicIds is accepted: VP i has APIC ID i', () => {
    using p = target.create({ vcpus: 3, x2apic: true, apicIds: [0, 1, 2] });
    expect([0, 1, 2].map((v) => p.readLocalApic(v).apicId)).toEqual([0, 1, 2]);
  });

  it('a message above APIC ID 255 (upper address or extended destination ID) is INVALID_MSI before any system call, route or requestMsi', () => {
    using p = target.create({ vcpus: 2, x2apic: true });
    const route = p.irqfd()!.newIrqFdRoute();
    const sys = target.sysOf(p);
    const before = sys.log.length;
    const high = encodeMsi({ destinationId: 256, vector: 0x40 });
    const address = BigInt(high.addressLo) | (BigInt(high.addressHi) << 32n);
    const ext = { addressLo: (encodeMsi({ destinationId: 0, vector: 0x41 }).addressLo | (1 << 5)) >>> 0, data: 0x41 };
    expect(thrown(() => p.requestMsi(address, high.data)).code).toBe('INVALID_MSI');
    expect(thrown(() => route.setMsi(address, high.data)).code).toBe('INVALID_MSI');
    expect(thrown(() => p.requestMsi(ext.addressLo, ext.data)).code).toBe('INVALID_MSI');
    expect(thrown(() => route.setMsi(ext.addressLo, ext.data)).code).toBe('INVALID_MSI');
    // Logical destinations name no VP, so only the upper-address rule refuses these (x2APIC cluster 1, member 0).
    const cluster = encodeMsi({ destinationId: 0x10001, destinationMode: 'logical', vector: 0x42 });
    const clusterAddress = BigInt(cluster.addressLo) | (BigInt(cluster.addressHi) << 32n);
    const extLogical = (encodeMsi({ destinationId: 1, destinationMode: 'logical', vector: 0x43 }).addressLo | (1 << 5)) >>> 0;
    for (const [a, d] of [[clusterAddress, cluster.data], [extLogical, 0x43]] as const) {
      expect(thrown(() => p.requestMsi(a, d)).code).toBe('INVALID_MSI');
      expect(thrown(() => route.setMsi(a, d)).code).toBe('INVALID_MSI');
    }
    expect(route.msi).toBeUndefined();
    expect(sys.log.length).toBe(before);
    route.dispose();
  });
});

describe('MshvPartition x2apic and apicIds options (no kernel)', () => {
  it('apicIds other than [0 .. vcpus-1] is INVALID_ARGUMENT naming the limit, before any system call', () => {
    const model = new MshvKernelModel();
    const sys = new FaultInjector(model);
    const cases: Array<[unknown, RegExp]> = [
      [[0, 256], /apicIds\[1\] is 256 \(0x100\), but VP 1 has APIC ID 1: mshv gives VP i APIC ID i .*below 256/],
      [[1, 0], /apicIds\[0\] is 1/],
      [[0], /1 entries for 2 VPs/],
      ['0,1', /must be an array/],
    ];
    for (const [apicIds, message] of cases) {
      const e = thrown(() => MshvPartition.create({ vcpus: 2, x2apic: true, apicIds: apicIds as never, sys, memory: model }));
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.message).toMatch(message);
    }
    expect(thrown(() => MshvPartition.create({ vcpus: 1, x2apic: 1 as never, sys, memory: model })).code).toBe('INVALID_ARGUMENT');
    expect(sys.log).toEqual([]);
    expect(model.allocatedBuffers).toBe(0);
  });
});

// What the model says the kernel does with an x2APIC-capable partition: the same limits as without.
describe('mshv kernel model: an x2APIC-capable partition', () => {
  it('keeps VP indexes below 256 (EINVAL) and rejects a routing entry with a nonzero address_hi (EINVAL, the old table kept)', () => {
    const model = new MshvKernelModel();
    using p = MshvPartition.create({ vcpus: 1, x2apic: true, sys: model, memory: model });
    const vp = new Uint8Array(4);
    new DataView(vp.buffer).setUint32(0, 256, true);
    expect(model.ioctl(p.partitionFd, abi.MSHV_CREATE_VP, vp)).toBe(-22);
    const table = new Uint8Array(8 + 16);
    const t = new DataView(table.buffer);
    t.setUint32(0, 1, true);
    t.setUint32(8, 1, true); // gsi
    t.setUint32(12, 0xfee00000, true);
    t.setUint32(16, 1, true); // address_hi: APIC ID 256
    t.setUint32(20, 0x40, true);
    expect(model.ioctl(p.partitionFd, abi.MSHV_SET_MSI_ROUTING, table)).toBe(-22);
    expect(model.partitionOf(p.partitionFd)!.routes.size).toBe(0);
  });
});
