/**
 * Runs one seeded random sequence of raw system calls (eventfds, dup, close, write, read, whole
 * routing tables, irqfd assign and deassign, KVM_SIGNAL_MSI, and the x2APIC calls: KVM_ENABLE_CAP
 * of KVM_CAP_X2APIC_API, KVM_SET_CPUID2 with and without the x2APIC bit, IA32_APIC_BASE writes with
 * KVM_SET_MSRS; MSIs and routes with `address_hi`) on two kernels behind `Syscalls`, the same
 * bytes to each, and compares everything both let user space observe after every call: the result
 * or errno, which descriptors are open, every eventfd's counter, and every vCPU's IRR, APIC ID
 * register (KVM_GET_LAPIC) and IA32_APIC_BASE (KVM_GET_MSRS). The VM has vCPUs at ids 0, 1 and
 * 0x102 (an APIC ID that needs x2APIC; in xAPIC mode KVM gives it the xAPIC ID 2). On a host with
 * /dev/kvm the two are the KVM model and the real kernel, so a model that drifts from the
 * kernel fails there.
 *
 * Descriptor numbers differ between the two (the real process holds other files), so a sequence
 * names its descriptors by handle; calls that return a descriptor are compared by success only.
 * Level-triggered routes are part of it: resample irqfds (KVM_IRQFD_FLAG_RESAMPLE, with a
 * resamplefd that is an eventfd, a closed number or a vCPU descriptor) on the GSIs of IOAPIC pins
 * 10 and 11, those pins programmed with KVM_SET_IRQCHIP (level or edge, masked or not), and the
 * IOAPIC compared after every call (KVM_GET_IRQCHIP: both pins' redirection entries, remote IRR
 * included, and request bits). The guest's EOI is not: no guest code runs on these machines.
 * KVM_SET_LAPIC of the logical destination (LDR, DFR) and logical-mode MSIs bring the APIC map's
 * logical modes (none, flat, cluster, x2APIC, mixed) into play.
 *
 * The kernel injects some signals after the call returns: from the irqfd's work item
 * (`irqfd_inject`) for every irqfd whose GSI is not one MSI the fast path takes (resample irqfds,
 * broadcasts, IOAPIC pins) and for a signal pending at assign. So after each call a kernel that
 * can finish that work ({@link DifferentialKernel.flush}: the model) is observed first, and the
 * other one is polled, without consuming anything, until it shows the same or a deadline passes;
 * then what differs is the divergence. No fixed sleep.
 */
import { packStruct } from '@tsvmm/ffi';
import type { Syscalls } from '@tsvmm/linux-sys';
import * as kvm from '../../src/abi';
import { LEGACY_ROUTES } from '../../src/gsi-routing';
import { seededRandom } from '@tsvmm/virt/testing';

/** One kernel under comparison, and how to read an eventfd's counter without consuming it. */
export interface DifferentialKernel {
  readonly name: string;
  readonly sys: Syscalls;
  /** The counter of eventfd `fd` (a read would reset it), or undefined when `fd` is not an open eventfd. */
  counter(fd: number): bigint | undefined;
  /** Whether `fd` is open. */
  isOpen(fd: number): boolean;
  /**
   * Runs the injections the kernel left to work items, now (the model's `flushWork`). Absent for
   * the real kernel, whose workqueue user space cannot run: it is polled instead.
   */
  flush?(): void;
}

/** How long a kernel without {@link DifferentialKernel.flush} is polled for the other's observation after a call. */
export const SETTLE_DEADLINE_MS = 1000;

/** What differed, at which step of which sequence. */
export interface Divergence {
  readonly seed: number;
  readonly step: number;
  readonly op: string;
  readonly what: string;
  readonly a: unknown;
  readonly b: unknown;
}

