/**
 * The end-to-end scenario every backend runs: a guest programs an 8-vector MSI-X device the way
 * Linux does (entries while masked, Enable, then unmask each), the device signals each vector's
 * event (the kernel path, as VFIO would) or through the emulator (the user-space path), and every
 * interrupt must land in the IRR of the vCPU the message names, at the vector it names.
 */
import { type IrqFd, type LocalApicAccess, type Partition, encodeMsi } from '@tsvmm/virt';
import { type IrqFdMsixRoutes, MsixEmulator, createIrqFdMsixRoutes, partitionInjector } from '../../src';

export interface ScenarioBackend {
  readonly partition: Partition & LocalApicAccess;
  /** Resolves once every signal raised before the call has been delivered or latched. */
  settle(): Promise<void>;
}

const VECTORS = 8;
/** Where the scenarios' MSI-X table and PBA sit (BAR, byte offset). */
export const T_BAR = 0;
export const T_OFF = 0x1000;
export const P_OFF = 0x1800;
const vectorOf = (v: number) => 0x40 + v;

/** Waits (by polling the APIC, never by a fixed sleep) until `vcpu`'s IRR holds `vector`. */
async function waitForIrr(b: ScenarioBackend, vcpu: number, vector: number): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (b.partition.readLocalApic(vcpu).irr.includes(vector)) return;
    await b.settle();
    if (i > 10) await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error(`vector 0x${vector.toString(16)} never reached vCPU ${vcpu}'s IRR: ${JSON.stringify(b.partition.readLocalApic(vcpu))}`);
}

function irrs(b: ScenarioBackend): (readonly number[])[] {
  return Array.from({ length: b.partition.vcpuCount }, (_, c) => b.partition.readLocalApic(c).irr);
}

function clearAll(b: ScenarioBackend): void {
  for (let c = 0; c < b.partition.vcpuCount; c++) b.partition.clearIrr(c);
}

/** The scenarios' partition: its irqfd (which it must have) and each vCPU's APIC ID. */
export function scenarioPartition(b: ScenarioBackend): { irqfd: IrqFd; apicIds: number[] } {
  const { partition } = b;
  const irqfd = partition.irqfd();
  if (irqfd === undefined) throw new Error(`${partition.backend} has no irqfd`);
  return { irqfd, apicIds: Array.from({ length: partition.vcpuCount }, (_, c) => partition.readLocalApic(c).apicId) };
}

/**
 * The scenarios' device: an MSI-X emulator of `routes.routes.length` vectors, table at BAR 0 +
 * 0x1000 and PBA at BAR 0 + 0x1800, driving `routes`; every error it reports lands in `errors`.
 */
export function scenarioEmulator(b: ScenarioBackend, routes: IrqFdMsixRoutes): { emu: MsixEmulator; errors: Error[] } {
  const errors: Error[] = [];
  const emu = new MsixEmulator({
    vectors: routes.routes.length,
    table: { bir: T_BAR, offset: T_OFF },
    pba: { bir: T_BAR, offset: P_OFF },
    requestMsi: partitionInjector(b.partition),
    onError: (e) => errors.push(e),
  });
  emu.setRoutes(routes.routes, { batch: routes.batch });
  return { emu, errors };
}

