/**
 * The WHP and kernel32 calls this backend makes: one typed function per DLL function, the only
 * place that encodes arguments and decodes out-parameters, so a model behind the same
 * declarations sees exactly what the real DLL would.
 *
 * Prototypes follow `WinHvPlatform.h` and the kernel32 documentation on x64: handles are
 * pointer-sized (declared `uint64_t`, the same register on x64), HRESULT and BOOL are 32-bit, and
 * `WINAPI` is a no-op on x64. Loaded lazily, once per pair of library paths.
 */
import { LibraryLoadError, loadLibrary } from '@tsvmm/ffi';
import { VirtError } from '@tsvmm/virt';
import {
  E_ACCESSDENIED,
  HRESULT_PROC_NOT_FOUND,
  LAPIC_PAGE_SIZE,
  WAIT_FAILED,
  WAIT_OBJECT_0,
  WAIT_TIMEOUT,
  WHV_E_INSUFFICIENT_BUFFER,
  WHvVirtualProcessorStateTypeInterruptControllerState2,
  hresultName,
} from './abi';

/** Where the two libraries are: the real DLLs by default; a model's path in tests. */
export interface WhpLibraryPaths {
  /** The library with the `WHv*` functions: `WinHvPlatform.dll`, or a model of it. */
  readonly whp: string;
  /** The library with the event and wait functions: `kernel32.dll`, or a model of it. */
  readonly kernel32: string;
}

/** The real libraries, by name: `WinHvPlatform.dll` and `kernel32.dll`. */
export const SYSTEM_LIBRARIES: WhpLibraryPaths = Object.freeze({ whp: 'WinHvPlatform.dll', kernel32: 'kernel32.dll' });

const WHP_REQUIRED = {
  WHvCreatePartition: 'int32_t WHvCreatePartition(void *partition)',
  WHvSetPartitionProperty: 'int32_t WHvSetPartitionProperty(uint64_t partition, uint32_t code, const void *buffer, uint32_t size)',
  WHvSetupPartition: 'int32_t WHvSetupPartition(uint64_t partition)',
  WHvDeletePartition: 'int32_t WHvDeletePartition(uint64_t partition)',
  WHvCreateVirtualProcessor: 'int32_t WHvCreateVirtualProcessor(uint64_t partition, uint32_t vpIndex, uint32_t flags)',
  WHvGetCapability: 'int32_t WHvGetCapability(uint32_t code, void *buffer, uint32_t size, void *written)',
  WHvRequestInterrupt: 'int32_t WHvRequestInterrupt(uint64_t partition, const void *control, uint32_t size)',
  WHvGetVirtualProcessorState:
    'int32_t WHvGetVirtualProcessorState(uint64_t partition, uint32_t vpIndex, uint32_t type, void *buffer, uint32_t size, void *written)',
  WHvSetVirtualProcessorState:
    'int32_t WHvSetVirtualProcessorState(uint64_t partition, uint32_t vpIndex, uint32_t type, const void *buffer, uint32_t size)',
} as const;

/**
 * A WHP export added after WHP's first release (documented minimum Windows 10 20H2 on x64): older
 * systems lack it, so each is resolved on its own and its absence is a capability, not a load failure.
 */
export type WhpLateExport = 'WHvCreateTrigger' | 'WHvUpdateTriggerParameters' | 'WHvDeleteTrigger';

/** Added after WHP's first release (Windows 10 20H2): each resolved on its own. */
const WHP_LATE = {
  WHvCreateTrigger: 'int32_t WHvCreateTrigger(uint64_t partition, const void *parameters, void *trigger, void *event)',
  WHvUpdateTriggerParameters: 'int32_t WHvUpdateTriggerParameters(uint64_t partition, const void *parameters, uint64_t trigger)',
  WHvDeleteTrigger: 'int32_t WHvDeleteTrigger(uint64_t partition, uint64_t trigger)',
} as const satisfies Record<WhpLateExport, string>;

