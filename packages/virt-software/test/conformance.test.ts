import { apicObserver, defineIrqFdConformance } from '@tsvmm/virt/conformance';
import { SoftwarePartition } from '../src';

function subject(options: Parameters<typeof SoftwarePartition.create>[0]) {
  const partition = SoftwarePartition.create(options);
  return { partition, observer: apicObserver(partition), settle: () => Promise.resolve(), eoi: (vcpu: number, vector: number) => partition.eoi(vcpu, vector), dispose: () => partition.dispose() };
}

const supports = { stableEvent: true, routingTable: false, mediation: 'emulated', resample: true, guestEoi: true, overflow: false } as const;

defineIrqFdConformance({ name: 'software, APIC IDs 0 and 1', supports: { ...supports, x2apic: false }, create: () => subject({ vcpus: 2, maxRoutes: 64 }) });
defineIrqFdConformance({ name: 'software, APIC IDs 3, 7, 12', supports: { ...supports, x2apic: false }, create: () => subject({ vcpus: 3, apicIds: [3, 7, 12], maxRoutes: 40 }) });
defineIrqFdConformance({
  name: 'software, x2APIC IDs 0, 1, 0xFF, 0x100 and 0x3E8',
  supports: { ...supports, x2apic: true },
  create: () => subject({ vcpus: 5, apicIds: [0, 1, 0xff, 0x100, 0x3e8], x2apic: true, maxRoutes: 40 }),
});
defineIrqFdConformance({
  name: 'software, APIC IDs 0, 0x34 and x2APIC ID 0x1234',
  supports: { ...supports, x2apic: true },
  create: () => subject({ vcpus: 3, apicIds: [0, 0x34, 0x1234], x2apic: true, maxRoutes: 40 }),
});
// Declares nothing: the describe name lists what was derived from capabilities and what was assumed.
defineIrqFdConformance({ name: 'software, manifest derived', create: () => subject({ vcpus: 2, maxRoutes: 40 }) });
