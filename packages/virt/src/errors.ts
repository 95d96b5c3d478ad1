/**
 * Typed errors shared by every tsvmm package.
 *
 * Every failure a caller can meet is a {@link VirtError}: a stable `code` to branch on, the
 * `operation` that failed, the errno or HRESULT when a kernel or DLL call failed, and a message
 * that ends with what to do about it.
 */

/** Stable error codes: branch on these, never on message text. */
export type VirtErrorCode =
  /** A caller passed a bad argument. Nothing was changed. */
  | 'INVALID_ARGUMENT'
  /** An MSI address/data pair that is not a deliverable x86 MSI for this backend. Nothing was changed. */
  | 'INVALID_MSI'
  /** The object was disposed before this call. */
  | 'DISPOSED'
  /** No free route, GSI or slot is left. Dispose a route and try again. */
  | 'EXHAUSTED'
  /** The kernel reports the resource in use (EBUSY), e.g. an eventfd already assigned as an irqfd. */
  | 'BUSY'
  /** The host or backend lacks the capability asked for. */
  | 'UNSUPPORTED'
  /** The hypervisor is not present here (device node missing, wrong platform, export missing). */
  | 'UNAVAILABLE'
  /** The caller lacks permission (EACCES, EPERM, E_ACCESSDENIED). */
  | 'PERMISSION'
  /** Any other failed system call; `errno` says which. */
  | 'SYSCALL'
  /** A failed Windows call; `hresult` says which. */
  | 'HRESULT'
  /** An internal invariant of tsvmm broke: please report it. */
  | 'INTERNAL';

/** What a {@link VirtError} is made of, besides its code: the second argument of its constructor. */
export interface VirtErrorDetails {
  /** The failed operation, e.g. `IrqFdRoute.setMsi` or `ioctl(KVM_SET_GSI_ROUTING)`. */
  readonly operation: string;
  /** What went wrong, in one sentence, without the hint. */
  readonly detail: string;
  /** What the caller can do about it. */
  readonly hint?: string;
  /** The Linux errno, when a system call failed. */
  readonly errno?: number;
  /** The symbolic errno name (`EBUSY`), when known. */
  readonly errnoName?: string;
  /** The HRESULT as an unsigned 32-bit number, when a Windows call failed. */
  readonly hresult?: number;
  /** The underlying error, if any. */
  readonly cause?: unknown;
}

const CODES: ReadonlySet<string> = new Set<VirtErrorCode>([
  'INVALID_ARGUMENT',
  'INVALID_MSI',
  'DISPOSED',
  'EXHAUSTED',
  'BUSY',
  'UNSUPPORTED',
  'UNAVAILABLE',
  'PERMISSION',
  'SYSCALL',
  'HRESULT',
  'INTERNAL',
]);

/** True when `code` is one of the {@link VirtErrorCode}s. Never throws (it reads no property). */
export function isVirtErrorCode(code: unknown): code is VirtErrorCode {
  return typeof code === 'string' && CODES.has(code);
}

/** Details made safe to format whatever the caller passed (the constructor of an error never throws). */
function safeDetails(details: unknown, note = ''): VirtErrorDetails {
  if (typeof details !== 'object' || details === null) return { operation: 'unknown operation', detail: `an error with malformed details (${typeof details})${note}` };
  const d = details as Partial<Record<keyof VirtErrorDetails, unknown>>;
  // A getter or Proxy trap can throw from any member: a member that cannot be read counts as absent.
  const read = (k: keyof VirtErrorDetails): unknown => {
    try {
      return d[k];
    } catch {
      return undefined;
    }
  };
  const str = (v: unknown): string | undefined => {
    if (v === undefined) return undefined;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' || typeof v === 'symbol') return v.toString();
    return `(${v === null ? 'null' : typeof v})`;
  };
  const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
  return {
    operation: str(read('operation')) ?? 'unknown operation',
    detail: `${str(read('detail')) ?? 'no detail given'}${note}`,
    hint: str(read('hint')),
    errno: num(read('errno')),
    errnoName: str(read('errnoName')),
    hresult: num(read('hresult')),
    cause: read('cause'),
  };
}

/**
 * The brand every {@link VirtError} carries, registered globally (`Symbol.for`), so an error made
 * by one installed copy of this package is recognised by another copy (two versions of
 * `@tsvmm/virt` in one application): `isVirtError` and `instanceof VirtError` check the brand.
 */
export const VIRT_ERROR_BRAND: unique symbol = Symbol.for('tsvmm.VirtError') as never;

/** Reads the brand, guarded: a Proxy whose `get` trap throws (a hostile thrown value) is not a VirtError. */
function branded(e: unknown): e is VirtError {
  if ((typeof e !== 'object' && typeof e !== 'function') || e === null) return false;
  try {
    return (e as { [VIRT_ERROR_BRAND]?: unknown })[VIRT_ERROR_BRAND] === true;
  } catch {
    return false;
  }
}

