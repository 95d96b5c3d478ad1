/**
 * The end-to-end demo: a 2-vCPU partition, an 8-vector MSI-X device in `@tsvmm/pci-core` wired to
 * irqfd routes, a guest driver simulated by MMIO writes to the table (as Linux issues them), and
 * a device that signals route events (as VFIO does). Every delivery is read back from the local
 * APICs and compared with what the guest programmed; nothing is assumed.
 */
import { type LocalApicAccess, type Partition, hasIoApicAccess, isVirtError } from '@tsvmm/virt';
import type * as Vfio from '@tsvmm/vfio';
import { Stalled, withDeadline } from '../deadline';
import { type TempFile, TempUnavailable, makeTempFile } from '../output/temp';
import { noIrqFd } from './errors';
import { type FileReadHost, type FileReadUnavailable, openFileReadHost } from './file-read';
import { TEXT_WIDTH, demoHeader } from './header';
import { openGuestMsix } from './msix-device';
import { type PassthroughHost, type PassthroughUnavailable, VFIO_DEVICE_ENV, openPassthroughHost } from './passthrough';
import { X2APIC_DEMO_APIC_IDS, type X2apicHost, openX2apicHost } from './x2apic';

export const DEMO_VECTORS = 8;
export const DEMO_VCPUS = 2;
/** Guest vector for MSI-X entry i. */
export const guestVector = (entry: number): number => 0x40 + entry;

/** What the demo runs on: a partition whose local APICs can be read, and how to wait for its deliveries. */
export interface DemoPartition {
  /**
   * The partition the demo programs and reads back: it needs an irqfd (else `runDemo` throws
   * UNSUPPORTED), and the vectors are spread over its vCPUs (`tsvmm demo` opens 2).
   */
  readonly partition: Partition & LocalApicAccess;
  /**
   * Resolves once every signal raised so far was delivered or latched (relay backends). Given 2 s
   * each time: when it has not resolved by then, the demo records a failed observation and stops.
   */
  settle(): Promise<void>;
  /** Why this backend was chosen, for people (one sentence; `--json` prints it as it is). */
  readonly why: string;
  /**
   * The backends passed over before this one, each with its reason: the text output lists them on
   * indented lines under a short `Backend:` line, instead of printing `why` on one long line.
   */
  readonly passedOver?: readonly {
    /** The backend's name, e.g. `kvm`. */
    readonly backend: string;
    /** Why it is not usable here: its probe's sentence. */
    readonly reason: string;
  }[];
}

/** One check of the demo: what it expected and what it read back from the local APICs or the device. */
export interface Observation {
  /** The demo step it belongs to (its heading in the human output). */
  readonly section: string;
  /** What was checked, e.g. `vector 1 → APIC 1 vector 0x41`. */
  readonly what: string;
  /** The expected reading, as text (e.g. `vCPU 0 IRR [], vCPU 1 IRR [0x41]`). */
  readonly expected: string;
  /** The actual reading, in the same form. */
  readonly observed: string;
  /** `expected === observed`. */
  readonly ok: boolean;
}

/** The `schema` of a demo document; the number changes only when a field changes meaning or goes away. */
export const DEMO_SCHEMA = 'tsvmm-demo/1';

