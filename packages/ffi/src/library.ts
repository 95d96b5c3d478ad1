/**
 * One way to load a native library through koffi: required exports must all resolve (else one
 * error names every missing one); optional exports are resolved one by one, and those the library
 * lacks are reported instead of failing the load. Windows DLLs gain exports over releases (WHP's
 * trigger functions arrived in Windows 10 20H2), so a backend turns "which exports exist" into a
 * capability report rather than a crash.
 */

/** The part of koffi this module uses (koffi's own types are ESM-only; this package is CommonJS). */
export interface KoffiLike {
  /** Loads a shared library (`dlopen`, `LoadLibrary`); throws when it cannot. */
  load(path: string): KoffiLibraryLike;
}

/** The part of a koffi library object this module uses (what `koffi.load` returns). */
export interface KoffiLibraryLike {
  /** Declares a function from a C prototype, e.g. `int32_t WHvDeleteTrigger(uint64_t p, uint64_t t)`. */
  func(prototype: string): unknown;
  /** Releases the library; called when a required export is missing, so a failed load holds nothing. */
  unload?(): void;
}

/** A C prototype per export, keyed by the name the caller uses. The C name is the prototype's own. */
export type Prototypes = Readonly<Record<string, string>>;

/** What {@link loadLibrary} loads: required exports `R` and optional exports `O`. */
export interface LoadLibraryOptions<R extends Prototypes, O extends Prototypes> {
  /** A path or a name the platform's loader searches (`WinHvPlatform.dll`, `libc.so.6`). */
  readonly path: string;
  /** Exports the library must have; one missing fails the load ({@link LibraryLoadError}). */
  readonly required: R;
  /** Exports the library may lack; each missing one is listed in {@link LoadedLibrary.missing}. */
  readonly optional?: O;
  /** The koffi module; default: `require('koffi')`. Tests pass a fake. */
  readonly koffi?: KoffiLike;
}

/** A loaded library: each required export, each optional export that resolved, and what did not. */
export interface LoadedLibrary<R extends Prototypes, O extends Prototypes> {
  /** The path or name it was loaded from (`LoadLibraryOptions.path`). */
  readonly path: string;
  /**
   * Callable exports by the caller's key (frozen): every required one, and each optional one that
   * resolved (absent otherwise). Arguments and results are koffi's conversion of the prototype.
   */
  readonly functions: { readonly [K in keyof R]: (...args: never[]) => unknown } & {
    readonly [K in keyof O]?: (...args: never[]) => unknown;
  };
  /** Names (keys of `optional`) whose export the library lacks, in declaration order. */
  readonly missing: readonly (keyof O & string)[];
  /** True when the optional export `name` resolved. */
  has(name: keyof O & string): boolean;
}