type Op =
  | { readonly kind: 'eventfd'; readonly init: number }
  | { readonly kind: 'dup' | 'close' | 'read'; readonly h: number }
  | { readonly kind: 'write'; readonly h: number; readonly value: bigint }
  | { readonly kind: 'table'; readonly entries: ReadonlyArray<{ gsi: number; apic: number; hi: number; vector: number }>; readonly keepLegacy: boolean }
  | { readonly kind: 'irqfd'; readonly h: number; readonly gsi: number; readonly deassign: boolean; readonly badFlags: boolean }
  | { readonly kind: 'msi'; readonly apic: number; readonly hi: number; readonly vector: number; readonly logical: boolean }
  | { readonly kind: 'ldr'; readonly vcpu: number; readonly ldr: number; readonly dfr: number }
  | { readonly kind: 'enableCap'; readonly flags: number; readonly capFlags: number }
  | { readonly kind: 'cpuid'; readonly vcpu: number; readonly x2apic: boolean }
  | { readonly kind: 'apicBase'; readonly vcpu: number; readonly value: bigint }
  | { readonly kind: 'levelIrqfd'; readonly h: number; readonly rh: number; readonly gsi: number; readonly deassign: boolean; readonly resamplefd: 'eventfd' | 'vcpu' }
  | { readonly kind: 'ioapic'; readonly pin: number; readonly vector: number; readonly dest: number; readonly level: boolean; readonly masked: boolean };

/** The IOAPIC pins (and GSIs, by the default routes) the level operations use. */
const LEVEL_PINS = [10, 11];

/**
 * The vCPU ids (their initial APIC IDs) of every sequence's VM: 0x102 needs x2APIC, and its xAPIC
 * ID (the low byte, 2) is its own, so KVM's APIC map stays usable in every mode the sequences reach.
 */
export const DIFFERENTIAL_VCPU_IDS = [0, 1, 0x102];
/** Logical destinations: flat bitmaps or cluster 0/1 with member bits, and 0xFF. */
const LOGICAL_DESTS = [0x01, 0x02, 0x03, 0x11, 0x12, 0xff];
/** Destination low bytes: the vCPUs', 0xFF (broadcast, or APIC ID 255 without the quirk) and an ID no vCPU has. */
const DEST_LOW = [0, 1, 2, 0xff, 7];
/** `address_hi`: none, destination bits 8 and up (0x1xx), bits 7:0 set (EINVAL with 32-bit IDs), the x2APIC broadcast (twice as often). */
const DEST_HI = [0, 0x100, 0x101, 0xffffff00, 0xffffff00];
/**
 * KVM_CAP_X2APIC_API flags: each of the header's two (32-bit IDs alone twice as often: the quirk, once
 * disabled, stays disabled), both, none, and a bit no kernel defines (newer
 * kernels add bits 2 and 3 for EOI broadcast suppression; the model reports the header's two, so
 * those are left out rather than compared).
 */
const API_FLAGS = [3, 3, 1, 1, 2, 0, 1 << 20];
/**
 * IA32_APIC_BASE values that keep the APIC enabled or are refused: x2APIC (EN|EXTD), back to
 * xAPIC (EN), each with and without BSP; EXTD without EN (invalid), a reserved low bit, a bit above
 * 36 physical address bits.
 */
const APIC_BASES = [0xfee00c00n, 0xfee00d00n, 0xfee00800n, 0xfee00900n, 0xfee00400n, 0xfee00c01n, 0x10_fee00c00n];


const GSIS = [24, 25, 26, 27, 28, 29, 30, 31, 5000];
/** LDR values (xAPIC logical ID in bits 31:24): none (uncounted by the APIC map), single bits, two bits (an aliasing ID). */
const LDRS = [0, 1 << 24, 2 << 24, 0x12 << 24, 0x03 << 24];
/** DFR: flat, cluster. */
const DFRS = [0xffffffff, 0x0fffffff];
const VALUES = [1n, 1n, 1n, 2n, 0n, 0xffff_ffff_ffff_ffffn, 0xffff_ffff_ffff_fff0n];