/** What `tsvmm demo --json` prints: the setup it ran on, and every observation (`schemas/demo.schema.json`). */
export interface DemoResult {
  /** `tsvmm-demo/1`: which document this is, and the version of its shape. */
  readonly schema: typeof DEMO_SCHEMA;
  /** The partition's backend name (`kvm`, `software`...). */
  readonly backend: string;
  /** Why this backend was chosen, for people. */
  readonly why: string;
  /** The irqfd's mediation and mechanism, in one line. */
  readonly irqfd: string;
  /** Each vCPU as read from its local APIC at the start. */
  readonly vcpus: readonly {
    /** vCPU index. */
    readonly vcpu: number;
    /** Its APIC ID. */
    readonly apicId: number;
    /** Spurious-interrupt vector register bit 8. */
    readonly softwareEnabled: boolean;
  }[];
  /** The emulated MSI-X device. */
  readonly device: {
    /** Number of MSI-X vectors. */
    readonly vectors: number;
    /** Where the table is, e.g. `BAR0+0x0`. */
    readonly table: string;
    /** Where the PBA is, in the same form. */
    readonly pba: string;
  };
  /**
   * Routing-table commits the guest driver's whole enable sequence cost (Enable with Function Mask,
   * every entry written, Function Mask off, each vector unmasked), or null without a routing table.
   */
  readonly enableCommits: number | null;
  /**
   * Where the file-read scene ran: `kvm` (real /dev/kvm, kernel irqfd), `model` (the KVM model, with
   * the kernel signalling real eventfds beside the model's), or null when it could not run here
   * (or the demo stopped before it); `why` says why, for people.
   */
  readonly fileRead: FileReadScene;
  /**
   * Where the x2APIC scene ran (a route to the vCPU at APIC ID 256, by the upper MSI address and by
   * the extended destination ID): `kvm` (real /dev/kvm), `model` (the KVM model) or `software`; null
   * when the demo stopped before it. `why` says why, for people.
   */
  readonly x2apic: X2apicScene;
  /**
   * Where the passthrough scene ran (a device assigned with `AssignedPciDevice`, MSI-X programmed
   * as a guest driver does, a vector raised by the device and read back from IRR): `device` (the
   * PCI function named by `TSVMM_VFIO_DEVICE`, on /dev/kvm), `model` (the VFIO and KVM models), or
   * null when it could not run here (or the demo stopped before it). `why` says why, for people.
   */
  readonly passthrough: PassthroughScene;
  /** Every check, in order. */
  readonly observations: readonly Observation[];
  /** True when every observation was right (the demo then exits 0). */
  readonly ok: boolean;
}

/**
 * How long the demo waits, each time, for the signals raised so far to be delivered or latched. The
 * software model and kernel irqfd settle at once and a relay's worker within microseconds; two
 * seconds allow a worker descheduled on a loaded host many times over, and a demo whose relay has
 * stopped ends with a failed check two seconds later instead of hanging.
 */
export const SETTLE_DEADLINE_MS = 2000;

/** Where the demo's file-read scene ran ({@link DemoResult.fileRead}). */
export interface FileReadScene {
  /** `kvm` (real /dev/kvm, kernel irqfd), `model` (the KVM model), or null when it did not run. */
  readonly on: 'kvm' | 'model' | null;
  /** Why, for people: one sentence (the reason real KVM was not usable, or why the scene did not run). */
  readonly why: string;
}

/** Where the demo's x2APIC scene ran ({@link DemoResult.x2apic}). */
export interface X2apicScene {
  /** `kvm` (real /dev/kvm), `model` (the KVM model), `software` (the software backend), or null when it did not run. */
  readonly on: 'kvm' | 'model' | 'software' | null;
  /** Why, for people: one sentence (the reason real KVM was not usable, or why the scene did not run). */
  readonly why: string;
  /** The APIC ID of each of the scene's vCPUs, read from its local APIC (`[0, 256]`); empty when the scene did not run. */
  readonly apicIds: readonly number[];
}

/** Where the demo's passthrough scene ran ({@link DemoResult.passthrough}). */
export interface PassthroughScene {
  /** `device` (a real function on /dev/kvm), `model` (the VFIO and KVM models), or null when it did not run. */
  readonly on: 'device' | 'model' | null;
  /** Why, for people: one sentence (the device named, or why the scene did not run). */
  readonly why: string;
  /** The assigned function's PCI name, or null when the scene did not run. */
  readonly device: string | null;
  /** MSI-X vectors bound to their route's eventfd in vfio-pci after the guest's driver unmasked vector 0. */
  readonly boundVectors: readonly number[];
}

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Columns the header is wrapped to (default 100); the other lines are printed whole. */
  readonly width?: number;
  /**
   * Opens the partition of the file-read scene (scene 4): by default real KVM where a partition
   * with kernel irqfd opens here, else the KVM model with real eventfds beside its own.
   */
  readonly fileReadHost?: () => FileReadHost | FileReadUnavailable;
  /**
   * Opens the partition of the x2APIC scene (scene 5): by default real KVM where an x2APIC
   * partition at APIC IDs 0 and 256 opens here, else the KVM model, else the software backend.
   */
  readonly x2apicHost?: () => X2apicHost;
  /**
   * Opens the device and partition of the passthrough scene (scene 6): by default the function named
   * by `TSVMM_VFIO_DEVICE` on /dev/kvm, else the VFIO kernel model's device on the KVM model.
   */
  readonly passthroughHost?: () => PassthroughHost | PassthroughUnavailable;
}

