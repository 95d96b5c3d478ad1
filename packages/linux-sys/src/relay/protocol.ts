/** What the epoll relay's main-thread half and its worker share. */
import type { MsiStructField, SlotLayout } from '@tsvmm/virt/implement';

/** Words of the control array (Int32Array over a SharedArrayBuffer). */
export const CTL_STOP = 0;
/** Settle requests issued (incremented before the control eventfd is written). */
export const CTL_SETTLE_SEQ = 1;
/** Set to 1 by the worker when it has left its loop and touches no fd any more. */
export const CTL_EXITED = 2;
/** The worker's start state: one of the `STATE_*` values. */
export const CTL_STATE = 3;
export const CTL_WORDS = 4;

/** Start states (CTL_STATE). The worker moves STARTING→RUNNING or →FAILED; the main thread STARTING→CANCELLED. */
export const STATE_STARTING = 0;
export const STATE_RUNNING = 1;
export const STATE_FAILED = 2;
/** The main thread gave up on a worker that had not started: it must exit without touching any fd. */
export const STATE_CANCELLED = 3;

/** Bytes of the buffer in which a worker that failed to start leaves its reason (UTF-8, length in the first word). */
export const FAILURE_BYTES = 2048;

/** epoll data low word for the control eventfd (route slots are below it). */
export const CONTROL_SLOT = 0xffffffff;

/**
 * One field of an ioctl injector's argument (or of its input buffer): where the MSI, a part of it
 * or a constant goes (see `MsiStructField` of `@tsvmm/virt/implement`).
 */
export type IoctlInjectorField = MsiStructField;

/**
 * A second buffer that the ioctl's argument points at (e.g. a hypercall's input, which the kernel
 * reads through a pointer in the argument). The injector allocates it once, at an address that
 * never moves, writes that address as a u64 at `pointer` in the argument, and writes `fields` into
 * it before every call.
 */
export interface IoctlInjectorInput {
  /** Bytes of the buffer. */
  readonly size: number;
  /** Alignment of its address (a power of two). */
  readonly align: number;
  /** Byte offset of the u64 pointer field in the argument. */
  readonly pointer: number;
  /** What the buffer's fields receive, written before every call. */
  readonly fields: readonly IoctlInjectorField[];
}

/**
 * Inject with one ioctl per signal: `ioctl(fd, request, arg)`, where `arg` is `size` zeroed bytes
 * with each field written before every call (constants too, so a field the kernel writes back,
 * such as a status, starts from its constant again). Examples: KVM_SIGNAL_MSI on the VM fd with
 * `struct kvm_msi`; MSHV_ROOT_HVCALL on the partition fd with `struct mshv_root_hvcall`, whose
 * `in_ptr` points at the HvCallAssertVirtualInterrupt input (`input`). The ioctl's result says
 * whether the guest took it: with `delivered: 'positive'` (KVM_SIGNAL_MSI) a result above 0 is
 * delivered and 0 blocked; with `'non-negative'` every success is delivered. A failure with
 * `retry.errno` is tried again, at most `retry.attempts` calls in all; any other failure throws.
 */
export interface IoctlInjectorSpec {
  /** Discriminates the {@link InjectorSpec} union. */
  readonly kind: 'ioctl';
  /** The fd the ioctl is issued on (fds are shared by all threads of the process). */
  readonly fd: number;
  /** The full request number (`_IOW(...)`). */
  readonly request: number;
  /** For messages, e.g. `KVM_SIGNAL_MSI`. */
  readonly name: string;
  /** Size of the argument in bytes. */
  readonly size: number;
  /** Where each part of the MSI goes in the argument (at least one field). */
  readonly fields: readonly IoctlInjectorField[];
  /** How the ioctl's non-negative result reads: `positive` (above 0 delivered, 0 blocked) or `non-negative` (always delivered). */
  readonly delivered: 'positive' | 'non-negative';
  /** A second buffer the argument points at. */
  readonly input?: IoctlInjectorInput;
  /** A failure to try again. */
  readonly retry?: {
    /** The errno (positive) that is tried again. */
    readonly errno: number;
    /** Calls in all, at most (1-64). */
    readonly attempts: number;
  };
}

/**
 * A test injector: counts injections and keeps the last message in `buffer`, an Int32Array of
 * REC_WORDS words: [count, addressLo, addressHi, data] (see `@tsvmm/linux-sys/testing`).
 */
export interface RecordInjectorSpec {
  /** Discriminates the {@link InjectorSpec} union. */
  readonly kind: 'record';
  /** At least 16 bytes: the count and the last message, as 32-bit words. */
  readonly buffer: SharedArrayBuffer;
}

/** How the worker injects, as data: no module path, so it survives bundling. */
export type InjectorSpec = IoctlInjectorSpec | RecordInjectorSpec;

export interface EpollWorkerData {
  readonly slots: number;
  readonly table: SharedArrayBuffer;
  readonly layout: SlotLayout;
  readonly control: SharedArrayBuffer;
  /** Where a worker that failed to start leaves its reason. */
  readonly failure: SharedArrayBuffer;
  /** Int32 per slot: the eventfd being watched for it, or -1. */
  readonly watched: SharedArrayBuffer;
  readonly epollFd: number;
  readonly controlFd: number;
  readonly injector: InjectorSpec;
  /** Resolved path of koffi (the worker runs from source text, so it cannot resolve packages itself). */
  readonly koffiPath: string;
  /** The C library to bind (`libc.so.6` on glibc, musl's own name on musl). */
  readonly libc: string;
  /** The libc prototypes the worker binds (the one definition, in `libc.ts`). */
  readonly prototypes: { readonly read: string; readonly ioctl: string; readonly epollWait: string };
  readonly epollEventSize: number;
  readonly epollDataOffset: number;
  readonly eintr: number;
}

export type WorkerMessage = { readonly settled: number } | { readonly error: string };