/** The seeded sequence of `length` operations over at most `handles` descriptors. */
export function sequence(seed: number, length: number, handles = 6): Op[] {
  const r = seededRandom(seed);
  const level = seededRandom((seed ^ 0x1e7e1) >>> 0);
  const logical = seededRandom((seed ^ 0x10c1c) >>> 0);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const h = (): number => Math.floor(r() * handles);
  const ops: Op[] = [];
  for (let i = 0; i < length; i++) {
    const k = r();
    if (k < 0.12) ops.push({ kind: 'eventfd', init: r() < 0.2 ? 1 : 0 });
    else if (k < 0.17) ops.push({ kind: 'dup', h: h() });
    else if (k < 0.22) ops.push({ kind: 'close', h: h() });
    else if (k < 0.39) ops.push({ kind: 'write', h: h(), value: pick(VALUES) });
    else if (k < 0.46) ops.push({ kind: 'read', h: h() });
    else if (k < 0.57) {
      const n = Math.floor(r() * 5);
      const entries = Array.from({ length: n }, () => ({ gsi: pick(GSIS), apic: pick(DEST_LOW), hi: r() < 0.7 ? 0 : pick(DEST_HI), vector: 0x30 + Math.floor(r() * 16) }));
      ops.push({ kind: 'table', entries, keepLegacy: r() < 0.8 });
    } else if (k < 0.8) ops.push({ kind: 'irqfd', h: h(), gsi: pick(GSIS), deassign: r() < 0.4, badFlags: r() < 0.05 });
    else if (k < 0.89) ops.push({ kind: 'msi', apic: pick(DEST_LOW), hi: pick(DEST_HI), vector: 0x30 + Math.floor(r() * 16), logical: false });
    else if (k < 0.92) ops.push({ kind: 'enableCap', flags: pick(API_FLAGS), capFlags: r() < 0.1 ? 1 : 0 });
    else if (k < 0.96) ops.push({ kind: 'cpuid', vcpu: Math.floor(r() * DIFFERENTIAL_VCPU_IDS.length), x2apic: r() < 0.8 });
    else ops.push({ kind: 'apicBase', vcpu: Math.floor(r() * DIFFERENTIAL_VCPU_IDS.length), value: pick(APIC_BASES) });
    // Level operations come from a stream of their own, so the other operations of a seed stay what they were.
    const l = level();
    // So do the APIC-mode ones: a vCPU switched to x2APIC mode as the backend does it (CPUID bit, then
    // IA32_APIC_BASE), KVM_SET_LAPIC of LDR and DFR, and MSIs in logical mode.
    const g = logical();
    if (g < 0.04) {
      const vcpu = Math.floor(logical() * DIFFERENTIAL_VCPU_IDS.length);
      ops.push({ kind: 'cpuid', vcpu, x2apic: true }, { kind: 'apicBase', vcpu, value: 0xfee00c00n });
    } else if (g < 0.07) ops.push({ kind: 'ldr', vcpu: Math.floor(logical() * DIFFERENTIAL_VCPU_IDS.length), ldr: LDRS[Math.floor(logical() * LDRS.length)]!, dfr: DFRS[Math.floor(logical() * DFRS.length)]! });
    else if (g < 0.12) ops.push({ kind: 'msi', apic: LOGICAL_DESTS[Math.floor(logical() * LOGICAL_DESTS.length)]!, hi: 0, vector: 0x50 + Math.floor(logical() * 8), logical: true });
    if (l < 0.1) ops.push({ kind: 'levelIrqfd', h: Math.floor(level() * handles), rh: Math.floor(level() * handles), gsi: LEVEL_PINS[Math.floor(level() * 2)]!, deassign: level() < 0.3, resamplefd: level() < 0.1 ? 'vcpu' : 'eventfd' });
    else if (l < 0.16) ops.push({ kind: 'ioapic', pin: LEVEL_PINS[Math.floor(level() * 2)]!, vector: 0x60 + Math.floor(level() * 4), dest: Math.floor(level() * 2), level: level() < 0.8, masked: level() < 0.3 });
  }
  return ops;
}