/** Guest vector of the file-read scene's route. */
export const FILE_READ_VECTOR = 0x70;
/** Bytes the file-read scene reads. */
export const FILE_READ_BYTES = 512;
/** The bytes of the file scene 4 reads: known, so the read's data can be checked. */
const FILE_READ_CONTENT = Uint8Array.from({ length: FILE_READ_BYTES }, (_, i) => (i * 13 + 5) & 0xff);
/** Guest vectors of the x2APIC scene: by the upper MSI address, then by the extended destination ID. */
export const X2APIC_VECTORS = Object.freeze({ addressHi: 0x71, extended: 0x72 });
/** Guest vector of the passthrough scene's MSI-X vector 0. */
export const PASSTHROUGH_VECTOR = 0x45;
/** The passthrough scene's INTx: the IOAPIC pin (GSI) and the vector the guest programs for it. */
export const PASSTHROUGH_INTX = Object.freeze({ gsi: 10, vector: 0x46 });

/** The backend stopped settling: the checks after it could not be made. */
class DemoStalled extends Error {
  constructor(readonly backend: string) {
    super(`the ${backend} backend did not settle`);
  }
}

const hex = (v: number): string => `0x${v.toString(16)}`;
const list = (vs: readonly number[]): string => `[${vs.map(hex).join(', ')}]`;

/**
 * Runs the demo on `dp`; `log` receives each line as it happens (human mode), the header already
 * wrapped to `width` columns, the other lines whole. Disposes nothing it did not create. A `settle()` that does not resolve within 2 s is a failed observation, and ends
 * the demo there (`ok` false, the observations so far); a `settle()` that rejects rejects this.
 */
