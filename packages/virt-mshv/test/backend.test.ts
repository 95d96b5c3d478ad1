import { existsSync } from 'node:fs';
import { EACCES, EIO } from '@tsvmm/linux-sys';
import { FaultInjector } from '@tsvmm/linux-sys/testing';
import { MshvKernelModel } from '../src/testing';
import { type MshvCapabilities, MshvPartition, mshvBackend, probe } from '../src';
import { describeOnTargets } from './support/targets';

describe('probe', () => {
  it('on this host: reports exactly what /dev/mshv allows (here: unavailable, no-device, with the reason)', () => {
    const p = probe();
    expect(p.backend).toBe('mshv');
    if (!existsSync('/dev/mshv')) {
      expect(p).toMatchObject({ available: false, code: 'no-device' });
      expect(p.reason).toMatch(/\/dev\/mshv is missing: this host is not a Microsoft Hypervisor root partition/);
      expect(p.capabilities).toBeUndefined();
    } else {
      expect(['ok', 'permission', 'error']).toContain(p.code);
    }
  });

  it('permission denied and a failing create are told apart', () => {
    expect(probe({ sys: new MshvKernelModel({ device: EACCES }), memory: new MshvKernelModel() })).toMatchObject({ available: false, code: 'permission' });
    const model = new MshvKernelModel();
    const p = probe({ sys: new FaultInjector(model).fail('MSHV_CREATE_PARTITION', EIO), memory: model });
    expect(p).toMatchObject({ available: false, code: 'error' });
    expect(p.reason).toMatch(/MSHV_CREATE_PARTITION/);
    expect(model.openFds()).toBe(0);
  });
});

describeOnTargets('probe', (target) => {
  it('available, with kernel irqfd and its capabilities, and nothing left open', () => {
    const options = target.probeOptions();
    const fds = target.openFdCount();
    const buffers = target.real ? 0 : target.modelBuffers();
    const p = probe(options);
    expect(p).toMatchObject({ backend: 'mshv', available: true, code: 'ok' });
    expect(p.capabilities).toMatchObject({ backend: 'mshv', irqfd: 'kernel', resample: false, x2apic: false });
    // An x2APIC-capable partition reaches no further on mshv: the same limit, and the reason why.
    expect(p.x2apicPartition).toEqual({ available: false, maxApicId: p.capabilities!.maxApicId, reason: `${(p.capabilities as MshvCapabilities).x2apicReason}.` });
    expect(p.x2apicPartition!.reason).toMatch(/MSHV_SET_MSI_ROUTING/);
    expect(target.openFdCount()).toBe(fds);
    // koffi's buffers are not counted: the model's memory is.
    if (!target.real) expect(target.modelBuffers()).toBe(buffers);
  });
});

test('the registry entry opens partitions', () => {
  const model = new MshvKernelModel();
  expect(mshvBackend.name).toBe('mshv');
  const p = mshvBackend.open({ vcpus: 2, sys: model, memory: model });
  expect(p).toBeInstanceOf(MshvPartition);
  p.dispose();
});
