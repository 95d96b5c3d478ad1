/**
 * probe() never throws and create() throws only typed errors, whatever the options do: the shared
 * hostile-options suite of the Linux backends, with the mshv model as the working `sys` and
 * `memory`; and the kernel model given as `sys` without `memory`, a test-setup mistake, is a typed
 * error that says what to pass.
 */
import { defineLinuxHostileOptionsTests } from '@tsvmm/linux-sys/testing';
import { virtErrorThrownBy } from '@tsvmm/virt/testing';
import { MshvKernelModel } from '../src/testing';
import { MshvPartition, probe } from '../src';

defineLinuxHostileOptionsTests({
  backend: 'mshv',
  probe: (options) => probe(options as never),
  create: (options) => MshvPartition.create(options as never),
  createOperation: 'MshvPartition.create',
  // The model is both seams: its system calls and the partition memory they point into.
  modelSeams: () => {
    const model = new MshvKernelModel();
    return { sys: model, memory: model };
  },
});

describe('MshvPartition.create with the kernel model as sys but no memory', () => {
  it('is INVALID_ARGUMENT saying to pass memory: model, before any partition is made, nothing left open', () => {
    const model = new MshvKernelModel();
    expect(virtErrorThrownBy(() => MshvPartition.create({ vcpus: 2, sys: model }), 'INVALID_ARGUMENT').message).toContain('memory: model');
    expect(model.openFds()).toBe(0);
    expect(model.partitions).toHaveLength(0);
  });

  it('a model playing a host without /dev/mshv is still UNAVAILABLE without memory (the device is opened first)', () => {
    const model = new MshvKernelModel({ device: 'missing' });
    virtErrorThrownBy(() => MshvPartition.create({ vcpus: 1, sys: model }), 'UNAVAILABLE');
    expect(probe({ sys: model })).toMatchObject({ available: false, code: 'no-device' });
  });

  it('with memory: model it opens (the check does not refuse the documented pairing)', () => {
    const model = new MshvKernelModel();
    const p = MshvPartition.create({ vcpus: 2, sys: model, memory: model });
    p.dispose();
    expect(model.hazards).toEqual([]);
    expect(model.openFds()).toBe(0);
  });
});
