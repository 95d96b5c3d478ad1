/**
 * The end-to-end demo: a 2-vCPU partition, an 8-vector MSI-X device in `@tsvmm/pci-core` wired to
 * irqfd routes, a guest driver simulated by MMIO writes to the table (as Linux issues them), and
 * a device that signals route events (as VFIO does). Every delivery is read back from the local
 * APICs and compared with what the guest programmed; nothing is assumed.
 */
import type { LocalApicAccess, Partition } from '@tsvmm/virt';
import { noIrqFd } from './errors';
import { openGuestMsix } from './msix-device';

export const DEMO_VECTORS = 8;
export const DEMO_VCPUS = 2;
/** Guest vector for MSI-X entry i. */
export const guestVector = (entry: number): number => 0x40 + entry;

export interface DemoPartition {
  readonly partition: Partition & LocalApicAccess;
  /** Resolves once every signal raised so far was delivered or latched (relay backends). */
  settle(): Promise<void>;
  /** Why this backend was chosen, for people. */
  readonly why: string;
}

export interface Observation {
  readonly section: string;
  readonly what: string;
  readonly expected: string;
  readonly observed: string;
  readonly ok: boolean;
}

export interface DemoResult {
  readonly backend: string;
  readonly why: string;
  readonly irqfd: string;
  readonly vcpus: readonly { readonly vcpu: number; readonly apicId: number; readonly softwareEnabled: boolean }[];
  readonly device: { readonly vectors: number; readonly table: string; readonly pba: string };
  readonly enableCommits: number | null;
  readonly observations: readonly Observation[];
  readonly ok: boolean;
}

const hex = (v: number): string => `0x${v.toString(16)}`;
const list = (vs: readonly number[]): string => `[${vs.map(hex).join(', ')}]`;