export async function runDemo(dp: DemoPartition, log: (line: string) => void = () => {}, options: DemoOptions = {}): Promise<DemoResult> {
  const width = options.width ?? TEXT_WIDTH;
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
  const { take: takeIrr, expected: expectIrr } = irrLines(partition);
  /** Waits for the backend (or a scene's own partition) to settle, or records that it did not and stops the demo. */
  const settle = async (pending: () => Promise<void> = () => dp.settle(), backend = partition.backend): Promise<void> => {
    try {
      await withDeadline(pending(), SETTLE_DEADLINE_MS, 'every signal raised so far to be delivered or latched');
    } catch (e) {
      if (!(e instanceof Stalled)) throw e;
      observe('every signal raised so far delivered or latched', `settled within ${e.deadlineMs} ms`, `not settled after ${e.deadlineMs} ms`);
      throw new DemoStalled(backend);
    }
  };

  for (const line of demoHeader({ backend: partition.backend, why: dp.why, passedOver: dp.passedOver }, width)) log(line);
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

  let enableCommits: number | null = null;
  let fileRead: DemoResult['fileRead'] = { on: null, why: 'the demo stopped before the file-read scene' };
  let x2apic: DemoResult['x2apic'] = { on: null, why: 'the demo stopped before the x2APIC scene', apicIds: [] };
  let passthrough: DemoResult['passthrough'] = { on: null, why: 'the demo stopped before the passthrough scene', device: null, boundVectors: [] };
  const steps = async (): Promise<void> => {
    begin('Guest driver enables MSI-X as Linux does: Enable + Function Mask, entries written while masked, Function Mask off, unmask each');
    const commits0 = irqfd.commitCount;
    dev.guest.enable(true, true);
    for (let e = 0; e < DEMO_VECTORS; e++) dev.guest.writeEntry(e, 0xfee00000 + apicOf(target(e)) * 0x1000, 0, guestVector(e));
    dev.guest.enable(true, false);
    for (let e = 0; e < DEMO_VECTORS; e++) dev.guest.setMasked(e, false);
    enableCommits = irqfd.capabilities.routingTable ? irqfd.commitCount - commits0 : null;
    log(`  routing-table commits for the whole sequence: ${enableCommits ?? 'n/a (no routing table)'}`);
    await settle();
    observe('nothing delivered while programming', expectIrr(undefined, 0), takeIrr());

    const how = dev.routes[0]!.event.kind === 'eventfd' ? 'writes each route eventfd, as VFIO does' : `signals each route event (${dev.routes[0]!.event.kind})`;
    begin(`1. The device ${how}; each vector lands on its vCPU at its vector`);
    for (let e = 0; e < DEMO_VECTORS; e++) {
      dev.signal(e);
      await settle();
      observe(`vector ${e} → APIC ${apicOf(target(e))} vector ${hex(guestVector(e))}`, expectIrr(target(e), guestVector(e)), takeIrr());
    }

    begin('2. A masked vector latches in the PBA and is delivered once at unmask');
    const m = 3;
    dev.guest.setMasked(m, true);
    dev.signal(m);
    await settle();
    observe(`vector ${m} masked, signalled: nothing delivered`, expectIrr(undefined, 0), takeIrr());
    observe(`guest reads the PBA: bit ${m} set`, `PBA ${hex(1 << m)}`, `PBA ${hex(dev.guest.readPba())}`);
    dev.guest.setMasked(m, false);
    await settle();
    observe(`vector ${m} unmasked: delivered`, expectIrr(target(m), guestVector(m)), takeIrr());
    await settle();
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
    await settle();
    observe('nothing delivered by the retarget itself', expectIrr(undefined, 0), takeIrr());
    dev.signal(r);
    await settle();
    observe(`vector ${r} now → APIC ${apicOf(to)} vector ${hex(newVector)} (was APIC ${apicOf(from)} ${hex(guestVector(r))})`, expectIrr(to, newVector), takeIrr());

    begin("4. A file read completes into the guest: the kernel signals the read's completion eventfd, which is a route's event (Linux AIO), and the irqfd injects");
    const opened = (options.fileReadHost ?? openFileReadHost)();
    // The file the kernel reads: the scene cannot run without it, and the rest of the demo can.
    const disk = 'unavailable' in opened ? opened : (() => {
      try {
        return makeTempFile('tsvmm-demo-', 'disk', FILE_READ_CONTENT);
      } catch (e) {
        if (!(e instanceof TempUnavailable)) throw e;
        opened[Symbol.dispose]();
        return { unavailable: `the file it reads cannot be made: ${e.message}` };
      }
    })();
    if ('unavailable' in disk) {
      fileRead = { on: null, why: disk.unavailable };
      log(`  not run here: ${disk.unavailable}`);
    } else {
      using host = opened as FileReadHost;
      using file = disk;
      fileRead = { on: host.on, why: host.why };
      log(host.on === 'kvm' ? '  on real KVM (/dev/kvm): KVM injects from the eventfd wakeup' : '  on the KVM model (real KVM is not usable here): the kernel signals a real eventfd, the model injects');
      fileReadScene(host, file, observe);
    }

    begin(`5. A vCPU above APIC ID 255 (x2APIC): an irqfd route reaches APIC ID ${X2APIC_DEMO_APIC_IDS[1]} by the upper MSI address, then by the extended destination ID a Linux guest writes`);
    using xhost = (options.x2apicHost ?? openX2apicHost)();
    x2apic = { on: xhost.on, why: xhost.why, apicIds: [] };
    log(X2APIC_WHERE[xhost.on]);
    await x2apicScene(xhost, observe, (pending) => settle(pending, xhost.partition.backend), (apicIds) => (x2apic = { ...x2apic, apicIds }));

    begin('6. A passed-through PCI device (VFIO): assigned with AssignedPciDevice, MSI-X programmed by the guest driver, the device raises vector 0 into vfio-pci\'s eventfd, which is the irqfd route\'s');
    const pt = (options.passthroughHost ?? openPassthroughHost)();
    if ('unavailable' in pt) {
      passthrough = { on: null, why: pt.unavailable, device: null, boundVectors: [] };
      // The device the user named is not used: said as a skip, and the command exits non-zero.
      log(pt.named !== undefined ? `  SKIPPED: ${pt.unavailable}` : `  not run here: ${pt.unavailable}`);
    } else {
      using phost = pt;
      passthrough = { on: phost.on, why: phost.why, device: phost.device.address, boundVectors: [] };
      log(phost.on === 'device' ? `  on ${phost.device.address} (${VFIO_DEVICE_ENV}), assigned to a partition on /dev/kvm` : '  on the VFIO kernel model\'s device and the KVM model (no device named in TSVMM_VFIO_DEVICE)');
      await passthroughScene(phost, observe, (pending) => settle(pending, phost.partition.backend), (bound) => (passthrough = { ...passthrough, boundVectors: bound }));
    }
  };
  try {
    await steps();
  } catch (e) {
    if (!(e instanceof DemoStalled)) throw e;
    log('');
    log(`Stopped: the ${e.backend} backend did not settle within ${SETTLE_DEADLINE_MS} ms; the remaining checks were not made.`);
  }

  const ok = observations.every((o) => o.ok);
  const failed = observations.filter((o) => !o.ok).length;
  log('');
  log(ok ? `All ${observations.length} observations are correct.` : `${failed} of ${observations.length} observations are WRONG.`);
  return {
    schema: DEMO_SCHEMA,
    backend: partition.backend,
    why: dp.why,
    irqfd: `${irqfd.capabilities.mediation}: ${irqfd.capabilities.mechanism}`,
    vcpus,
    device: { vectors: DEMO_VECTORS, table: dev.describeTable, pba: dev.describePba },
    enableCommits,
    fileRead,
    x2apic,
    passthrough,
    observations,
    ok,
  };
}

