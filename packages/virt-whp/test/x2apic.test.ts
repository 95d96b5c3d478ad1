/**
 * x2APIC WHP partitions (`x2apic: true`): LocalApicEmulationMode X2Apic, capabilities derived from
 * the partition (APIC ID = VP index, so `maxApicId` is the highest VP index), the `apicIds` option
 * WHP cannot honour beyond the identity, and the refusals that keep a message away from WHP. One
 * body per behaviour on every target and configuration.
 */
import { encodeMsi } from '@tsvmm/virt';
import { virtErrorThrownBy as thrown } from '@tsvmm/virt/testing';
import { WHP_MAX_VCPUS, WHP_MAX_X2APIC_VCPUS, WhpPartition } from '../src';
import { whpCallsSince } from './support/whp-calls';
import { describeOnTargets } from './support/targets';
import { whpModel } from './support/native-model';

const address = (m: { addressLo: number; addressHi: number }): bigint => BigInt(m.addressLo) | (BigInt(m.addressHi) << 32n);

describeOnTargets('WhpPartition with x2apic', (target) => {
  const configuration = target.configurations[0]!;

  it('capabilities: x2apic, maxApicId the highest VP index, maxVcpus 1024; each VP reads back its own 32-bit APIC ID', () => {
    const p = configuration.create(300, { x2apic: true, apicIds: Array.from({ length: 300 }, (_, i) => i) });
    try {
      expect(p.x2apic).toBe(true);
      expect(p.capabilities).toMatchObject({ backend: 'whp', x2apic: true, maxApicId: 299, maxVcpus: WHP_MAX_X2APIC_VCPUS });
      for (const v of [0, 255, 256, 299]) expect(p.readLocalApic(v)).toMatchObject({ apicId: v, softwareEnabled: true });
    } finally {
      p.dispose();
    }
  });

  it('an xAPIC partition keeps 8-bit destinations: maxApicId 0xFE, the upper address and an extended destination ID are INVALID_MSI', () => {
    const p = configuration.create(2);
    try {
      expect(p.x2apic).toBe(false);
      expect(p.capabilities).toMatchObject({ x2apic: false, maxApicId: 0xfe, maxVcpus: WHP_MAX_VCPUS });
      const high = encodeMsi({ destinationId: 256, vector: 0x40 });
      expect(thrown(() => p.requestMsi(address(high), high.data)).code).toBe('INVALID_MSI');
      expect(thrown(() => p.requestMsi(0xfee00020, 0x40)).code).toBe('INVALID_MSI');
    } finally {
      p.dispose();
    }
  });

  it('a destination above the highest VP is INVALID_MSI naming maxApicId, on a route and by requestMsi, and changes nothing', () => {
    const p = configuration.create(257, { x2apic: true });
    try {
      const r = p.irqfd().newIrqFdRoute();
      const beyond = encodeMsi({ destinationId: 257, vector: 0x40 });
      const e = thrown(() => p.requestMsi(address(beyond), beyond.data));
      expect(e.code).toBe('INVALID_MSI');
      expect(e.message).toMatch(/above 256, the largest APIC ID WHP can reach on this partition/);
      expect(thrown(() => r.setMsi(address(beyond), beyond.data)).code).toBe('INVALID_MSI');
      expect(r.msi).toBeUndefined();
      r.dispose();
    } finally {
      p.dispose();
    }
  });
});

describe('WhpPartition x2apic and apicIds options (WHP model, no WHP call)', () => {
  const model = whpModel('full');

  it('apicIds other than [0 .. vcpus-1], more than 64 vCPUs without x2apic, or more than 1024 with it, are INVALID_ARGUMENT naming the limit', () => {
    model.reset();
    const since = whpCallsSince(model);
    const cases: Array<[object, RegExp]> = [
      [{ vcpus: 2, x2apic: true, apicIds: [0, 256] }, /apicIds\[1\] is 256 \(0x100\), but VP 1 has APIC ID 1: WHP gives VP i APIC ID i .*create n\+1 vCPUs with x2apic/],
      [{ vcpus: 2, apicIds: [1, 0] }, /apicIds\[0\] is 1/],
      [{ vcpus: 2, apicIds: [0] }, /1 entries for 2 vCPUs/],
      [{ vcpus: 65 }, /vcpus 65 needs x2apic: an xAPIC partition has at most 64 vCPUs/],
      [{ vcpus: 1025, x2apic: true }, /vcpus/],
      [{ vcpus: 2, x2apic: 'yes' }, /x2apic must be a boolean/],
    ];
    for (const [options, message] of cases) {
      const e = thrown(() => WhpPartition.create({ ...options, library: model.library } as never));
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.message).toMatch(message);
    }
    expect(since()).toEqual({});
  });
});
