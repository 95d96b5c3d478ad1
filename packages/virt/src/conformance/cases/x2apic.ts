/** x2APIC destination IDs (above 255, bits 31:8 in the upper MSI address), where declared. */
import { encodeMsi } from '../../msi/codec';
import { check } from '../check';
import { type ConformanceCase, V } from './context';

export const x2apicCases: readonly ConformanceCase[] = [
  {
    name: 'x2apic: a route and requestMsi reach a vCPU whose APIC ID is above 255 through the upper address',
    skipReason: (m) => (m.x2apic ? undefined : 'not declared: supports.x2apic is false'),
    async run({ subject, irqfd, expectDeliveries }) {
      const vcpus = Array.from({ length: subject.partition.vcpuCount }, (_, v) => v);
      const high = vcpus.find((v) => subject.observer.apicId(v) > 0xff);
      check(high !== undefined, 'a backend declaring x2apic must give the suite a vCPU whose APIC ID is above 255');
      const id = subject.observer.apicId(high);
      const m = encodeMsi({ destinationId: id, vector: V[2]! });
      check(m.addressHi !== 0, 'the message carries destination bits 31:8 in the upper address');
      const address = BigInt(m.addressLo) | (BigInt(m.addressHi) << 32n);
      const r = irqfd.newIrqFdRoute();
      r.setMsi(address, m.data);
      r.unmask();
      r.event.signal();
      await expectDeliveries([[high, V[2]!]], `a route to APIC ID ${id}`);
      subject.partition.requestMsi(address, m.data);
      await expectDeliveries([[high, V[2]!]], `requestMsi to APIC ID ${id}`);
      const low = encodeMsi({ destinationId: id & 0xff, vector: V[3]! });
      const lowOwner = vcpus.find((v) => subject.observer.apicId(v) === (id & 0xff));
      subject.partition.requestMsi(low.addressLo, low.data);
      await expectDeliveries(lowOwner === undefined ? [] : [[lowOwner, V[3]!]], `the same low byte without the upper address (APIC ID ${id & 0xff})`);
    },
  },
];
