import { apicObserver, defineIrqFdConformance } from '@tsvmm/virt/conformance';
import type { RelayIrqFd } from '@tsvmm/virt';
import { EIO } from '@tsvmm/linux-sys';
import * as kvm from '../src/abi';
import { FaultInjector } from '@tsvmm/linux-sys/testing';
import { KvmPartition } from '../src';
import { LEGACY_ROUTES } from '../src/gsi-routing';
import { HAVE_KVM, describeKvm } from './kvm-env';

describeKvm('conformance on the real /dev/kvm', () => {
  if (!HAVE_KVM) return;
  const kernelSubject = (kernelRoutes?: number) => {
    const sys = new FaultInjector();
    // routingEntries counts the 40 legacy entries every table keeps: 40 + n leaves n GSIs for MSI routes.
    const limit = kernelRoutes === undefined ? {} : { routingEntries: LEGACY_ROUTES.length + kernelRoutes, maxRoutes: 64 };
    const partition = KvmPartition.create({ vcpus: 2, irqfd: 'kernel', sys, ...limit });
    const irqfd = partition.irqfd()!;
    return {
      partition,
      observer: apicObserver(partition),
      // KVM injects inside the eventfd write and inside unmask; overflow routes once the epoll worker has caught up.
      settle: () => irqfd.settle(),
      // The epoll worker injects from its own thread: look at IRR only after settle().
      waiterThread: true,
      failNextCommit: () => void sys.fail(kvm.KVM_SET_GSI_ROUTING, EIO),
      dispose: () => partition.dispose(),
    };
  };
  // KVM_MAX_IRQ_ROUTES GSIs: more than the overflow cases fill; the 4-GSI run below covers overflow.
  defineIrqFdConformance({ name: 'kvm (kernel irqfd), 2 vCPUs', supports: { overflow: false }, create: () => kernelSubject() });
  defineIrqFdConformance({
    name: 'kvm (kernel irqfd), 2 vCPUs, 4 GSIs: overflow relayed by the epoll worker',
    supports: { overflow: true },
    create: () => kernelSubject(4),
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