/** One kernel's VM and the descriptors a sequence made on it. */
class Run {
  readonly handles: number[] = [];
  /** Handles closed by the sequence: their numbers may name another handle's file by now. */
  readonly closed = new Set<number>();
  readonly vmFd: number;
  readonly vcpuFds: number[] = [];
  private readonly kvmFd: number;
  private readonly page = new Uint8Array(1024);

  constructor(readonly kernel: DifferentialKernel) {
    const sys = kernel.sys;
    this.kvmFd = must(sys.open('/dev/kvm', 2), 'open /dev/kvm');
    this.vmFd = must(sys.ioctl(this.kvmFd, kvm.KVM_CREATE_VM, 0), 'KVM_CREATE_VM');
    must(sys.ioctl(this.vmFd, kvm.KVM_CREATE_IRQCHIP, 0), 'KVM_CREATE_IRQCHIP');
    for (const id of DIFFERENTIAL_VCPU_IDS) {
      const fd = must(sys.ioctl(this.vmFd, kvm.KVM_CREATE_VCPU, id), 'KVM_CREATE_VCPU');
      this.vcpuFds.push(fd);
      must(sys.ioctl(fd, kvm.KVM_GET_LAPIC, this.page), 'KVM_GET_LAPIC');
      const v = new DataView(this.page.buffer);
      v.setUint32(kvm.LAPIC_SVR, v.getUint32(kvm.LAPIC_SVR, true) | kvm.LAPIC_SVR_ENABLE, true);
      must(sys.ioctl(fd, kvm.KVM_SET_LAPIC, this.page), 'KVM_SET_LAPIC');
    }
  }

  fd(h: number): number {
    // A handle never made, or closed, names a number no one holds: the kernels hand out numbers
    // from different bases, so a reused number would alias different handles on each side.
    return this.handles[h] === undefined || this.closed.has(h) ? 1_000_000 + h : this.handles[h];
  }

  /** Each vCPU's APIC ID register (KVM_GET_LAPIC) and IA32_APIC_BASE (KVM_GET_MSRS), as text. */
  apicState(): string[] {
    const msrs = packMsr(kvm.MSR_IA32_APICBASE, 0n);
    return this.vcpuFds.map((fd) => {
      must(this.kernel.sys.ioctl(fd, kvm.KVM_GET_LAPIC, this.page), 'KVM_GET_LAPIC');
      const n = this.kernel.sys.ioctl(fd, kvm.KVM_GET_MSRS, msrs);
      const base = new DataView(msrs.buffer).getBigUint64(kvm.KVM_MSRS.size + kvm.KVM_MSR_ENTRY.fields.data.offset, true);
      return `id 0x${new DataView(this.page.buffer).getUint32(kvm.LAPIC_ID, true).toString(16)} read ${n} base 0x${base.toString(16)}`;
    });
  }

  /** The level pins' redirection entries (both halves) and request bits, from KVM_GET_IRQCHIP. */
  ioapicState(): string[] {
    const chip = this.irqchip();
    const v = new DataView(chip.buffer);
    const irr = v.getUint32(kvm.KVM_IRQCHIP_LAYOUT.fields['chip.ioapic.irr'].offset, true);
    return LEVEL_PINS.map((pin) => {
      const at = redirection(pin);
      return `pin ${pin} lo 0x${v.getUint32(at, true).toString(16)} hi 0x${v.getUint32(at + 4, true).toString(16)} irr ${(irr >>> pin) & 1}`;
    });
  }

  irqchip(): Uint8Array {
    const chip = packStruct(kvm.KVM_IRQCHIP_LAYOUT, { chipId: kvm.KVM_IRQCHIP_IOAPIC, pad: 0 });
    must(this.kernel.sys.ioctl(this.vmFd, kvm.KVM_GET_IRQCHIP, chip), 'KVM_GET_IRQCHIP');
    return chip;
  }

  /** Each vCPU's IRR vectors, left as they are. */
  peekIrr(): number[][] {
    return this.vcpuFds.map((fd) => this.readIrr(fd, false));
  }

