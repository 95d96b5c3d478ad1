/**
 * Level-triggered interrupt lines (PCI INTx) on an interrupt-controller input, asserted by an
 * event and resampled when the guest acknowledges the interrupt: KVM's resample irqfd
 * (`KVM_IRQFD` with `KVM_IRQFD_FLAG_RESAMPLE`, `virt/kvm/eventfd.c`) and the same semantics in the
 * software backend's IOAPIC model.
 */
import type { Disposable } from '../disposable';
import type { Event } from './event';
import type { IrqFd } from './irqfd';
import type { Partition } from './partition';
import { VirtError, invalidArgument } from '../errors';
import { checkInteger, describeValue } from '../validate';

/** IOAPIC pins, hence level-route GSIs: 0 to 23 (KVM's `KVM_IOAPIC_NUM_PINS`, the default routes of GSIs 0-23). */
export const IOAPIC_PINS = 24;

/**
 * A level-triggered interrupt line (INTx) on an interrupt-controller input, asserted by an event.
 *
 * Semantics (KVM, `virt/kvm/eventfd.c` `irqfd_inject` / `irqfd_resampler_ack`; the software
 * backend models the same):
 * - A signal on {@link event} asserts the line and leaves it asserted. More signals while it is
 *   asserted change nothing (the IOAPIC delivers a level interrupt once until it is acknowledged).
 * - When the guest acknowledges the interrupt (the local APIC EOI of the vector the IOAPIC
 *   delivered for this pin), the line is deasserted and {@link resample} is signalled once; the
 *   device owner signals {@link event} again if the device still needs service.
 * - Newer kernels (`arch/x86/kvm/ioapic.c` `ioapic_write_indirect`, `kvm_notify_irqfd_resampler`)
 *   also signal {@link resample} instead of delivering when the guest unmasks a level pin that
 *   latched a request while masked and has no remote IRR: treat a resample the same whatever caused it.
 * - {@link dispose} deassigns the line (deasserts it) and closes both events.
 *
 * Timing: on KVM the line is asserted by a kernel workqueue shortly after the signal returns
 * (`irqfd_wakeup` schedules `irqfd_inject` for a non-MSI route), not inside the write as for an
 * MSI route, and `irqfd.settle()` does not wait for it; the software backend asserts inside `signal()`.
 */
export interface LevelIrqFdRoute extends Disposable {
  /** The interrupt-controller input this route drives: on KVM the GSI of an IOAPIC pin (0-23). */
  readonly gsi: number;
  /**
   * The trigger: a signal asserts the line (KVM: the irqfd eventfd). Owned by the route; `event.fd`
   * is a close-on-exec duplicate as for {@link IrqFdRoute.event}. Hand it to VFIO_DEVICE_SET_IRQS
   * (INTx trigger).
   */
  readonly event: Event;
  /**
   * Signalled by the hypervisor when the guest acknowledges the interrupt (EOI of the vector the
   * interrupt controller delivered for this input, or unmask of a pin with a latched request) and
   * the line has been deasserted: the device owner must signal `event` again if it still needs
   * service. Hand `resample.fd` to VFIO as the INTx UNMASK eventfd. Owned by the route.
   */
  readonly resample: Event;
  /** True once `dispose()` has run. */
  readonly disposed: boolean;
  /** Deassigns (the line is deasserted), closes both events. Idempotent; never throws. */
  dispose(): void;
}

/**
 * `irqfd.newLevelRoute(gsi)`, also for an irqfd from a backend written before level routes were
 * part of the contract.
 *
 * @throws VirtError INVALID_ARGUMENT when `irqfd` is not an object, or for a `gsi` that is not an
 *   integer from 0 to 23 (before any side effect); UNSUPPORTED, naming the reason, when the backend
 *   has no level routes (no `newLevelRoute`, or `partition.capabilities.resample` false); BUSY for
 *   a second level route on one GSI; DISPOSED after the partition was disposed; a typed error with
 *   the errno when the hypervisor refuses.
 */
export function newLevelRoute(irqfd: IrqFd, gsi: number): LevelIrqFdRoute {
  const op = 'newLevelRoute';
  if (typeof irqfd !== 'object' || irqfd === null) throw invalidArgument(op, `irqfd must be an IrqFd, got ${describeValue(irqfd)}`);
  if (typeof irqfd.newLevelRoute !== 'function') {
    checkLevelGsi('IrqFd.newLevelRoute', gsi);
    throw levelRoutesUnsupported('IrqFd.newLevelRoute', 'this backend has no level-triggered routes (its irqfd has no newLevelRoute)');
  }
  return irqfd.newLevelRoute(gsi);
}