/**
 * A partition's IRR as the demo prints it: `take()` reads every vCPU's IRR as
 * "vCPU 0 IRR [..], vCPU 1 IRR [..]" and clears it; `expected(target, vector)` is that line with
 * only `vector` set on vCPU `target` (none when `target` is undefined).
 */
function irrLines(partition: Partition & LocalApicAccess): { readonly take: () => string; readonly expected: (target: number | undefined, vector: number) => string } {
  const vcpus = partition.vcpuCount;
  return {
    take: () => {
      const parts = Array.from({ length: vcpus }, (_, v) => `vCPU ${v} IRR ${list(partition.readLocalApic(v).irr)}`);
      for (let v = 0; v < vcpus; v++) partition.clearIrr(v);
      return parts.join(', ');
    },
    expected: (target, vector) => Array.from({ length: vcpus }, (_, v) => `vCPU ${v} IRR ${list(v === target ? [vector] : [])}`).join(', '),
  };
}

/**
 * The target of a scene that aims one vector at the partition's last vCPU: that vCPU, its APIC ID,
 * `irr()` (every vCPU's IRR as the demo prints it, then cleared) and `expected(target)` (that line
 * with only `vector` set on vCPU `target`; none when undefined), and the {@link irrLines} they come from.
 */
function lastVcpuTarget(
  partition: Partition & LocalApicAccess,
  vector: number,
): { vcpu: number; apicId: number; lines: ReturnType<typeof irrLines>; irr: () => string; expected: (target: number | undefined) => string } {
  const vcpu = partition.vcpuCount - 1;
  const lines = irrLines(partition);
  return { vcpu, apicId: partition.readLocalApic(vcpu).apicId, lines, irr: lines.take, expected: (target) => lines.expected(target, vector) };
}

