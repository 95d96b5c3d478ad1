/**
 * probe() never throws and create() throws only typed errors, whatever the options do: the shared
 * hostile-options suite with KVM's seams (`sys`, `device`).
 */
import { callsThrow, defineHostileOptionsConformance, raise, trapsThrow, unprintable } from '@tsvmm/virt/conformance';
import { KvmKernelModel } from '../src/testing';
import { KvmPartition, probe } from '../src';

defineHostileOptionsConformance({
  backend: 'kvm',
  probe: (options) => probe(options as never),
  create: (options) => KvmPartition.create(options as never),
  createOperation: 'KvmPartition.create',
  cases: [
    ['a sys getter that throws a trap-throwing Proxy', () => ({ vcpus: 1, get sys(): never { return raise(trapsThrow()); } })],
    ['a sys that is a trap-throwing Proxy', () => ({ vcpus: 1, sys: trapsThrow() })],
    ['a device getter that throws an unprintable Error', () => ({ vcpus: 1, get device(): never { return raise(unprintable()); } })],
  ],
  probeOnlyCases: [
    ['a sys whose calls throw a trap-throwing Proxy', () => ({ sys: callsThrow(trapsThrow()) })],
    ['a sys whose calls throw an unprintable Error', () => ({ sys: callsThrow(unprintable()) })],
  ],
});

test('a model still probes ok (the copy of the options is what create sees)', () => {
  expect(probe({ sys: new KvmKernelModel() })).toMatchObject({ backend: 'kvm', available: true, code: 'ok' });
});