/** `gsi` checked as a level-route GSI: an integer from 0 to 23 (INVALID_ARGUMENT otherwise). */
export function checkLevelGsi(operation: string, gsi: unknown): number {
  return checkInteger(operation, 'gsi', gsi, 0, IOAPIC_PINS - 1);
}

/** The UNSUPPORTED error of a backend without level routes; `reason` says why, for people. */
export function levelRoutesUnsupported(operation: string, reason: string): VirtError {
  return new VirtError('UNSUPPORTED', {
    operation,
    detail: `level-triggered routes with a resample event are not available: ${reason}`,
    hint: 'Check partition.capabilities.resample before asking; without it, deliver INTx from user space (assert and deassert the line yourself) or use MSI.',
  });
}

/** The BUSY error of a second level route on one GSI. */
export function levelGsiBusy(operation: string, gsi: number): VirtError {
  return new VirtError('BUSY', {
    operation,
    detail: `GSI ${gsi} already has a level route from this irqfd`,
    hint: 'One device drives one pin here (KVM would accept a second resampler on the GSI, but a VMM gives each INTx line its own pin): dispose the existing route first, or use another GSI.',
  });
}

/** An IOAPIC redirection-table entry as a guest programs it (Intel 82093AA datasheet, "I/O Redirection Table Registers"). */
export interface IoApicRedirection {
  /** Bits 7:0: the vector delivered for this pin, 16 to 255. */
  readonly vector: number;
  /** Bits 10:8: `fixed` (000) or `lowest-priority` (001); the models deliver only these. */
  readonly deliveryMode: 'fixed' | 'lowest-priority';
  /** Bit 11: 0 `physical` (destination is an APIC ID), 1 `logical`. */
  readonly destinationMode: 'physical' | 'logical';
  /** Bits 63:56: the destination APIC ID (physical) or logical destination set, 0 to 255. */
  readonly destination: number;
  /** Bit 15: 1 `level`, 0 `edge`. */
  readonly trigger: 'level' | 'edge';
  /** Bit 16: true while the pin is masked. */
  readonly masked: boolean;
}

/** One IOAPIC pin as a diagnostic read sees it: the entry, its read-only bits and the line. */
export interface IoApicPinState extends IoApicRedirection {
  /** Bit 14, remote IRR: a level interrupt was accepted and not yet EOIed (read-only to the guest). */
  readonly remoteIrr: boolean;
  /** The IOAPIC's request bit of the pin (`struct kvm_ioapic_state` `irr`): the level line is asserted. */
  readonly asserted: boolean;
}

/** The IOAPIC as a diagnostic read sees it. */
export interface IoApicState {
  /** The 24 pins, pin i at index i. */
  readonly pins: readonly IoApicPinState[];
}

/**
 * Diagnostic and test access to the partition's IOAPIC, which backends that can reach it offer
 * (KVM through KVM_GET_IRQCHIP / KVM_SET_IRQCHIP with chip 2, the software backend from its
 * model): tests program a pin as the guest would and watch its remote IRR.
 */
export interface IoApicAccess {
  /** The IOAPIC, read now. DISPOSED after dispose; a typed error when the hypervisor read fails. */
  readIoApic(): IoApicState;
  /**
   * Programs pin `pin` (0-23) as a guest write of its redirection entry would: remote IRR and the
   * delivery status are kept. INVALID_ARGUMENT for a bad pin or entry (before anything is
   * written); DISPOSED after dispose; a typed error when the hypervisor refuses.
   */
  writeRedirection(pin: number, entry: IoApicRedirection): void;
}

/**
 * The guest's end-of-interrupt, which only a model can perform without guest code: the vCPU's
 * local APIC takes `vector` (IRR to ISR) and EOIs it; for a level-triggered vector the IOAPIC
 * clears remote IRR of the pins that deliver it and acknowledges them (a level route then
 * deasserts and signals its resample event). Offered by the software backend and by the KVM
 * model's test targets; a hardware backend cannot (no guest code runs on its behalf).
 */
export interface GuestEoiAccess {
  /**
   * EOI of `vector` on vCPU `vcpu`. Returns false when the vector was neither requested nor in
   * service there (nothing happens, as for a spurious EOI). INVALID_ARGUMENT for a bad vCPU or vector.
   */
  eoi(vcpu: number, vector: number): boolean;
}

/** Whether `p` offers {@link IoApicAccess}. Never throws. */
export function hasIoApicAccess(p: Partition): p is Partition & IoApicAccess {
  if (typeof p !== 'object' || p === null) return false;
  const q = p as Partial<IoApicAccess>;
  return typeof q.readIoApic === 'function' && typeof q.writeRedirection === 'function';
}

