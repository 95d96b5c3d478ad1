/**
 * x2APIC destination IDs (above 255: bits 31:8 in the upper MSI address, or the paravirtual
 * extended destination ID in address bits 11:5), where declared; and the limits of every partition.
 */
import { type MsiMessage, encodeMsi } from '../../msi/codec';
import { check, checkEqual, checkThrows } from '../check';
import { type CaseContext, type ConformanceCase, V } from './context';

const notX2apic = (m: { x2apic: boolean }): string | undefined => (m.x2apic ? undefined : 'not declared: supports.x2apic is false');

/** The 64-bit address of `m`. */
const address = (m: MsiMessage): bigint => BigInt(m.addressLo) | (BigInt(m.addressHi) << 32n);

/** vCPU indices, and the first one whose APIC ID is above 255 (the suite needs one where x2APIC is declared). */
function highVcpu({ subject }: CaseContext): { vcpus: number[]; high: number; id: number } {
  const vcpus = Array.from({ length: subject.partition.vcpuCount }, (_, v) => v);
  const high = vcpus.find((v) => subject.observer.apicId(v) > 0xff);
  check(high !== undefined, 'a backend declaring x2apic must give the suite a vCPU whose APIC ID is above 255');
  return { vcpus, high, id: subject.observer.apicId(high) };
}

/**
 * The same physical, fixed, edge message as {@link encodeMsi} with APIC ID bits 14:8 in address
 * bits 11:5 instead of the upper address (the extended destination ID a Linux guest writes).
 */
function extendedDestinationMsi(apicId: number, vector: number): MsiMessage {
  const m = encodeMsi({ destinationId: apicId & 0xff, vector });
  return { addressLo: (m.addressLo | (((apicId >>> 8) & 0x7f) << 5)) >>> 0, addressHi: 0, data: m.data };
}