const KERNEL32 = {
  CreateEventW: 'uint64_t CreateEventW(void *attributes, int32_t manualReset, int32_t initialState, void *name)',
  SetEvent: 'int32_t SetEvent(uint64_t handle)',
  ResetEvent: 'int32_t ResetEvent(uint64_t handle)',
  WaitForSingleObject: 'uint32_t WaitForSingleObject(uint64_t handle, uint32_t milliseconds)',
  WaitForMultipleObjects: 'uint32_t WaitForMultipleObjects(uint32_t count, const void *handles, int32_t waitAll, uint32_t milliseconds)',
  CloseHandle: 'int32_t CloseHandle(uint64_t handle)',
} as const;

/**
 * The prototypes the relay's waiter thread binds itself (it runs from source text, without this
 * module): the same strings as above.
 */
export const WAITER_PROTOTYPES = Object.freeze({
  waitForSingleObject: KERNEL32.WaitForSingleObject,
  waitForMultipleObjects: KERNEL32.WaitForMultipleObjects,
  resetEvent: KERNEL32.ResetEvent,
  requestInterrupt: WHP_REQUIRED.WHvRequestInterrupt,
});

/** Every {@link WhpLateExport}, in declaration order. */
export const WHP_LATE_EXPORTS: readonly WhpLateExport[] = Object.freeze(Object.keys(WHP_LATE) as WhpLateExport[]);

type Fn = (...args: never[]) => unknown;
type Raw = (...args: unknown[]) => number | bigint;

/**
 * The bound calls of one WHP library and one kernel32 library: one method per DLL function. A WHP
 * method throws a `VirtError` HRESULT (with `hresult`, and the name when known) when the call
 * returns a failure HRESULT, or PERMISSION for E_ACCESSDENIED; a late export the library lacks
 * throws UNSUPPORTED (`hresult` ERROR_PROC_NOT_FOUND as HRESULT, 0x8007007F). A kernel32 method
 * throws SYSCALL when the call reports failure. Get one with {@link whpCalls}.
 */
export class WhpCalls {
  /** Late exports this library lacks (empty on Windows 10 20H2 and later). */
  readonly missing: readonly WhpLateExport[];
  private readonly whp: Record<string, Fn | undefined>;
  private readonly k32: Record<string, Fn>;

  /**
   * Loads both libraries. Throws a `VirtError` UNAVAILABLE when either cannot be loaded or lacks a
   * required export (WHP not enabled); late exports may be missing (see `missing`).
   */
  constructor(
    /** The libraries these calls are bound to. */
    readonly paths: WhpLibraryPaths,
  ) {
    const op = 'WhpPartition.create';
    let whp;
    let k32;
    try {
      whp = loadLibrary({ path: paths.whp, required: WHP_REQUIRED, optional: WHP_LATE });
      k32 = loadLibrary({ path: paths.kernel32, required: KERNEL32 });
    } catch (e) {
      const l = e as LibraryLoadError;
      throw new VirtError('UNAVAILABLE', {
        operation: op,
        detail: e instanceof LibraryLoadError && l.missingRequired.length > 0 ? `${l.path} lacks ${l.missingRequired.join(', ')}` : `cannot load ${l.path ?? paths.whp}`,
        hint: 'Enable the "Windows Hypervisor Platform" optional feature and restart Windows.',
        cause: e,
      });
    }
    this.whp = whp.functions;
    this.k32 = k32.functions;
    this.missing = whp.missing;
  }

  /** Whether the WHP library exports `name`. */
  has(name: WhpLateExport): boolean {
    return typeof this.whp[name] === 'function';
  }

  // ---- WHP ----

  /** WHvCreatePartition: the new WHV_PARTITION_HANDLE (pointer-sized). */
  createPartition(): bigint {
    const out = new Uint8Array(8);
    this.hr('WHvCreatePartition', this.w('WHvCreatePartition')(out));
    return readHandle(out);
  }

  /** WHvSetPartitionProperty with a UINT32 value (4 bytes), such as ProcessorCount or LocalApicEmulationMode. */
  setPartitionPropertyU32(partition: bigint, code: number, value: number): void {
    const buf = new Uint8Array(4);
    new DataView(buf.buffer).setUint32(0, value >>> 0, true);
    this.hr('WHvSetPartitionProperty', this.w('WHvSetPartitionProperty')(partition, code, buf, 4), `property 0x${code.toString(16)}`);
  }