/** Redirection-entry bits (82093AA datasheet; `struct kvm_ioapic_state` `redirtbl` fields in `asm/kvm.h`). */
export const IOREDTBL = Object.freeze({
  /** Bits 7:0: the vector. */
  VECTOR_MASK: 0xff,
  /** Bits 10:8: the delivery mode (000 fixed, 001 lowest priority). */
  DELIVERY_MODE_SHIFT: 8,
  /** Bit 11: logical destination mode. */
  DEST_MODE_LOGICAL: 1 << 11,
  /** Bit 12: delivery status (read-only to the guest). */
  DELIVERY_STATUS: 1 << 12,
  /** Bit 13: active-low input polarity. */
  POLARITY_LOW: 1 << 13,
  /** Bit 14: remote IRR (read-only: a level interrupt accepted and not yet EOIed). */
  REMOTE_IRR: 1 << 14,
  /** Bit 15: level-triggered. */
  TRIGGER_LEVEL: 1 << 15,
  /** Bit 16: masked. */
  MASKED: 1 << 16,
  /** The destination is bits 63:56: bits 31:24 of the high word. */
  DEST_SHIFT_HI: 24,
});

/** A redirection-table register as two 32-bit words. */
export interface RedirectionWords {
  /** Bits 31:0: vector, delivery mode, destination mode, status, polarity, remote IRR, trigger, mask. */
  readonly lo: number;
  /** Bits 63:32: the destination in bits 31:24. */
  readonly hi: number;
}

/**
 * `entry` as the two 32-bit words of a redirection-table register (low: bits 31:0, high: 63:32).
 * INVALID_ARGUMENT, naming the field, for a malformed entry.
 */
export function encodeRedirection(operation: string, entry: IoApicRedirection): RedirectionWords {
  if (typeof entry !== 'object' || entry === null) throw invalidArgument(operation, `entry must be an IoApicRedirection, got ${describeValue(entry)}`);
  const e = entry as Partial<Record<keyof IoApicRedirection, unknown>>;
  const vector = checkInteger(operation, 'entry.vector', e.vector, 16, 255);
  const destination = checkInteger(operation, 'entry.destination', e.destination, 0, 255);
  const mode = e.deliveryMode;
  if (mode !== 'fixed' && mode !== 'lowest-priority') throw invalidArgument(operation, `entry.deliveryMode must be 'fixed' or 'lowest-priority', got ${describeValue(mode)}`);
  const dm = e.destinationMode;
  if (dm !== 'physical' && dm !== 'logical') throw invalidArgument(operation, `entry.destinationMode must be 'physical' or 'logical', got ${describeValue(dm)}`);
  const trigger = e.trigger;
  if (trigger !== 'level' && trigger !== 'edge') throw invalidArgument(operation, `entry.trigger must be 'level' or 'edge', got ${describeValue(trigger)}`);
  const masked = e.masked;
  if (typeof masked !== 'boolean') throw invalidArgument(operation, `entry.masked must be a boolean, got ${describeValue(masked)}`);
  const lo =
    vector |
    ((mode === 'fixed' ? 0 : 1) << IOREDTBL.DELIVERY_MODE_SHIFT) |
    (dm === 'logical' ? IOREDTBL.DEST_MODE_LOGICAL : 0) |
    (trigger === 'level' ? IOREDTBL.TRIGGER_LEVEL : 0) |
    (masked ? IOREDTBL.MASKED : 0);
  return { lo: lo >>> 0, hi: (destination << IOREDTBL.DEST_SHIFT_HI) >>> 0 };
}

/**
 * The pin state a redirection register (`lo`, `hi`) and the pin's request bit describe. Delivery
 * modes other than fixed and lowest priority read as `fixed` (the models deliver only those two).
 */
export function decodeRedirection(lo: number, hi: number, asserted: boolean): IoApicPinState {
  return Object.freeze({
    vector: lo & IOREDTBL.VECTOR_MASK,
    deliveryMode: ((lo >>> IOREDTBL.DELIVERY_MODE_SHIFT) & 7) === 1 ? ('lowest-priority' as const) : ('fixed' as const),
    destinationMode: lo & IOREDTBL.DEST_MODE_LOGICAL ? ('logical' as const) : ('physical' as const),
    destination: hi >>> IOREDTBL.DEST_SHIFT_HI,
    trigger: lo & IOREDTBL.TRIGGER_LEVEL ? ('level' as const) : ('edge' as const),
    masked: (lo & IOREDTBL.MASKED) !== 0,
    remoteIrr: (lo & IOREDTBL.REMOTE_IRR) !== 0,
    asserted,
  });
}