export const x2apicCases: readonly ConformanceCase[] = [
  {
    name: 'x2apic: a route and requestMsi reach a vCPU whose APIC ID is above 255 through the upper address',
    skipReason: notX2apic,
    async run(ctx) {
      const { subject, irqfd, expectDeliveries } = ctx;
      const { vcpus, high, id } = highVcpu(ctx);
      const m = encodeMsi({ destinationId: id, vector: V[2]! });
      check(m.addressHi !== 0, 'the message carries destination bits 31:8 in the upper address');
      const r = irqfd.newIrqFdRoute();
      r.setMsi(address(m), m.data);
      r.unmask();
      r.event.signal();
      await expectDeliveries([[high, V[2]!]], `a route to APIC ID ${id}`);
      subject.partition.requestMsi(address(m), m.data);
      await expectDeliveries([[high, V[2]!]], `requestMsi to APIC ID ${id}`);
      const low = encodeMsi({ destinationId: id & 0xff, vector: V[3]! });
      const lowOwner = vcpus.find((v) => subject.observer.apicId(v) === (id & 0xff));
      subject.partition.requestMsi(low.addressLo, low.data);
      await expectDeliveries(lowOwner === undefined ? [] : [[lowOwner, V[3]!]], `the same low byte without the upper address (APIC ID ${id & 0xff})`);
    },
  },
  {
    name: 'x2apic: an extended destination ID (address bits 11:5) reaches the same vCPU as the upper address, on a route and by requestMsi',
    skipReason: notX2apic,
    async run(ctx) {
      const { subject, irqfd, expectDeliveries } = ctx;
      const { high, id } = highVcpu(ctx);
      check(id <= 0x7fff, `the extended destination ID carries APIC IDs up to 0x7FFF; give the suite a vCPU above 255 with an ID that fits (got ${id})`);
      const m = extendedDestinationMsi(id, V[4]!);
      const r = irqfd.newIrqFdRoute();
      r.setMsi(m.addressLo, m.data);
      check(r.msi !== undefined, 'the route kept a message');
      const kept = r.msi;
      checkEqual(((kept.addressHi & 0xffffff00) | ((kept.addressLo >>> 12) & 0xff)) >>> 0, id, 'the destination the route keeps (the same APIC ID, in one encoding)');
      r.unmask();
      r.event.signal();
      await expectDeliveries([[high, V[4]!]], `a route to APIC ID ${id} by extended destination ID`);
      subject.partition.requestMsi(m.addressLo, m.data);
      await expectDeliveries([[high, V[4]!]], `requestMsi to APIC ID ${id} by extended destination ID`);
    },
  },
  {
    name: 'x2apic: retargeting an unmasked route between a low and a high APIC ID loses nothing and lands each signal on its target',
    skipReason: notX2apic,
    async run(ctx) {
      const { subject, irqfd, expectDeliveries } = ctx;
      const { vcpus, high, id } = highVcpu(ctx);
      const low = vcpus.find((v) => subject.observer.apicId(v) <= 0xff);
      check(low !== undefined, 'the subject has a vCPU whose APIC ID is 255 or below');
      const lowMsi = encodeMsi({ destinationId: subject.observer.apicId(low), vector: V[0]! });
      const highMsi = encodeMsi({ destinationId: id, vector: V[1]! });
      const r = irqfd.newIrqFdRoute();
      r.setMsi(address(lowMsi), lowMsi.data);
      r.unmask();
      for (let round = 0; round < 3; round++) {
        r.event.signal();
        await expectDeliveries([[low, V[0]!]], `round ${round}: on the low APIC ID`);
        r.setMsi(address(highMsi), highMsi.data);
        r.event.signal();
        await expectDeliveries([[high, V[1]!]], `round ${round}: retargeted to APIC ID ${id} while unmasked`);
        r.setMsi(address(lowMsi), lowMsi.data);
      }
      check(!r.masked, 'the route stayed unmasked');
    },
  },
  {
    name: 'x2apic: 0xFFFFFFFF broadcasts to every vCPU, 0xFF names APIC ID 255 only, a logical cluster reaches its member',
    skipReason: notX2apic,
    async run(ctx) {
      const { subject, expectDeliveries } = ctx;
      const { vcpus, high, id } = highVcpu(ctx);
      const all = encodeMsi({ destinationId: 0xffffffff, vector: V[5]! });
      subject.partition.requestMsi(address(all), all.data);
      await expectDeliveries(
        vcpus.map((v) => [v, V[5]!] as const),
        'physical destination 0xFFFFFFFF',
      );
      const ff = encodeMsi({ destinationId: 0xff, vector: V[2]! });
      const owner = vcpus.find((v) => subject.observer.apicId(v) === 0xff);
      subject.partition.requestMsi(address(ff), ff.data);
      await expectDeliveries(owner === undefined ? [] : [[owner, V[2]!]], 'physical destination 0xFF with 32-bit IDs (not a broadcast)');
      // x2APIC logical IDs derive from the APIC ID: cluster id >> 4 in bits 31:16, bit id & 15 below.
      const logical = encodeMsi({ destinationId: (((id >>> 4) << 16) | (1 << (id & 0xf))) >>> 0, destinationMode: 'logical', vector: V[3]! });
      subject.partition.requestMsi(address(logical), logical.data);
      await expectDeliveries([[high, V[3]!]], `logical cluster ${id >>> 4}, member ${id & 0xf}`);
    },
  },
  {
    name: 'limits: a destination the partition cannot reach is INVALID_MSI naming the limit, before any change',
    async run({ subject, irqfd, route, expectDeliveries }) {
      const caps = subject.partition.capabilities;
      check(Number.isInteger(caps.maxApicId) && caps.maxApicId >= 0, `capabilities.maxApicId is an APIC ID (got ${String(caps.maxApicId)})`);
      check(caps.x2apic || caps.maxApicId <= 0xfe, `without x2apic, maxApicId is at most 0xFE (got ${caps.maxApicId})`);
      const r = route(0, V[0]!, true);
      const kept = r.msi;
      const commits = irqfd.commitCount;
      const broadcast = caps.x2apic ? 0xffffffff : 0xff;
      if (caps.maxApicId + 1 < broadcast) {
        const beyond = encodeMsi({ destinationId: caps.maxApicId + 1, vector: V[1]! });
        const e = checkThrows(() => subject.partition.requestMsi(address(beyond), beyond.data), 'INVALID_MSI', `requestMsi to APIC ID ${caps.maxApicId + 1}`);
        if (caps.x2apic) check(e.message.includes(String(caps.maxApicId)), `the error names the limit ${caps.maxApicId}: ${e.message}`);
        checkThrows(() => r.setMsi(address(beyond), beyond.data), 'INVALID_MSI', `setMsi to APIC ID ${caps.maxApicId + 1}`);
      }
      if (!caps.x2apic) {
        const ext = extendedDestinationMsi(0x100, V[1]!);
        checkThrows(() => subject.partition.requestMsi(ext.addressLo, ext.data), 'INVALID_MSI', 'requestMsi with an extended destination ID where x2APIC is not offered');
        checkThrows(() => r.setMsi(ext.addressLo, ext.data), 'INVALID_MSI', 'setMsi with an extended destination ID where x2APIC is not offered');
      }
      checkEqual([r.msi, r.masked], [kept, false], 'the route after the refused calls');
      checkEqual(irqfd.commitCount, commits, 'commits issued by refused calls');
      r.event.signal();
      await expectDeliveries([[0, V[0]!]], 'the route still delivers to its own target');
    },
  },
];
