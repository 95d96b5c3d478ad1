/**
 * probe() never throws and create() throws only typed errors, whatever the options do: the shared
 * hostile-options suite of the Linux backends, with the KVM model as the working `sys`.
 */
import { defineLinuxHostileOptionsTests } from '@tsvmm/linux-sys/testing';
import { KvmKernelModel } from '../src/testing';
import { KvmPartition, probe } from '../src';

defineLinuxHostileOptionsTests({
  backend: 'kvm',
  probe: (options) => probe(options as never),
  create: (options) => KvmPartition.create(options as never),
  createOperation: 'KvmPartition.create',
  modelSeams: () => ({ sys: new KvmKernelModel() }),
});
