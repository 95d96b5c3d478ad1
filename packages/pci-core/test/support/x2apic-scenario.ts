/**
 * A guest programming MSI-X vectors for a vCPU whose APIC ID is above 255, as Linux does on an
 * x2APIC guest: the destination's bits 31:8 in the entry's upper address, or (the paravirtual
 * extended destination ID) bits 14:8 in address bits 11:5. Each message must reach the route with
 * the same meaning, land on that vCPU, and a vector retargeted between a low and a high APIC ID
 * while unmasked must lose no signal.
 */
import { type MsiMessage, decodeMsi, encodeMsi } from '@tsvmm/virt';
import { createIrqFdMsixRoutes } from '../../src';
import { P_OFF, type ScenarioBackend, T_BAR, T_OFF, scenarioEmulator, scenarioPartition } from './guest-scenario';

const VECTORS = 3;

/** The address low word a Linux guest writes for `apicId` with the extended destination ID (bits 14:8 in address bits 11:5). */
export function extendedDestinationLo(apicId: number): number {
  return (encodeMsi({ destinationId: apicId & 0xff, vector: 0x40 }).addressLo | (((apicId >>> 8) & 0x7f) << 5)) >>> 0;
}

/** The destination APIC ID a message names to a hypervisor that takes 32-bit IDs. */
const destinationOf = (m: MsiMessage | undefined): number | undefined => (m === undefined ? undefined : decodeMsi(m).destinationId);

/** Waits (polling the APIC, bounded) until some vCPU's IRR holds something; returns every (vcpu, vector) and clears them. */
async function take(b: ScenarioBackend): Promise<Array<[number, number]>> {
  for (let i = 0; i < 2000; i++) {
    const out: Array<[number, number]> = [];
    for (let c = 0; c < b.partition.vcpuCount; c++) for (const v of b.partition.readLocalApic(c).irr) out.push([c, v]);
    if (out.length > 0) {
      for (let c = 0; c < b.partition.vcpuCount; c++) b.partition.clearIrr(c);
      return out;
    }
    await b.settle();
    if (i > 10) await new Promise((r) => setTimeout(r, 1));
  }
  return [];
}

export async function runX2apicScenario(b: ScenarioBackend): Promise<void> {
  const { irqfd, apicIds } = scenarioPartition(b);
  const high = apicIds.findIndex((id) => id > 0xff && id <= 0x7fff);
  const low = apicIds.findIndex((id) => id <= 0xff);
  expect([high >= 0, low >= 0]).toEqual([true, true]);
  const highId = apicIds[high]!;
  const lowId = apicIds[low]!;
  using routes = createIrqFdMsixRoutes(irqfd, VECTORS);
  const { emu, errors } = scenarioEmulator(b, routes);
  const entry = (v: number, lo: number, hi: number, data: number) => {
    emu.write32(T_BAR, T_OFF + v * 16, lo);
    emu.write32(T_BAR, T_OFF + v * 16 + 4, hi);
    emu.write32(T_BAR, T_OFF + v * 16 + 8, data);
  };
  // Vector 0: the upper address; vector 1: the extended destination ID; vector 2: a low APIC ID.
  const upper = encodeMsi({ destinationId: highId, vector: 0x50 });
  entry(0, upper.addressLo, upper.addressHi, upper.data);
  entry(1, extendedDestinationLo(highId), 0, 0x51);
  const lowMsg = encodeMsi({ destinationId: lowId, vector: 0x52 });
  entry(2, lowMsg.addressLo, lowMsg.addressHi, lowMsg.data);
  emu.configWrite(2, 2, 0x8000 | (VECTORS - 1));
  for (let v = 0; v < VECTORS; v++) emu.write32(T_BAR, T_OFF + v * 16 + 12, 0);

  // Both encodings reach the route naming the same APIC ID, and land on its vCPU.
  expect(routes.irqfdRoutes.map((r) => destinationOf(r.msi))).toEqual([highId, highId, lowId]);
  for (const [v, vector] of [
    [0, 0x50],
    [1, 0x51],
  ] as const) {
    routes.irqfdRoutes[v]!.event.signal();
    expect(await take(b)).toEqual([[high, vector]]);
  }
  // The user-space path (an emulated device's own signal) too.
  expect(emu.signal(1)).toBe(true);
  expect(await take(b)).toEqual([[high, 0x51]]);

  // Retarget vector 2 between the low and the high APIC ID while unmasked, as Linux's
  // __pci_write_msi_msg does (address low, upper address, data, then a read back to flush), with
  // each encoding of the high ID: every signal lands once, on the target of the moment.
  const r2 = routes.irqfdRoutes[2]!;
  const retarget = (lo: number, hi: number) => {
    entry(2, lo, hi, 0x52);
    emu.read32(T_BAR, T_OFF + 2 * 16 + 8);
  };
  for (const [name, lo, hi] of [
    ['extended destination ID', extendedDestinationLo(highId), 0],
    ['upper address', upper.addressLo, upper.addressHi],
  ] as const) {
    for (let round = 0; round < 3; round++) {
      r2.event.signal();
      expect([name, await take(b)]).toEqual([name, [[low, 0x52]]]);
      retarget(lo, hi);
      expect(destinationOf(r2.msi)).toBe(highId);
      r2.event.signal();
      expect([name, await take(b)]).toEqual([name, [[high, 0x52]]]);
      retarget(lowMsg.addressLo, 0);
      expect(destinationOf(r2.msi)).toBe(lowId);
    }
  }
  // A signal raised before a retarget is delivered once, to the target it was raised for (these
  // backends deliver inside the signal: kernel irqfd, the in-process relay).
  r2.event.signal();
  retarget(upper.addressLo, upper.addressHi);
  expect(await take(b)).toEqual([[low, 0x52]]);
  expect(emu.read32(T_BAR, P_OFF)).toBe(0);
  expect(errors).toEqual([]);
  emu.clearRoutes();
}