  /** WHvSetupPartition: applies the properties set so far; VPs can be created after it. */
  setupPartition(partition: bigint): void {
    this.hr('WHvSetupPartition', this.w('WHvSetupPartition')(partition));
  }

  /** WHvDeletePartition: deletes the partition and its triggers (their events stay open). */
  deletePartition(partition: bigint): void {
    this.hr('WHvDeletePartition', this.w('WHvDeletePartition')(partition));
  }

  /** WHvCreateVirtualProcessor with flags 0. */
  createVirtualProcessor(partition: bigint, vpIndex: number): void {
    this.hr('WHvCreateVirtualProcessor', this.w('WHvCreateVirtualProcessor')(partition, vpIndex, 0), `VP ${vpIndex}`);
  }

  /** The capability's bytes (`size` of them). */
  getCapability(code: number, size: number): Uint8Array {
    const buf = new Uint8Array(size);
    const written = new Uint8Array(4);
    this.hr('WHvGetCapability', this.w('WHvGetCapability')(code, buf, size, written), `code ${code}`);
    return buf;
  }

  /** `control` is an encoded WHV_INTERRUPT_CONTROL (16 bytes). */
  requestInterrupt(partition: bigint, control: Uint8Array): void {
    this.hr('WHvRequestInterrupt', this.w('WHvRequestInterrupt')(partition, control, control.length));
  }

  /** The VP's xAPIC register page (InterruptControllerState2). */
  getLapicPage(partition: bigint, vpIndex: number): Uint8Array {
    const buf = new Uint8Array(LAPIC_PAGE_SIZE);
    const written = new Uint8Array(4);
    const hr = this.w('WHvGetVirtualProcessorState')(partition, vpIndex, WHvVirtualProcessorStateTypeInterruptControllerState2, buf, buf.length, written);
    if (toHr(hr) === WHV_E_INSUFFICIENT_BUFFER) {
      this.hr('WHvGetVirtualProcessorState', hr, `VP ${vpIndex} needs ${new DataView(written.buffer).getUint32(0, true)} bytes`);
    }
    this.hr('WHvGetVirtualProcessorState', hr, `VP ${vpIndex}`);
    return buf;
  }

  /** WHvSetVirtualProcessorState (InterruptControllerState2): writes the VP's xAPIC register page back. */
  setLapicPage(partition: bigint, vpIndex: number, page: Uint8Array): void {
    const hr = this.w('WHvSetVirtualProcessorState')(partition, vpIndex, WHvVirtualProcessorStateTypeInterruptControllerState2, page, page.length);
    this.hr('WHvSetVirtualProcessorState', hr, `VP ${vpIndex}`);
  }

  /** A new trigger and the event WHP created for it (the caller owns and must close the event). */
  createTrigger(
    partition: bigint,
    parameters: Uint8Array,
  ): {
    /** The WHV_TRIGGER_HANDLE, for WHvUpdateTriggerParameters and WHvDeleteTrigger. */
    trigger: bigint;
    /** The event HANDLE that fires the trigger when signalled; deleting the trigger does not close it. */
    event: bigint;
  } {
    const t = new Uint8Array(8);
    const e = new Uint8Array(8);
    this.hr('WHvCreateTrigger', this.late('WHvCreateTrigger')(partition, parameters, t, e));
    return { trigger: readHandle(t), event: readHandle(e) };
  }

  /**
   * WHvUpdateTriggerParameters (a late export): retargets a live trigger with new 32-byte
   * `WHV_TRIGGER_PARAMETERS`, keeping its event; the trigger type cannot change (E_INVALIDARG).
   */
  updateTriggerParameters(partition: bigint, parameters: Uint8Array, trigger: bigint): void {
    this.hr('WHvUpdateTriggerParameters', this.late('WHvUpdateTriggerParameters')(partition, parameters, trigger));
  }

  /** WHvDeleteTrigger (a late export). Its event stays open: the caller closes it afterwards. */
  deleteTrigger(partition: bigint, trigger: bigint): void {
    this.hr('WHvDeleteTrigger', this.late('WHvDeleteTrigger')(partition, trigger));
  }

  // ---- kernel32 ----