/**
 * Scene 4 on `host`: a route to the last vCPU at {@link FILE_READ_VECTOR}, `file` (holding
 * {@link FILE_READ_CONTENT}) read with Linux AIO whose completion eventfd is the route's, and the
 * checks: the read's bytes, the vector in IRR, no write(2) from user space, nothing more. Every
 * wait is bounded ({@link SETTLE_DEADLINE_MS}).
 */
function fileReadScene(host: FileReadHost, file: TempFile, observe: Observe): void {
  const { partition } = host;
  const { vcpu, apicId, irr, expected } = lastVcpuTarget(partition, FILE_READ_VECTOR);
  const route = partition.irqfd()!.newIrqFdRoute();
  route.setMsi(0xfee00000 + apicId * 0x1000, FILE_READ_VECTOR);
  route.unmask();
  irr();
  using aio = host.AioContext.create({ capacity: 1, maxReadBytes: FILE_READ_BYTES });
  const writes0 = host.writes();
  aio.submitRead({ fd: file.fd, length: FILE_READ_BYTES, completion: host.completionFd(route) });
  const [done] = aio.getEvents({ min: 1, timeoutMs: SETTLE_DEADLINE_MS });
  const read = done === undefined ? `no completion within ${SETTLE_DEADLINE_MS} ms` : `${done.result} bytes, ${Buffer.from(done.data).equals(FILE_READ_CONTENT) ? 'as written' : 'not as written'}`;
  observe(`the read completes (${FILE_READ_BYTES} bytes of a file)`, `${FILE_READ_BYTES} bytes, as written`, read);
  observe(`completion → APIC ${apicId} vector ${hex(FILE_READ_VECTOR)}`, expected(vcpu), irr());
  const writes = host.writes() - writes0;
  observe('user space wrote no eventfd', '0 write(2) calls', `${writes} write(2) call${writes === 1 ? '' : 's'}`);
  observe('exactly once: nothing more arrives', expected(undefined), irr());
  route.dispose();
}

/** Records one check of a scene (what, the expected and the observed text); true when they agree. */
type Observe = (what: string, expected: string, observed: string) => boolean;
/** Waits, bounded, for the deliveries `pending` starts to land (the backend's settle). */
type Settle = (pending: () => Promise<void>) => Promise<void>;

/**
 * Scene 6 on `host`: the device assigned to the host's partition with `AssignedPciDevice`; the
 * guest's driver turns on Memory Space and Bus Master, enables MSI-X and writes vector 0's entry
 * (APIC of vCPU 1, {@link PASSTHROUGH_VECTOR}) and unmasks it, which binds the route's eventfd in
 * vfio-pci; the device raises vector 0 (the model device; a real one raises it when it has work),
 * and vCPU 1's IRR is read back. Guest-path failures reported by the assigned device are failed checks.
 */