export async function runGuestScenario(b: ScenarioBackend): Promise<void> {
  const { partition } = b;
  const { irqfd, apicIds } = scenarioPartition(b);
  const vcpuOf = (v: number) => v % partition.vcpuCount;
  using routes = createIrqFdMsixRoutes(irqfd, VECTORS);
  const { emu, errors } = scenarioEmulator(b, routes);
  clearAll(b);

  // The guest driver: program every entry while masked, then Enable, then unmask each.
  for (let v = 0; v < VECTORS; v++) {
    const m = encodeMsi({ destinationId: apicIds[vcpuOf(v)]!, vector: vectorOf(v) });
    emu.write32(T_BAR, T_OFF + v * 16, m.addressLo);
    emu.write32(T_BAR, T_OFF + v * 16 + 4, m.addressHi);
    emu.write32(T_BAR, T_OFF + v * 16 + 8, m.data);
  }
  const commitsBeforeEnable = irqfd.commitCount;
  emu.configWrite(2, 2, 0x8000 | (VECTORS - 1));
  // Enable programs every (still masked) route in one commit, so that the unmasks cost none.
  expect(irqfd.commitCount - commitsBeforeEnable).toBe(irqfd.capabilities.routingTable ? 1 : 0);
  for (let v = 0; v < VECTORS; v++) emu.write32(T_BAR, T_OFF + v * 16 + 12, 0);
  expect(irqfd.commitCount - commitsBeforeEnable).toBe(irqfd.capabilities.routingTable ? 1 : 0);
  await b.settle();
  expect(irrs(b).flat()).toEqual([]);

  // Each vector, signalled on its event by the device, lands on its vCPU only.
  for (let v = 0; v < VECTORS; v++) {
    routes.irqfdRoutes[v]!.event.signal();
    await waitForIrr(b, vcpuOf(v), vectorOf(v));
    const seen = irrs(b);
    expect(seen[vcpuOf(v)]).toEqual([vectorOf(v)]);
    for (let c = 0; c < seen.length; c++) if (c !== vcpuOf(v)) expect(seen[c]).toEqual([]);
    clearAll(b);
  }
  // The user-space path (an emulated device) reaches the same place.
  expect(emu.signal(5)).toBe(true);
  await waitForIrr(b, vcpuOf(5), vectorOf(5));
  clearAll(b);

  // Mask, signal: PBA bit set, nothing delivered. Unmask: delivered once.
  emu.write32(T_BAR, T_OFF + 3 * 16 + 12, 1);
  routes.irqfdRoutes[3]!.event.signal();
  routes.irqfdRoutes[3]!.event.signal();
  await b.settle();
  expect(emu.read32(T_BAR, P_OFF)).toBe(1 << 3);
  expect(irrs(b).flat()).toEqual([]);
  expect(emu.read32(T_BAR, P_OFF)).toBe(1 << 3); // the bit stays set until delivered
  emu.write32(T_BAR, T_OFF + 3 * 16 + 12, 0);
  await waitForIrr(b, vcpuOf(3), vectorOf(3));
  expect(emu.read32(T_BAR, P_OFF)).toBe(0);
  clearAll(b);
  await b.settle();
  expect(irrs(b).flat()).toEqual([]); // not a second time
  // Nor reported again: masked with no new signal, the PBA stays clear, and unmask delivers nothing.
  emu.write32(T_BAR, T_OFF + 3 * 16 + 12, 1);
  expect(emu.read32(T_BAR, P_OFF)).toBe(0);
  emu.write32(T_BAR, T_OFF + 3 * 16 + 12, 0);
  await b.settle();
  expect(irrs(b).flat()).toEqual([]);

  // Same through the user-space path while masked, plus a kernel-path signal: still once.
  emu.write32(T_BAR, T_OFF + 6 * 16 + 12, 1);
  expect(emu.signal(6)).toBe(false);
  routes.irqfdRoutes[6]!.event.signal();
  expect(emu.read32(T_BAR, P_OFF)).toBe(1 << 6);
  emu.write32(T_BAR, T_OFF + 6 * 16 + 12, 0);
  await waitForIrr(b, vcpuOf(6), vectorOf(6));
  clearAll(b);
  await b.settle();
  expect(irrs(b).flat()).toEqual([]);

  // Retarget vector 1 to the other vCPU while masked, then unmask.
  const other = (vcpuOf(1) + 1) % partition.vcpuCount;
  emu.write32(T_BAR, T_OFF + 16 + 12, 1);
  emu.write32(T_BAR, T_OFF + 16, encodeMsi({ destinationId: apicIds[other]!, vector: 0x90 }).addressLo);
  emu.write32(T_BAR, T_OFF + 16 + 8, 0x90);
  emu.write32(T_BAR, T_OFF + 16 + 12, 0);
  routes.irqfdRoutes[1]!.event.signal();
  await waitForIrr(b, other, 0x90);
  expect(irrs(b).flat()).toEqual([0x90]);
  clearAll(b);

  // Disable and re-enable with all 8 programmed and unmasked: one commit where there is a routing table.
  emu.configWrite(3, 1, 0);
  const before = irqfd.commitCount;
  emu.configWrite(3, 1, 0x80);
  expect(irqfd.commitCount - before).toBe(irqfd.capabilities.routingTable ? 1 : 0);
  routes.irqfdRoutes[0]!.event.signal();
  await waitForIrr(b, vcpuOf(0), vectorOf(0));

  expect(errors).toEqual([]);
  emu.clearRoutes();
}