  /** An unnamed, non-signalled event; auto-reset unless `manualReset`. */
  createEvent(manualReset: boolean): bigint {
    const h = BigInt(this.k('CreateEventW')(null, manualReset ? 1 : 0, 0, null));
    if (h === 0n) throw this.win32Failed('CreateEventW');
    return h;
  }

  /** SetEvent: signals the event (on a trigger's event, the hypervisor then injects). */
  setEvent(handle: bigint): void {
    if (this.k('SetEvent')(handle) === 0) throw this.win32Failed('SetEvent');
  }

  /** ResetEvent: the event is no longer signalled. */
  resetEvent(handle: bigint): void {
    if (this.k('ResetEvent')(handle) === 0) throw this.win32Failed('ResetEvent');
  }

  /** True when the event was signalled (an auto-reset event is then reset by this wait). */
  waitOne(handle: bigint, milliseconds: number): boolean {
    const r = Number(this.k('WaitForSingleObject')(handle, milliseconds)) >>> 0;
    if (r === WAIT_OBJECT_0) return true;
    if (r === WAIT_TIMEOUT) return false;
    throw this.win32Failed('WaitForSingleObject', r === WAIT_FAILED ? 'WAIT_FAILED' : `result 0x${r.toString(16)}`);
  }

  /** Index of the signalled handle, or -1 on timeout. At most 64 handles. */
  waitAny(handles: readonly bigint[], milliseconds: number): number {
    const buf = new Uint8Array(8 * handles.length);
    const v = new DataView(buf.buffer);
    handles.forEach((h, i) => v.setBigUint64(8 * i, h, true));
    const r = Number(this.k('WaitForMultipleObjects')(handles.length, buf, 0, milliseconds)) >>> 0;
    if (r === WAIT_TIMEOUT) return -1;
    if (r < handles.length) return r;
    throw this.win32Failed('WaitForMultipleObjects', `result 0x${r.toString(16)}`);
  }

  /** CloseHandle. */
  closeHandle(handle: bigint): void {
    if (this.k('CloseHandle')(handle) === 0) throw this.win32Failed('CloseHandle');
  }

  private w(name: keyof typeof WHP_REQUIRED): Raw {
    return this.whp[name] as unknown as Raw;
  }

  private late(name: WhpLateExport): Raw {
    const f = this.whp[name];
    if (f === undefined) {
      throw new VirtError('UNSUPPORTED', {
        operation: name,
        detail: `${this.paths.whp} does not export ${name}`,
        hresult: HRESULT_PROC_NOT_FOUND,
        hint: 'Interrupt triggers need Windows 10 20H2 or later on x64.',
      });
    }
    return f as unknown as Raw;
  }

  private k(name: keyof typeof KERNEL32): Raw {
    return this.k32[name] as unknown as Raw;
  }

  private hr(op: string, raw: number | bigint, what?: string): void {
    const hr = toHr(raw);
    if ((hr & 0x80000000) === 0) return;
    const name = hresultName(hr);
    throw new VirtError(hr === E_ACCESSDENIED ? 'PERMISSION' : 'HRESULT', {
      operation: op,
      detail: `${op}${what ? ` (${what})` : ''} failed${name ? ` with ${name}` : ''}`,
      hresult: hr,
      hint:
        hr === E_ACCESSDENIED
          ? 'Run as a user allowed to use the Windows Hypervisor Platform.'
          : 'The hypervisor refused the call; the object is as it was before it.',
    });
  }

  private win32Failed(op: string, what = 'returned failure'): VirtError {
    return new VirtError('SYSCALL', { operation: op, detail: `${op} ${what}`, hint: 'A handle may have been closed elsewhere; dispose and recreate the object.' });
  }
}

function toHr(raw: number | bigint): number {
  return Number(raw) >>> 0;
}

function readHandle(out: Uint8Array): bigint {
  return new DataView(out.buffer, out.byteOffset, 8).getBigUint64(0, true);
}

const cache = new Map<string, WhpCalls>();

/** The calls for these library paths, loaded on first use and kept for the process. */
export function whpCalls(paths: WhpLibraryPaths): WhpCalls {
  const key = `${paths.whp}\0${paths.kernel32}`;
  let c = cache.get(key);
  if (!c) {
    c = new WhpCalls(paths);
    cache.set(key, c);
  }
  return c;
}