  /** Each vCPU's IRR vectors, then cleared. */
  takeIrr(): number[][] {
    return this.vcpuFds.map((fd) => this.readIrr(fd, true));
  }

  /** One vCPU's IRR vectors from KVM_GET_LAPIC; with `clear`, written back with IRR empty (KVM_SET_LAPIC). */
  private readIrr(fd: number, clear: boolean): number[] {
    must(this.kernel.sys.ioctl(fd, kvm.KVM_GET_LAPIC, this.page), 'KVM_GET_LAPIC');
    const v = new DataView(this.page.buffer);
    const irr: number[] = [];
    for (let w = 0; w < 8; w++) {
      const word = v.getUint32(kvm.LAPIC_IRR + w * 16, true);
      for (let b = 0; b < 32; b++) if ((word >>> b) & 1) irr.push(w * 32 + b);
      if (clear) v.setUint32(kvm.LAPIC_IRR + w * 16, 0, true);
    }
    if (clear) must(this.kernel.sys.ioctl(fd, kvm.KVM_SET_LAPIC, this.page), 'KVM_SET_LAPIC');
    return irr;
  }

  dispose(): void {
    this.handles.forEach((fd, h) => {
      if (!this.closed.has(h)) this.kernel.sys.close(fd);
    });
    for (const fd of this.vcpuFds) this.kernel.sys.close(fd);
    this.kernel.sys.close(this.vmFd);
    this.kernel.sys.close(this.kvmFd);
  }
}

function must(r: number, what: string): number {
  if (r < 0) throw new Error(`${what} failed: errno ${-r}`);
  return r;
}

/** A `struct kvm_msrs` with one entry. */
function packMsr(index: number, data: bigint): Uint8Array {
  const b = new Uint8Array(kvm.KVM_MSRS.size + kvm.KVM_MSR_ENTRY.size);
  b.set(packStruct(kvm.KVM_MSRS, { nmsrs: 1, pad: 0 }), 0);
  b.set(packStruct(kvm.KVM_MSR_ENTRY, { index, reserved: 0, data }), kvm.KVM_MSRS.size);
  return b;
}

function u64(value: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, value, true);
  return b;
}

/** Where pin `pin`'s redirection entry sits in a `struct kvm_irqchip`. */
function redirection(pin: number): number {
  return kvm.KVM_IRQCHIP_CHIP_OFFSET + kvm.KVM_IOAPIC_STATE.fields.redirtbl0.offset + pin * kvm.KVM_IOAPIC_REDIRTBL_STRIDE;
}

function routingTable(op: Extract<Op, { kind: 'table' }>): Uint8Array {
  const legacy = op.keepLegacy ? LEGACY_ROUTES : [];
  const n = legacy.length + op.entries.length;
  const buf = new Uint8Array(8 + n * 48);
  buf.set(packStruct(kvm.KVM_IRQ_ROUTING, { nr: n, flags: 0 }), 0);
  let at = 8;
  for (const l of legacy) {
    buf.set(packStruct(kvm.KVM_IRQ_ROUTING_ENTRY, { gsi: l.gsi, type: kvm.KVM_IRQ_ROUTING_IRQCHIP, flags: 0, pad: 0, irqchip: l.irqchip, pin: l.pin }), at);
    at += 48;
  }
  for (const e of op.entries) {
    const addressLo = (0xfee0_0000 | (e.apic << 12)) >>> 0;
    buf.set(packStruct(kvm.KVM_IRQ_ROUTING_ENTRY, { gsi: e.gsi, type: kvm.KVM_IRQ_ROUTING_MSI, flags: 0, pad: 0, msiAddressLo: addressLo, msiAddressHi: e.hi, msiData: e.vector, msiDevid: 0 }), at);
    at += 48;
  }
  return buf;
}