/** Runs the demo on `dp`; `log` receives each line as it happens (human mode). Disposes nothing it did not create. */
export async function runDemo(dp: DemoPartition, log: (line: string) => void = () => {}): Promise<DemoResult> {
  const { partition } = dp;
  const irqfd = partition.irqfd();
  const vcpus = Array.from({ length: partition.vcpuCount }, (_, v) => {
    const s = partition.readLocalApic(v);
    return { vcpu: v, apicId: s.apicId, softwareEnabled: s.softwareEnabled };
  });
  const observations: Observation[] = [];
  let section = '';
  const observe = (what: string, expected: string, observed: string): boolean => {
    const ok = expected === observed;
    observations.push({ section, what, expected, observed, ok });
    log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}: ${observed}${ok ? '' : `  (expected ${expected})`}`);
    return ok;
  };
  const begin = (title: string): void => {
    section = title;
    log('');
    log(title);
  };
  /** IRR of every vCPU, as "vCPU 0 IRR [..], vCPU 1 IRR [..]", then clears them. */
  const takeIrr = (): string => {
    const parts = vcpus.map(({ vcpu }) => `vCPU ${vcpu} IRR ${list(partition.readLocalApic(vcpu).irr)}`);
    vcpus.forEach(({ vcpu }) => partition.clearIrr(vcpu));
    return parts.join(', ');
  };
  const expectIrr = (target: number | undefined, vector: number): string =>
    vcpus.map(({ vcpu }) => `vCPU ${vcpu} IRR ${list(vcpu === target ? [vector] : [])}`).join(', ');

  log(`Backend: ${partition.backend} (${dp.why})`);
  log(`irqfd: ${irqfd ? `${irqfd.capabilities.mediation}: ${irqfd.capabilities.mechanism}` : 'none'}`);
  log(`Partition: ${vcpus.length} vCPUs, APIC IDs ${vcpus.map((v) => v.apicId).join(' and ')} (read from the local APICs)`);
  if (!irqfd) throw noIrqFd(partition.backend);

  section = 'setup';
  observe('local APICs software-enabled', vcpus.map(() => 'yes').join(', '), vcpus.map((v) => (v.softwareEnabled ? 'yes' : 'no')).join(', '));
  vcpus.forEach(({ vcpu }) => partition.clearIrr(vcpu));

  using dev = openGuestMsix(partition, DEMO_VECTORS);
  log(`Device: MSI-X with ${DEMO_VECTORS} vectors, table at ${dev.describeTable}, PBA at ${dev.describePba}, one irqfd route per vector`);
  const target = (entry: number): number => entry % vcpus.length;
  const apicOf = (vcpu: number): number => vcpus[vcpu]!.apicId;

  begin('Guest driver enables MSI-X as Linux does: Enable + Function Mask, entries written while masked, Function Mask off, unmask each');
  const commits0 = irqfd.commitCount;
  dev.guest.enable(true, true);
  for (let e = 0; e < DEMO_VECTORS; e++) dev.guest.writeEntry(e, 0xfee00000 + apicOf(target(e)) * 0x1000, 0, guestVector(e));
  dev.guest.enable(true, false);
  for (let e = 0; e < DEMO_VECTORS; e++) dev.guest.setMasked(e, false);
  const enableCommits = irqfd.capabilities.routingTable ? irqfd.commitCount - commits0 : null;
  log(`  routing-table commits for the whole sequence: ${enableCommits ?? 'n/a (no routing table)'}`);
  await dp.settle();
  observe('nothing delivered while programming', expectIrr(undefined, 0), takeIrr());

  const how = dev.routes[0]!.event.kind === 'eventfd' ? 'writes each route eventfd, as VFIO does' : `signals each route event (${dev.routes[0]!.event.kind})`;
  begin(`1. The device ${how}; each vector lands on its vCPU at its vector`);
  for (let e = 0; e < DEMO_VECTORS; e++) {
    dev.signal(e);
    await dp.settle();
    observe(`vector ${e} → APIC ${apicOf(target(e))} vector ${hex(guestVector(e))}`, expectIrr(target(e), guestVector(e)), takeIrr());
  }

  begin('2. A masked vector latches in the PBA and is delivered once at unmask');
  const m = 3;
  dev.guest.setMasked(m, true);
  dev.signal(m);
  await dp.settle();
  observe(`vector ${m} masked, signalled: nothing delivered`, expectIrr(undefined, 0), takeIrr());
  observe(`guest reads the PBA: bit ${m} set`, `PBA ${hex(1 << m)}`, `PBA ${hex(dev.guest.readPba())}`);
  dev.guest.setMasked(m, false);
  await dp.settle();
  observe(`vector ${m} unmasked: delivered`, expectIrr(target(m), guestVector(m)), takeIrr());
  await dp.settle();
  observe('exactly once: nothing more arrives', expectIrr(undefined, 0), takeIrr());
  observe(`PBA bit ${m} clear after delivery`, 'PBA 0x0', `PBA ${hex(dev.guest.readPba())}`);

  begin('3. The guest retargets a vector to the other vCPU (mask, rewrite the entry, unmask, as Linux does)');
  const r = 5;
  const from = target(r);
  const to = (from + 1) % vcpus.length;
  const newVector = 0x60;
  dev.guest.setMasked(r, true);
  dev.guest.writeEntry(r, 0xfee00000 + apicOf(to) * 0x1000, 0, newVector);
  dev.guest.setMasked(r, false);
  await dp.settle();
  observe('nothing delivered by the retarget itself', expectIrr(undefined, 0), takeIrr());
  dev.signal(r);
  await dp.settle();
  observe(`vector ${r} now → APIC ${apicOf(to)} vector ${hex(newVector)} (was APIC ${apicOf(from)} ${hex(guestVector(r))})`, expectIrr(to, newVector), takeIrr());

  const ok = observations.every((o) => o.ok);
  const failed = observations.filter((o) => !o.ok).length;
  log('');
  log(ok ? `All ${observations.length} observations are correct.` : `${failed} of ${observations.length} observations are WRONG.`);
  return {
    backend: partition.backend,
    why: dp.why,
    irqfd: `${irqfd.capabilities.mediation}: ${irqfd.capabilities.mechanism}`,
    vcpus,
    device: { vectors: DEMO_VECTORS, table: dev.describeTable, pba: dev.describePba },
    enableCommits,
    observations,
    ok,
  };
}
