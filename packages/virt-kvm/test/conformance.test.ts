import { apicObserver, defineIrqFdConformance } from '@tsvmm/virt/conformance';
import type { RelayIrqFd } from '@tsvmm/virt';
import { EIO } from '@tsvmm/linux-sys';
import * as kvm from '../src/abi';
import { FaultInjector } from '@tsvmm/linux-sys/testing';
import { KvmPartition } from '../src';
import { HAVE_KVM, describeKvm } from './kvm-env';

describeKvm('conformance on the real /dev/kvm', () => {
  if (!HAVE_KVM) return;
  defineIrqFdConformance({
    name: 'kvm (kernel irqfd), 2 vCPUs',
    create: () => {
      const sys = new FaultInjector();
      const partition = KvmPartition.create({ vcpus: 2, irqfd: 'kernel', sys });
      // KVM injects inside the eventfd write and inside unmask: nothing is in flight to wait for.
      return {
        partition,
        observer: apicObserver(partition),
        settle: () => Promise.resolve(),
        failNextCommit: () => void sys.fail(kvm.KVM_SET_GSI_ROUTING, EIO),
        dispose: () => partition.dispose(),
      };
    },
  });
  defineIrqFdConformance({
    name: 'kvm (user-space relay: epoll worker + KVM_SIGNAL_MSI), 2 vCPUs',
    create: () => {
      const partition = KvmPartition.create({ vcpus: 2, irqfd: 'relay' });
      const relay = partition.irqfd() as RelayIrqFd;
      return { partition, observer: apicObserver(partition), settle: () => relay.settle(), dispose: () => partition.dispose() };
    },
  });
});
