/**
 * probe() never throws and create() throws only typed errors, whatever the options do: the shared
 * hostile-options suite with the Linux backends' seams (`sys`, `device`).
 */
import { callsThrow, defineHostileOptionsConformance, trapsThrow, unprintable } from '@tsvmm/virt/conformance';
import { LINUX_SEAM_CASES } from '@tsvmm/linux-sys/testing';
import { KvmKernelModel } from '../src/testing';
import { KvmPartition, probe } from '../src';

defineHostileOptionsConformance({
  backend: 'kvm',
  probe: (options) => probe(options as never),
  create: (options) => KvmPartition.create(options as never),
  createOperation: 'KvmPartition.create',
  cases: LINUX_SEAM_CASES,
  probeOnlyCases: [
    ['a sys whose calls throw a trap-throwing Proxy', () => ({ sys: callsThrow(trapsThrow()) })],
    ['a sys whose calls throw an unprintable Error', () => ({ sys: callsThrow(unprintable()) })],
  ],
});

test('a model still probes ok (the copy of the options is what create sees)', () => {
  expect(probe({ sys: new KvmKernelModel() })).toMatchObject({ backend: 'kvm', available: true, code: 'ok' });
});
