/** What the epoll relay's main-thread half and its worker share. */

/** Words of the control array (Int32Array over a SharedArrayBuffer). */
export const CTL_STOP = 0;
/** Settle requests issued (incremented before the control eventfd is written). */
export const CTL_SETTLE_SEQ = 1;
/** Set to 1 by the worker when it has left its loop and touches no fd any more. */
export const CTL_EXITED = 2;
export const CTL_WORDS = 4;

/** epoll data low word for the control eventfd (route slots are below it). */
export const CONTROL_SLOT = 0xffffffff;

/** Where the worker finds the injector: `require(module)[exportName](...args)` returns a RawInjector. */
export interface InjectorSpec {
  /** Absolute path of a CommonJS module (a built .js file: workers cannot load TypeScript). */
  readonly module: string;
  readonly exportName: string;
  /** Structured-clonable arguments, e.g. the KVM VM fd (fds are process-wide). */
  readonly args: readonly unknown[];
}

export interface EpollWorkerData {
  readonly slots: number;
  readonly table: SharedArrayBuffer;
  readonly control: SharedArrayBuffer;
  /** Int32 per slot: the eventfd being watched for it, or -1. */
  readonly watched: SharedArrayBuffer;
  readonly epollFd: number;
  readonly controlFd: number;
  readonly injector: InjectorSpec;
}

export type WorkerMessage = { readonly settled: number } | { readonly error: string };
