import { apicObserver, defineIrqFdConformance } from '@tsvmm/virt/conformance';
import { SoftwarePartition } from '../src';

function subject(options: Parameters<typeof SoftwarePartition.create>[0]) {
  const partition = SoftwarePartition.create(options);
  return { partition, observer: apicObserver(partition), settle: () => Promise.resolve(), dispose: () => partition.dispose() };
}

defineIrqFdConformance({ name: 'software, APIC IDs 0 and 1', create: () => subject({ vcpus: 2, maxRoutes: 64 }) });
defineIrqFdConformance({ name: 'software, APIC IDs 3, 7, 12', create: () => subject({ vcpus: 3, apicIds: [3, 7, 12], maxRoutes: 40 }) });
