/**
 * Numbers and open files on a Linux kernel model (KVM's, mshv's), as in POSIX and the kernel:
 * `dup` names the same open file (one eventfd counter, one set of irqfd bindings), `close` removes
 * one number, and the file, with its irqfds, goes only with its last number (closing the eventfd
 * tears its irqfd down: `irqfd_wakeup` on EPOLLHUP in virt/kvm/eventfd.c and
 * drivers/hv/mshv_eventfd.c). An irqfd names its eventfd by the open file, not the number, so a
 * second assign through a dup is EBUSY and a deassign through a dup works. One body for every
 * model built on {@link ModelFileTable}; each backend supplies how to reach its own irqfd ioctl.
 */
import type { ApicBus } from '@tsvmm/virt/testing';
import { EBADF, EBUSY } from '../errno';
import type { Syscalls } from '../syscalls';
import { takeApicBusIrr } from './irqfd-fault/harness';
import { runner } from './irqfd-fault/runner';
import { isEventFd, type ModelFileTable } from './model-files';

/** The system calls {@link modelFileTests} makes on a model. */
export interface ModelFilesSyscalls extends Pick<Syscalls, 'eventfd' | 'close' | 'write'> {
  /** dup(2): the lowest free number for the open file `fd` names, or `-EBADF` (every model answers it). */
  dup(fd: number): number;
  /** 1 when `a` and `b` name the same open file, 0 when not, `-EBADF` when either is closed (every model answers it). */
  sameFile(a: number, b: number): number;
  /** How many numbers name the open file `fd` names (0 when it is closed), as every `ModelKernel` counts them. */
  fileRefs(fd: number): number;
  /** The model's descriptor table (every `ModelKernel`'s `files`): eventfd counters and open eventfds are read there. */
  readonly files: Pick<ModelFileTable<object>, 'counter' | 'count'>;
}

/** One model, set up by its backend for the cases of {@link modelFileTests}. */
export interface ModelFilesWorld {
  /** The model's system calls and its descriptor table. */
  readonly sys: ModelFilesSyscalls;
  /** The model's irqfd ioctl assigning `fd` on `gsi`, or with `deassign` deassigning it (the DEASSIGN flag): 0 or `-errno`. */
  irqfd(fd: number, gsi: number, deassign: boolean): number;
  /** The GSI the open file `fd` names is assigned on as an irqfd, or `undefined`. */
  irqfdGsi(fd: number): number | undefined;
  /** Irqfds the model holds in this VM or partition. */
  irqfdCount(): number;
  /** The local APICs of this VM or partition; vCPU 0 is at APIC ID 0. */
  bus(): ApicBus;
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
    runner().expect(w.irqfd(e, gsi, false)).toBe(0);
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
    expect(w.sys.fileRefs(e)).toBe(2);
    // One counter: a write through one number is read through the other.
    expect(w.sys.write(d, ONE, 8)).toBe(8);
    expect(w.sys.files.counter(e)).toBe(1n);
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
    expect(takeApicBusIrr(w.bus()).irr).toEqual([[0, MODEL_FILES_VECTOR]]);
    expect(w.irqfdCount()).toBe(1);
    expect(w.sys.close(d)).toBe(0);
    expect(w.irqfdCount()).toBe(0);
    expect(w.sys.files.count(isEventFd)).toBe(0);
  });

  it('irqfd identifies the eventfd by its open file: assigning a dup of an assigned eventfd is EBUSY, deassign through the dup works', () => {
    const { expect } = runner();
    const { w, e, d } = assignedThroughOneOfTwo();
    expect(w.irqfd(d, gsi, false)).toBe(-EBUSY);
    expect(w.irqfd(d, gsi, true)).toBe(0);
    expect(w.irqfdGsi(e)).toBe(undefined);
    expect(w.sys.write(e, ONE, 8)).toBe(8);
    expect(takeApicBusIrr(w.bus()).irr).toEqual([]);
    expect(w.sys.files.counter(d)).toBe(1n);
  });
}