async function passthroughScene(host: PassthroughHost, observe: Observe, settle: Settle, sawBound: (bound: readonly number[]) => void): Promise<void> {
  const { partition } = host;
  const vcpus = partition.vcpuCount;
  const { vcpu, apicId, lines, irr, expected } = lastVcpuTarget(partition, PASSTHROUGH_VECTOR);
  const irqfd = partition.irqfd();
  if (irqfd === undefined) {
    observe(`an irqfd on the scene's ${partition.backend} partition`, 'an irqfd', 'none');
    return;
  }
  for (let v = 0; v < vcpus; v++) partition.clearIrr(v);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { AssignedPciDevice } = require('@tsvmm/vfio') as typeof Vfio;
  const errors: string[] = [];
  // INTx where the host can play the device's line and the guest's EOI; shown before MSI-X, which turns INTx off.
  const intx = host.intx !== undefined && hasIoApicAccess(partition) ? { ...host.intx, ioapic: partition } : undefined;
  using assigned = AssignedPciDevice.create({
    device: host.device,
    irqfd,
    onError: (e, op) => errors.push(`${op}: ${e.message}`),
    ...(intx ? { intx: { mode: 'irqfd' as const, gsi: PASSTHROUGH_INTX.gsi } } : {}),
  });
  if (intx) {
    const { gsi, vector } = PASSTHROUGH_INTX;
    intx.ioapic.writeRedirection(gsi, { vector, deliveryMode: 'fixed', destinationMode: 'physical', destination: apicId, trigger: 'level', masked: false });
    // Read without clearing: the guest's EOI needs the vector still requested.
    const peek = (): string => Array.from({ length: vcpus }, (_, v) => `vCPU ${v} IRR ${list(partition.readLocalApic(v).irr)}`).join(', ');
    const want = (on: boolean): string => lines.expected(on ? vcpu : undefined, vector);
    intx.assert();
    observe(`INTx asserted → IOAPIC pin ${gsi} (level) → APIC ${apicId} vector ${hex(vector)}`, want(true), peek());
    intx.eoi(vcpu, vector);
    observe('EOI while the device still asserts: resampled, vfio-pci unmasks, raised again', want(true), peek());
    intx.deassert();
    intx.eoi(vcpu, vector);
    observe('the driver clears the cause, then EOI: the line stays low', want(false), peek());
  }
  const { msix, msixCapability } = assigned;
  observe('the assigned device has MSI-X', 'MSI-X', msix === undefined || msixCapability === undefined ? 'no MSI-X capability' : 'MSI-X');
  if (msix === undefined || msixCapability === undefined) return;
  const { tableBir, tableOffset } = msix.layout;
  const dword = (v: number): Uint8Array => new Uint8Array(new Uint32Array([v]).buffer);
  assigned.configWrite(0x04, 2, 0x0006); // Memory Space and Bus Master
  assigned.configWrite(msixCapability + 2, 2, 0x8000); // MSI-X Enable
  assigned.barWrite(tableBir, tableOffset + 0, dword(0xfee00000 + apicId * 0x1000));
  assigned.barWrite(tableBir, tableOffset + 4, dword(0));
  assigned.barWrite(tableBir, tableOffset + 8, dword(PASSTHROUGH_VECTOR));
  assigned.barWrite(tableBir, tableOffset + 12, dword(0)); // unmask: the route's eventfd goes to VFIO_DEVICE_SET_IRQS
  const bound = [...assigned.boundMsixVectors];
  sawBound(bound);
  observe('vector 0 unmasked: its route\'s eventfd bound in vfio-pci', 'bound MSI-X vectors [0]', `bound MSI-X vectors [${bound.join(', ')}]`);
  await settle(() => host.settle());
  observe('nothing delivered while programming', expected(undefined), irr());
  if (host.raise === undefined) {
    observe('no guest-path errors', 'none', errors.length === 0 ? 'none' : errors.join('; '));
    return;
  }
  observe('the device raises vector 0', 'signalled', host.raise(0));
  await settle(() => host.settle());
  observe(`vector 0 → APIC ${apicId} vector ${hex(PASSTHROUGH_VECTOR)}`, expected(vcpu), irr());
  await settle(() => host.settle());
  observe('exactly once: nothing more arrives', expected(undefined), irr());
  observe('no guest-path errors', 'none', errors.length === 0 ? 'none' : errors.join('; '));
}

/** The line under scene 5's heading: where it runs. */
const X2APIC_WHERE: Readonly<Record<X2apicHost['on'], string>> = {
  kvm: '  on real KVM (/dev/kvm): x2APIC mode with 32-bit APIC IDs (KVM_CAP_X2APIC_API)',
  model: '  on the KVM model (real KVM is not usable here): the KVM backend in x2APIC mode, the model delivers as KVM does',
  software: '  on the software backend (the KVM packages do not load here): x2APIC mode, the model delivers',
};