/** Why a library could not be loaded, or which required exports it lacks. */
export class LibraryLoadError extends Error {
  /** Always `'LibraryLoadError'`. */
  override readonly name = 'LibraryLoadError';
  constructor(
    /** The path or name that was loaded. */
    readonly path: string,
    /** Required exports that did not resolve (empty when the library itself failed to load). */
    readonly missingRequired: readonly string[],
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const LOAD_OPTION_KEYS = new Set(['path', 'required', 'optional', 'koffi']);

/** A refusal of the options themselves (a TypeError to the caller), told apart from what a getter throws. */
class OptionsError extends TypeError {}

/** The options as read, once each. */
interface ReadLoadOptions {
  readonly path: string;
  readonly required: Readonly<Record<string, string>>;
  readonly optional: Readonly<Record<string, string>>;
  readonly koffi: KoffiLike | undefined;
}

/**
 * The options, read once each into a copy (a getter is never read twice), or a TypeError naming
 * what is wrong: a malformed definition fails when the backend's module loads. A Proxy or getter
 * that throws while being read is a TypeError too, with its error as the cause.
 */
function readLoadOptions(options: unknown): ReadLoadOptions {
  if (typeof options !== 'object' || options === null) throw new OptionsError(`loadLibrary: options must be { path, required, optional? }, got ${options === null ? 'null' : typeof options}`);
  try {
    const o = options as Record<string, unknown>;
    const unknown = Object.keys(o).filter((k) => !LOAD_OPTION_KEYS.has(k));
    if (unknown.length > 0) throw new OptionsError(`loadLibrary: unknown option ${unknown.join(', ')} (known: ${[...LOAD_OPTION_KEYS].join(', ')})`);
    const { path, required, optional, koffi } = o;
    if (typeof path !== 'string' || path === '') throw new OptionsError("loadLibrary: path must be the library's file name or path, a non-empty string");
    if (koffi !== undefined && (typeof koffi !== 'object' || koffi === null || typeof (koffi as { load?: unknown }).load !== 'function')) {
      throw new OptionsError('loadLibrary: koffi, when given, must be a koffi module (an object with load)');
    }
    return { path, required: prototypes('required', required), optional: optional === undefined ? {} : prototypes('optional', optional), koffi: koffi as KoffiLike | undefined };
  } catch (e) {
    if (e instanceof OptionsError) throw e;
    throw new OptionsError(`loadLibrary: the options could not be read (${e instanceof Error ? e.message : typeof e})`, { cause: e });
  }
}

/** A plain copy of an export table: export names to C prototype strings. */
function prototypes(key: string, table: unknown): Record<string, string> {
  if (typeof table !== 'object' || table === null || Array.isArray(table)) throw new OptionsError(`loadLibrary: ${key} must be an object of export names to C prototypes`);
  const copy: Record<string, string> = {};
  for (const [name, prototype] of Object.entries(table)) {
    if (typeof prototype !== 'string') throw new OptionsError(`loadLibrary: ${key}.${name} must be a C prototype string`);
    copy[name] = prototype;
  }
  return copy;
}

function defaultKoffi(): KoffiLike {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('koffi') as KoffiLike;
}

/**
 * Loads `options.path` and resolves its exports. Throws {@link LibraryLoadError} when the library
 * cannot be loaded or any required export is missing (naming all of them); never for an optional one.
 * Throws TypeError, before loading anything, for options that are not `{ path, required, optional?,
 * koffi? }` with a non-empty string path, objects of prototype strings and, when given, a koffi
 * module; each option is read once.
 */
export function loadLibrary<R extends Prototypes, O extends Prototypes = Record<never, string>>(
  options: LoadLibraryOptions<R, O>,
): LoadedLibrary<R, O> {
  const read = readLoadOptions(options);
  const path = read.path;
  const koffi = read.koffi ?? defaultKoffi();
  let lib: KoffiLibraryLike;
  try {
    lib = koffi.load(path);
  } catch (e) {
    throw new LibraryLoadError(path, [], `cannot load ${path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const functions: Record<string, (...args: never[]) => unknown> = {};
  const missingRequired: string[] = [];
  for (const [name, prototype] of Object.entries(read.required)) {
    const f = resolve(lib, prototype);
    if (f) functions[name] = f;
    else missingRequired.push(name);
  }
  if (missingRequired.length > 0) {
    lib.unload?.();
    throw new LibraryLoadError(path, missingRequired, `${path} lacks the required exports ${missingRequired.join(', ')}`);
  }
  const missing: (keyof O & string)[] = [];
  for (const [name, prototype] of Object.entries(read.optional)) {
    const f = resolve(lib, prototype);
    if (f) functions[name] = f;
    else missing.push(name);
  }
  Object.freeze(functions);
  return Object.freeze({
    path,
    functions: functions as LoadedLibrary<R, O>['functions'],
    missing: Object.freeze(missing),
    has: (name: keyof O & string) => typeof functions[name] === 'function',
  });
}

/** The function, or undefined when the export does not exist (koffi throws for a missing symbol). */
function resolve(lib: KoffiLibraryLike, prototype: string): ((...args: never[]) => unknown) | undefined {
  try {
    const f = lib.func(prototype);
    return typeof f === 'function' ? (f as (...args: never[]) => unknown) : undefined;
  } catch {
    return undefined;
  }
}