/** Applies `op` on `run`; the call's result (descriptor-making calls: 0 on success, -errno on failure). */
function apply(run: Run, op: Op): number {
  const sys = run.kernel.sys;
  switch (op.kind) {
    case 'eventfd': {
      const fd = sys.eventfd(op.init, 0o4000 /* EFD_NONBLOCK */);
      if (fd >= 0) run.handles.push(fd);
      return fd < 0 ? fd : 0;
    }
    case 'dup': {
      const fd = sys.dup!(run.fd(op.h));
      if (fd >= 0) run.handles.push(fd);
      return fd < 0 ? fd : 0;
    }
    case 'close': {
      const r = sys.close(run.fd(op.h));
      if (r === 0) run.closed.add(op.h);
      return r;
    }
    case 'write':
      return sys.write(run.fd(op.h), u64(op.value), 8);
    case 'read':
      return sys.read(run.fd(op.h), new Uint8Array(8), 8);
    case 'table':
      return sys.ioctl(run.vmFd, kvm.KVM_SET_GSI_ROUTING, routingTable(op));
    case 'irqfd': {
      const flags = (op.deassign ? kvm.KVM_IRQFD_FLAG_DEASSIGN : 0) | (op.badFlags ? 0x80 : 0);
      return sys.ioctl(run.vmFd, kvm.KVM_IRQFD, packStruct(kvm.KVM_IRQFD_LAYOUT, { fd: run.fd(op.h), gsi: op.gsi, flags, resamplefd: 0 }));
    }
    case 'msi':
      return sys.ioctl(run.vmFd, kvm.KVM_SIGNAL_MSI, packStruct(kvm.KVM_MSI_LAYOUT, { addressLo: (0xfee0_0000 | (op.apic << 12) | (op.logical ? 4 : 0)) >>> 0, addressHi: op.hi, data: op.vector, flags: 0, devid: 0 }));
    case 'ldr': {
      const fd = run.vcpuFds[op.vcpu]!;
      const page = new Uint8Array(1024);
      must(sys.ioctl(fd, kvm.KVM_GET_LAPIC, page), 'KVM_GET_LAPIC');
      const v = new DataView(page.buffer);
      v.setUint32(kvm.LAPIC_LDR, op.ldr >>> 0, true);
      v.setUint32(kvm.LAPIC_DFR, op.dfr >>> 0, true);
      return sys.ioctl(fd, kvm.KVM_SET_LAPIC, page);
    }
    case 'enableCap':
      return sys.ioctl(
        run.vmFd,
        kvm.KVM_ENABLE_CAP,
        packStruct(kvm.KVM_ENABLE_CAP_LAYOUT, { cap: kvm.KVM_CAP.KVM_CAP_X2APIC_API, flags: op.capFlags, arg0: BigInt(op.flags), arg1: 0n, arg2: 0n, arg3: 0n }),
      );
    case 'cpuid': {
      const b = new Uint8Array(kvm.KVM_CPUID2.size + kvm.KVM_CPUID_ENTRY2.size);
      b.set(packStruct(kvm.KVM_CPUID2, { nent: 1, padding: 0 }), 0);
      b.set(packStruct(kvm.KVM_CPUID_ENTRY2, { function: 1, index: 0, flags: 0, eax: 0, ebx: 0, ecx: op.x2apic ? kvm.CPUID_1_ECX_X2APIC : 0, edx: 0 }), kvm.KVM_CPUID2.size);
      return sys.ioctl(run.vcpuFds[op.vcpu]!, kvm.KVM_SET_CPUID2, b);
    }
    case 'apicBase':
      return sys.ioctl(run.vcpuFds[op.vcpu]!, kvm.KVM_SET_MSRS, packMsr(kvm.MSR_IA32_APICBASE, op.value));
    case 'levelIrqfd': {
      const flags = op.deassign ? kvm.KVM_IRQFD_FLAG_DEASSIGN : kvm.KVM_IRQFD_FLAG_RESAMPLE;
      const resamplefd = op.resamplefd === 'vcpu' ? run.vcpuFds[0]! : run.fd(op.rh);
      const r = sys.ioctl(run.vmFd, kvm.KVM_IRQFD, packStruct(kvm.KVM_IRQFD_LAYOUT, { fd: run.fd(op.h), gsi: op.gsi, flags, resamplefd }));
      return r;
    }
    case 'ioapic': {
      // As a guest write would leave it: remote IRR and delivery status kept (KVM_SET_IRQCHIP takes the bits as given).
      const chip = run.irqchip();
      const v = new DataView(chip.buffer);
      const at = redirection(op.pin);
      const kept = v.getUint32(at, true) & ((1 << 14) | (1 << 12));
      const lo = op.vector | (op.level ? 1 << 15 : 0) | (op.masked ? 1 << 16 : 0) | (op.level ? kept : kept & (1 << 12));
      v.setUint32(at, lo >>> 0, true);
      v.setUint32(at + 4, (DIFFERENTIAL_VCPU_IDS[op.dest]! << 24) >>> 0, true);
      return sys.ioctl(run.vmFd, kvm.KVM_SET_IRQCHIP, chip);
    }
  }
}