/**
 * The one error type of tsvmm. Branch on {@link VirtError.code}; the message is
 * `operation: detail (EBUSY 16) [CODE]. hint` (the errno or HRESULT part only when one is known).
 *
 * Recognise it with {@link isVirtError} or `instanceof VirtError`: both check the
 * {@link VIRT_ERROR_BRAND}, so they hold for errors made by any installed copy of this package.
 */
export class VirtError extends Error {
  /** Always `VirtError`. */
  override readonly name = 'VirtError';
  /** The cross-copy brand (see {@link VIRT_ERROR_BRAND}). */
  readonly [VIRT_ERROR_BRAND] = true as const;

  /** True for a VirtError from any installed copy of this package (the brand, not the prototype). */
  static is(e: unknown): e is VirtError {
    return branded(e);
  }

  /** `e instanceof VirtError` holds for errors of every installed copy of this package. */
  static override [Symbol.hasInstance](e: unknown): boolean {
    return branded(e);
  }
  /** What kind of failure this is: the field to branch on. */
  readonly code: VirtErrorCode;
  /** The failed operation, e.g. `IrqFdRoute.setMsi` or `ioctl(KVM_SET_GSI_ROUTING)`. */
  readonly operation: string;
  /** What went wrong, in one sentence, without the hint. */
  readonly detail: string;
  /** What the caller can do about it, or undefined. */
  readonly hint: string | undefined;
  /** The Linux errno, when a system call failed. */
  readonly errno: number | undefined;
  /** The symbolic errno name (`EBUSY`), when known. */
  readonly errnoName: string | undefined;
  /** The HRESULT as an unsigned 32-bit number, when a Windows call failed. */
  readonly hresult: number | undefined;

  /**
   * Never throws: a `code` that is not a {@link VirtErrorCode} becomes INTERNAL (its text kept in
   * the detail), and malformed `details` are replaced by safe strings.
   */
  constructor(code: VirtErrorCode, details: VirtErrorDetails) {
    const known = isVirtErrorCode(code);
    details = safeDetails(details, known ? '' : ` (unknown error code ${typeof code === 'symbol' ? 'symbol' : String(code)})`);
    code = known ? code : 'INTERNAL';
    super(formatMessage(code, details), details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.operation = details.operation;
    this.detail = details.detail;
    this.hint = details.hint;
    this.errno = details.errno;
    this.errnoName = details.errnoName;
    this.hresult = details.hresult;
  }
}

function formatMessage(code: VirtErrorCode, d: VirtErrorDetails): string {
  let status = '';
  if (d.errno !== undefined) status = ` (${d.errnoName ?? 'errno'} ${d.errno})`;
  else if (d.hresult !== undefined) status = ` (HRESULT 0x${(d.hresult >>> 0).toString(16).padStart(8, '0')})`;
  const hint = d.hint ? ` ${d.hint}` : '';
  return `${d.operation}: ${d.detail}${status} [${code}].${hint}`;
}

/**
 * True when `e` is a {@link VirtError} (from this or any other installed copy of this package: the
 * check is the {@link VIRT_ERROR_BRAND}), optionally with the given code. Never throws: a value whose
 * brand or code cannot be read (a Proxy whose traps throw) is not a VirtError.
 */
export function isVirtError(e: unknown, code?: VirtErrorCode): e is VirtError {
  if (!branded(e)) return false;
  if (code === undefined) return true;
  try {
    return e.code === code;
  } catch {
    return false;
  }
}

/**
 * An INVALID_ARGUMENT error for `operation` (e.g. `IrqFdRoute.setMsi`): `detail` says which argument
 * and why; `hint` defaults to "fix the argument; nothing was changed". Returns the error, never throws it.
 */
export function invalidArgument(operation: string, detail: string, hint = 'Fix the argument; nothing was changed.'): VirtError {
  return new VirtError('INVALID_ARGUMENT', { operation, detail, hint });
}

/**
 * A DISPOSED error for a call of `operation` on `what` (e.g. `the software partition`), which was
 * already disposed. Returns the error, never throws it.
 */
export function disposedError(operation: string, what: string): VirtError {
  return new VirtError('DISPOSED', {
    operation,
    detail: `${what} was already disposed`,
    hint: 'Create a new one; a disposed object cannot be used again.',
  });
}

/**
 * A live route whose event someone disposed with `route.event.dispose()`: the route owns its event
 * and cannot work without it. (Closing `route.event.fd` does not lead here: that number is the
 * user's copy, and the route keeps working on its own descriptor.)
 */
export function routeEventDisposed(operation: string): VirtError {
  return new VirtError('DISPOSED', {
    operation,
    detail: "the route's event was disposed (route.event.dispose()), but the route was not",
    hint: 'A route owns its event: never call route.event.dispose() yourself (closing route.event.fd only closes your copy of it). Dispose the route and create a new one.',
  });
}

/**
 * An EXHAUSTED error for `operation`: all `limit` of `what` (e.g. `irqfd routes`, `GSIs`) are in
 * use. Returns the error, never throws it.
 */
export function exhaustedError(operation: string, what: string, limit: number): VirtError {
  return new VirtError('EXHAUSTED', {
    operation,
    detail: `all ${limit} ${what} are in use`,
    hint: 'Dispose routes that are no longer needed, then try again.',
  });
}