/**
 * Scene 5 on `host`: one route to the vCPU at APIC ID 256, first by its destination ID in the upper
 * MSI address (`address_hi` bits 31:8 carry APIC ID bits 31:8, as KVM reads them with 32-bit x2APIC
 * IDs), then rewritten (masked, as Linux does) with the extended destination ID a Linux guest writes
 * when the hypervisor advertises it (APIC ID bits 14:8 in address bits 11:5, which the backend moves
 * to `address_hi`; docs/interfaces/msi-x86.md). Both name APIC ID 0 in bits 19:12, so a lost upper half lands on vCPU 0.
 */
async function x2apicScene(host: X2apicHost, observe: Observe, settle: Settle, sawApicIds: (ids: readonly number[]) => void): Promise<void> {
  const { partition } = host;
  const vcpus = partition.vcpuCount;
  const ids = Array.from({ length: vcpus }, (_, v) => partition.readLocalApic(v).apicId);
  sawApicIds(ids);
  observe('the vCPUs\' local APICs read their APIC IDs', `APIC IDs ${X2APIC_DEMO_APIC_IDS.join(' and ')}`, `APIC IDs ${ids.join(' and ')}`);
  const high = X2APIC_DEMO_APIC_IDS[1]!;
  const vcpu = X2APIC_DEMO_APIC_IDS.indexOf(high);
  const { take: irr, expected } = irrLines(partition);
  const pending = (): Promise<void> => host.settle();
  for (let v = 0; v < vcpus; v++) partition.clearIrr(v);

  const irqfd = partition.irqfd();
  if (irqfd === undefined) {
    observe(`an irqfd on the scene's ${partition.backend} partition`, 'an irqfd', 'none');
    return;
  }
  const route = irqfd.newIrqFdRoute();
  /** Programs the route (masked, as Linux rewrites an entry); a partition that refuses the message is a failed check, not a crash. */
  const program = (address: bigint, data: number): string | undefined => {
    route.mask();
    try {
      route.setMsi(address, data);
    } catch (e) {
      if (!isVirtError(e)) throw e;
      return `refused by setMsi (${e.code})`;
    }
    route.unmask();
    return undefined;
  };
  /** Signals the route and reads where it landed, or says why it was not signalled. */
  const deliver = async (refused: string | undefined): Promise<string> => {
    if (refused !== undefined) return refused;
    await settle(pending);
    route.event.signal();
    await settle(pending);
    return irr();
  };
  try {
    // Bits 19:12 hold APIC ID bits 7:0 (0 for 256); address_hi bits 31:8 hold APIC ID bits 31:8.
    const lo = (0xfee00000 | ((high & 0xff) << 12)) >>> 0;
    const hi = (high & ~0xff) >>> 0;
    const byHi = program((BigInt(hi) << 32n) | BigInt(lo), X2APIC_VECTORS.addressHi);
    observe(`upper MSI address (addressHi ${hex(hi)}) → APIC ${high} vector ${hex(X2APIC_VECTORS.addressHi)}`, expected(vcpu, X2APIC_VECTORS.addressHi), await deliver(byHi));

    // The extended destination ID: APIC ID bits 14:8 in address bits 11:5, address_hi 0.
    const ext = (0xfee00000 | ((high & 0xff) << 12) | (((high >>> 8) & 0x7f) << 5)) >>> 0;
    const byExt = program(BigInt(ext), X2APIC_VECTORS.extended);
    const kept = route.msi;
    observe(
      `extended destination ID (address ${hex(ext)}) kept as the hypervisor reads it`,
      `addressHi ${hex(hi)}, addressLo ${hex(lo)}`,
      byExt ?? (kept === undefined ? 'no MSI' : `addressHi ${hex(kept.addressHi)}, addressLo ${hex(kept.addressLo)}`),
    );
    observe(`extended destination ID → APIC ${high} vector ${hex(X2APIC_VECTORS.extended)}`, expected(vcpu, X2APIC_VECTORS.extended), await deliver(byExt));
    await settle(pending);
    observe('exactly once: nothing more arrives', expected(undefined, 0), irr());
  } finally {
    route.dispose();
  }
}
