import { encodeMsi } from '@tsvmm/virt';
import { ApicBus } from '@tsvmm/virt/testing';
import { assertNoCoalesced, coalescedOn, takeApicBusIrr } from '../../src/testing';

/** Two vCPUs (APIC IDs 0 and 1), software-enabled, with `sends` MSIs delivered as `[apicId, vector]`. */
function busWith(...sends: Array<[number, number]>): ApicBus {
  const bus = new ApicBus({ apicIds: [0, 1] });
  for (const apic of bus.apics) apic.softwareEnabled = true;
  for (const [apicId, vector] of sends) {
    const m = encodeMsi({ destinationId: apicId, vector });
    bus.deliver(m.addressLo, m.addressHi, m.data);
  }
  return bus;
}

describe('reading the IRR of a model APIC bus, as the backends\' test targets do', () => {
  it('takeApicBusIrr lists every pending vector by vCPU and clears it; nothing was coalesced', () => {
    const bus = busWith([1, 0x41], [0, 0x30], [1, 0xe0]);
    expect(takeApicBusIrr(bus)).toEqual({ irr: [[0, 0x30], [1, 0x41], [1, 0xe0]], coalesced: [] });
    expect(takeApicBusIrr(bus).irr).toEqual([]);
    expect(() => assertNoCoalesced(coalescedOn(bus))).not.toThrow();
  });

  it('a vector sent again while still pending is coalesced: counted per vCPU, and assertNoCoalesced names the vCPU', () => {
    const bus = busWith([1, 0x41], [1, 0x41], [0, 0x30]);
    expect(coalescedOn(bus)).toEqual([[1, 1]]);
    expect(() => assertNoCoalesced(coalescedOn(bus))).toThrow(/^vCPU 1: 1 interrupt\(s\) injected while the same vector was still pending/);
    expect(takeApicBusIrr(bus)).toEqual({ irr: [[0, 0x30], [1, 0x41]], coalesced: [[1, 1]] });
  });
});
