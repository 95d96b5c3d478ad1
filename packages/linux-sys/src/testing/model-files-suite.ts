/**
 * Numbers and open files on a Linux kernel model (KVM's, mshv's), as in POSIX and the kernel:
 * `dup` names the same open file (one eventfd counter, one set of irqfd bindings), `close` removes
 * one number, and the file, with its irqfds, goes only with its last number (closing the eventfd
 * tears its irqfd down: `irqfd_wakeup` on EPOLLHUP in virt/kvm/eventfd.c and
 * drivers/hv/mshv_eventfd.c). An irqfd names its eventfd by the open file, not the number, so a
 * second assign through a dup is EBUSY and a deassign through a dup works. One body for every
 * model built on {@link ModelFileTable}; each backend supplies how to reach its own irqfd ioctl.
 */
import { EBADF, EBUSY } from '../errno';
import type { Syscalls } from '../syscalls';
import { runner } from './irqfd-fault/runner';

/** The system calls {@link modelFileTests} makes on a model. */
export interface ModelFilesSyscalls extends Pick<Syscalls, 'eventfd' | 'close' | 'write'> {
  /** dup(2): the lowest free number for the open file `fd` names, or `-EBADF` (every model answers it). */
  dup(fd: number): number;
  /** 1 when `a` and `b` name the same open file, 0 when not, `-EBADF` when either is closed (every model answers it). */
  sameFile(a: number, b: number): number;
}

/** One model, set up by its backend for the cases of {@link modelFileTests}. */
export interface ModelFilesWorld {
  /** The model's system calls. */
  readonly sys: ModelFilesSyscalls;
  /** How many numbers name the open file `fd` names (0 when it is closed). */
  fileRefs(fd: number): number;
  /** The counter of the eventfd `fd` names, without reading it; `undefined` when it is not one. */
  eventfdCount(fd: number): bigint | undefined;
  /** The model's irqfd ioctl assigning `fd` on `gsi`: 0 or `-errno`. */
  assignIrqfd(fd: number, gsi: number): number;
  /** The same ioctl with the DEASSIGN flag: 0 or `-errno`. */
  deassignIrqfd(fd: number, gsi: number): number;
  /** The GSI the open file `fd` names is assigned on as an irqfd, or `undefined`. */
  irqfdGsi(fd: number): number | undefined;
  /** Irqfds the model holds in this VM or partition. */
  irqfdCount(): number;
  /** Eventfds open in the model. */
  openEventFds(): number;
  /** Vectors pending in vCPU 0's IRR, ascending, then cleared. */
  takeIrr(): number[];
}

/** The GSI {@link modelFileTests} assigns irqfds on. */
export const MODEL_FILES_GSI = 40;
/** The vector {@link MODEL_FILES_GSI} must be routed to (fixed, physical, to APIC ID 0). */
export const MODEL_FILES_VECTOR = 0x41;

const ONE = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);

/**
 * The dup, close and sameFile cases, one test each (call inside a `describe`). `world` makes a fresh
 * model with one vCPU at APIC ID 0, its local APIC software-enabled, and an MSI route from
 * {@link MODEL_FILES_GSI} to vector {@link MODEL_FILES_VECTOR} on APIC ID 0 committed. Uses the test
 * runner's globals (jest, vitest).
 */
export function modelFileTests(world: () => ModelFilesWorld): void {
  const { it } = runner();
  const gsi = MODEL_FILES_GSI;
  /** A new world with an eventfd open as `e` and as its dup `d`, assigned as an irqfd on `gsi` through `e`. */
  const assignedThroughOneOfTwo = (): { w: ModelFilesWorld; e: number; d: number } => {
    const w = world();
    const e = w.sys.eventfd(0, 0);
    const d = w.sys.dup(e);
    runner().expect(w.assignIrqfd(e, gsi)).toBe(0);
    return { w, e, d };
  };

  it('dup is the lowest free number for the same open file; EBADF for a closed one', () => {
    const { expect } = runner();
    const w = world();
    const first = w.sys.eventfd(0, 0);
    const e = w.sys.eventfd(0, 0);
    w.sys.eventfd(0, 0);
    expect(w.sys.close(first)).toBe(0); // the lowest free number is now below e
    const d = w.sys.dup(e);
    expect(d).toBe(first);
    expect(w.sys.sameFile(e, d)).toBe(1);
    expect(w.fileRefs(e)).toBe(2);
    // One counter: a write through one number is read through the other.
    expect(w.sys.write(d, ONE, 8)).toBe(8);
    expect(w.eventfdCount(e)).toBe(1n);
    expect(w.sys.dup(999)).toBe(-EBADF);
    expect(w.sys.sameFile(e, 999)).toBe(-EBADF);
    expect(w.sys.sameFile(999, e)).toBe(-EBADF);
  });

  it('sameFile is 0 for two eventfds', () => {
    const { expect } = runner();
    const w = world();
    expect(w.sys.sameFile(w.sys.eventfd(0, 0), w.sys.eventfd(0, 0))).toBe(0);
  });

  it('closing one of two numbers keeps the file and its irqfd; closing the last tears the irqfd down', () => {
    const { expect } = runner();
    const { w, e, d } = assignedThroughOneOfTwo();
    expect(w.sys.close(e)).toBe(0);
    expect(w.sys.close(e)).toBe(-EBADF);
    // The file lives on through d: still assigned, a signal through d injects.
    expect(w.irqfdGsi(d)).toBe(gsi);
    expect(w.sys.write(d, ONE, 8)).toBe(8);
    expect(w.takeIrr()).toEqual([MODEL_FILES_VECTOR]);
    expect(w.irqfdCount()).toBe(1);
    expect(w.sys.close(d)).toBe(0);
    expect(w.irqfdCount()).toBe(0);
    expect(w.openEventFds()).toBe(0);
  });

  it('irqfd identifies the eventfd by its open file: assigning a dup of an assigned eventfd is EBUSY, deassign through the dup works', () => {
    const { expect } = runner();
    const { w, e, d } = assignedThroughOneOfTwo();
    expect(w.assignIrqfd(d, gsi)).toBe(-EBUSY);
    expect(w.deassignIrqfd(d, gsi)).toBe(0);
    expect(w.irqfdGsi(e)).toBe(undefined);
    expect(w.sys.write(e, ONE, 8)).toBe(8);
    expect(w.takeIrr()).toEqual([]);
    expect(w.eventfdCount(d)).toBe(1n);
  });
}