/** What user space can observe on a kernel. */
interface Observation {
  readonly open: boolean[];
  readonly counters: Array<string | undefined>;
  readonly irr: number[][];
  readonly apic: string[];
  readonly ioapic: string[];
}

const KEYS = ['open', 'counters', 'irr', 'apic', 'ioapic'] as const;

/** What user space can observe on `run` now, consuming nothing (IRR is read, not cleared). */
function observe(run: Run): Observation {
  // Open as the kernel says, for the handles the sequence has not closed.
  const open = run.handles.map((fd, h) => !run.closed.has(h) && run.kernel.isOpen(fd));
  const counters = run.handles.map((fd, h) => (run.closed.has(h) ? undefined : run.kernel.counter(fd)?.toString()));
  return { open, counters, irr: run.peekIrr(), apic: run.apicState(), ioapic: run.ioapicState() };
}

function differing(a: Observation, b: Observation): (typeof KEYS)[number] | undefined {
  return KEYS.find((key) => JSON.stringify(a[key]) !== JSON.stringify(b[key]));
}

const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/**
 * Observes `settled` (its queued work run first), then `polled` until it shows the same or
 * {@link SETTLE_DEADLINE_MS} passed (1 ms pauses between looks); returns both last observations.
 */
function observeBoth(settled: Run, polled: Run): [Observation, Observation] {
  settled.kernel.flush?.();
  const want = observe(settled);
  polled.kernel.flush?.();
  let got = observe(polled);
  if (polled.kernel.flush === undefined) {
    const deadline = Date.now() + SETTLE_DEADLINE_MS;
    while (differing(want, got) !== undefined && Date.now() < deadline) {
      Atomics.wait(PAUSE, 0, 0, 1);
      got = observe(polled);
    }
  }
  return [want, got];
}

/**
 * Runs `seed`'s sequence of `length` operations on both kernels; returns the first divergence, or
 * undefined when they agreed on everything observable at every step.
 */
export function runDifferential(a: DifferentialKernel, b: DifferentialKernel, seed: number, length: number): Divergence | undefined {
  if (a.flush === undefined && b.flush === undefined) throw new Error('runDifferential needs a kernel whose queued work it can run (a model) on one side');
  const ops = sequence(seed, length);
  const ra = new Run(a);
  const rb = new Run(b);
  try {
    for (let step = 0; step < ops.length; step++) {
      const op = ops[step]!;
      const resA = apply(ra, op);
      const resB = apply(rb, op);
      const where = { seed, step, op: JSON.stringify(op, (_k, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v)) };
      if (resA !== resB) return { ...where, what: 'result', a: resA, b: resB };
      // The kernel that can run its queued injections sets what the other is polled for.
      const [oa, ob] = b.flush === undefined ? observeBoth(ra, rb) : (([x, y]) => [y, x] as const)(observeBoth(rb, ra));
      const key = differing(oa, ob);
      if (key !== undefined) return { ...where, what: key, a: oa[key], b: ob[key] };
      ra.takeIrr();
      rb.takeIrr();
    }
    return undefined;
  } finally {
    ra.dispose();
    rb.dispose();
  }
}
