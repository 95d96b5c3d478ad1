/**
 * The C floors (native/tsvmm_bench.c), compiled with `cc` at bench time into a cache directory
 * keyed by the source and flags, and loaded into this process with koffi (KVM answers vCPU
 * ioctls only from the process that created the VM, so a child program could not read the APIC).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as util from 'node:util';
import { type LoadedLibrary, LibraryLoadError, loadLibrary } from '@tsvmm/ffi';
import { Stalled } from '../deadline';
import { describeTempDir, errnoText, tempRoot } from '../output/temp';

/** `ENOMEM (errno 12)`: the name from Node's own errno table. */
export function systemErrorName(errno: number): string {
  try {
    return `${util.getSystemErrorName(-errno)} (errno ${errno})`;
  } catch {
    return `errno ${errno}`;
  }
}

/** The C prototype of every export of the floors' library (`native/tsvmm_bench.c`). */
const PROTOTYPES = Object.freeze({
  version: 'int tsvmm_bench_abi_version(void)',
  measure: 'int tsvmm_measure_signal_to_irr(int efd, int vcpufd, int vector, int iterations, _Out_ double *out)',
  start: 'void *tsvmm_relay_start(int vmfd, uint32_t lo, uint32_t hi, uint32_t data, _Out_ int *err)',
  relayEventFd: 'int tsvmm_relay_eventfd(void *r)',
  relayError: 'int tsvmm_relay_error(void *r)',
  relayInjected: 'double tsvmm_relay_injected(void *r)',
  relayStop: 'void tsvmm_relay_stop(void *r)',
});

const SOURCE = path.resolve(__dirname, '..', '..', 'native', 'tsvmm_bench.c');
const FLAGS = ['-O2', '-Wall', '-Wextra', '-shared', '-fPIC', '-pthread'];
const ABI_VERSION = 1;

/**
 * How long the compiler may take to build the C floors. `cc -O2` builds this one file in well under
 * a second; thirty seconds allow a cold, loaded machine many times over, and a compiler stuck on a
 * lock or a full disk is still killed inside the minute `bench --quick` is given.
 */
export const COMPILE_DEADLINE_MS = 30_000;

/**
 * How long the C harness polls for one delivery before it returns -ETIMEDOUT: `TIMEOUT_NS` in
 * native/tsvmm_bench.c, repeated here for the messages that name it.
 */
export const HARNESS_DEADLINE_MS = 1000;

export interface NativeBench {
  readonly library: string;
  /**
   * Fills `out` with signal → IRR latencies (ns) of `out.length` rounds; returns 0, or a negative
   * errno: -ETIMEDOUT when one delivery did not show within {@link HARNESS_DEADLINE_MS}.
   */
  measureSignalToIrr(eventFd: number, vcpuFd: number, vector: number, out: Float64Array): number;
  startRelay(vmFd: number, addressLo: number, addressHi: number, data: number): NativeRelay;
}

export interface NativeRelay extends Disposable {
  readonly eventFd: number;
  /** The errno that stopped the relay thread, or 0. */
  error(): number;
  injected(): number;
  dispose(): void;
}

/** Why the C floors cannot run here (a sentence), thrown as an Error with this name. */
export class NativeUnavailable extends Error {
  override readonly name = 'NativeUnavailable';
}

/**
 * This user's cache directory under `root` (mode 0700). The bench dlopens what it finds there, often as
 * root, and the name is predictable in a world-writable /tmp: a directory someone else owns or can
 * write to could hold a planted library, so it is refused rather than trusted.
 */
function privateDir(root: string, name: string): string {
  const uid = process.getuid?.() ?? 0;
  const dir = path.join(root, `${name}-u${uid}`);
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST') throw new NativeUnavailable(`cannot create the cache directory for the C floors in ${describeTempDir(root)}: ${errnoText(e)}`);
  }
  const st = fs.lstatSync(dir);
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) {
    throw new NativeUnavailable(
      `${dir} is not a private directory of this user (a symlink, another owner, or group/world-writable), so no library is loaded from it: remove it and run again`,
    );
  }
  return dir;
}

/** The compiler exited with an error: `stderr` is what it printed (its exit status when it printed nothing). */
class CompilerFailed extends Error {
  constructor(readonly stderr: string) {
    super(stderr);
  }
}

/**
 * Runs the compiler in its own process group, so that at the deadline it is killed together with
 * everything it started (cc1, as, ld: killing only the driver would leave a stuck cc1 behind).
 * Rejects with {@link Stalled} at the deadline, with the spawn error (ENOENT: no compiler), or
 * with {@link CompilerFailed}.
 */
function runCompiler(compiler: string, args: readonly string[], deadlineMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(compiler, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    const stderr: Buffer[] = [];
    child.stderr.on('data', (b: Buffer) => void stderr.push(b));
    let done = false;
    const finish = (settle: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      settle();
    };
    const timer = setTimeout(() => {
      finish(() => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          child.kill('SIGKILL'); // the group is gone already: at least the driver
        }
        // Not waiting for 'close': a process of the group that is slow to die must not hold the bench.
        child.stderr.destroy();
        reject(new Stalled(`\`${compiler}\` to build ${SOURCE}`, deadlineMs));
      });
    }, deadlineMs);
    child.on('error', (e) => finish(() => reject(e)));
    child.on('close', (code, signal) =>
      finish(() => (code === 0 ? resolve() : reject(new CompilerFailed(Buffer.concat(stderr).toString().trim() || `it exited with ${code ?? signal}`)))),
    );
  });
}

async function compile(cacheRoot: string, compiler: string, deadlineMs: number): Promise<string> {
  const source = fs.readFileSync(SOURCE);
  const key = createHash('sha256').update(source).update(FLAGS.join(' ')).update(process.arch).digest('hex').slice(0, 16);
  const dir = privateDir(cacheRoot, `tsvmm-native-${key}`);
  const lib = path.join(dir, 'libtsvmm_bench.so');
  if (fs.existsSync(lib)) return lib;
  const tmp = `${lib}.${process.pid}.tmp`;
  try {
    await runCompiler(compiler, [...FLAGS, '-o', tmp, SOURCE], deadlineMs);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    if (e instanceof Stalled) throw e;
    if (e instanceof CompilerFailed) throw new NativeUnavailable(`${compiler} failed to build ${SOURCE}: ${e.stderr}`);
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new NativeUnavailable(`no C compiler: \`${compiler}\` is not on PATH (install gcc) so the C floors cannot be built`);
    throw new NativeUnavailable(`${compiler} could not be started to build ${SOURCE}: ${err.message}`);
  }
  fs.renameSync(tmp, lib); // atomic: a concurrent run never loads a half-written library
  return lib;
}

const loaded = new Map<string, NativeBench>();

export interface NativeBenchOptions {
  /** Where the compiled library is cached. Default: the temp directory. */
  readonly cacheRoot?: string;
  /** The C compiler. Default: `$CC`, else `cc`. */
  readonly compiler?: string;
  /** How long the compiler may run, in ms, before it is killed. Default {@link COMPILE_DEADLINE_MS}. */
  readonly compileDeadlineMs?: number;
}

/**
 * Compiles (once per source version) and loads the C floors. Rejects with {@link NativeUnavailable}
 * when they cannot be built or loaded here (no compiler, a compile error, not Linux, an unsafe
 * cache directory), and with {@link Stalled} when the compiler outlives its deadline (it is killed).
 */
export async function loadNativeBench(options: NativeBenchOptions = {}): Promise<NativeBench> {
  if (process.platform !== 'linux') throw new NativeUnavailable(`the C floors are Linux-only (this host runs ${process.platform})`);
  const library = await compile(options.cacheRoot ?? tempRoot().dir, options.compiler ?? process.env.CC ?? 'cc', options.compileDeadlineMs ?? COMPILE_DEADLINE_MS);
  const done = loaded.get(library);
  if (done) return done;
  let lib: LoadedLibrary<typeof PROTOTYPES, Record<never, string>>['functions'];
  try {
    lib = loadLibrary({ path: library, required: PROTOTYPES }).functions;
  } catch (e) {
    if (e instanceof LibraryLoadError) throw new NativeUnavailable(e.message);
    throw e;
  }
  const version = lib.version as () => number;
  if (version() !== ABI_VERSION) throw new NativeUnavailable(`${library} has ABI ${version()}, expected ${ABI_VERSION}`);
  const measure = lib.measure as (efd: number, vcpufd: number, vector: number, iterations: number, out: Float64Array) => number;
  const start = lib.start as (vmfd: number, lo: number, hi: number, data: number, err: Int32Array) => unknown;
  const relayEventFd = lib.relayEventFd as (r: unknown) => number;
  const relayError = lib.relayError as (r: unknown) => number;
  const relayInjected = lib.relayInjected as (r: unknown) => number;
  const relayStop = lib.relayStop as (r: unknown) => void;

  const bench: NativeBench = {
    library,
    measureSignalToIrr: (efd, vcpufd, vector, out) => measure(efd, vcpufd, vector, out.length, out),
    startRelay(vmFd, lo, hi, data) {
      const err = new Int32Array(1);
      const handle = start(vmFd, lo >>> 0, hi >>> 0, data >>> 0, err);
      if (handle === null) throw new NativeUnavailable(`the C relay could not start (${systemErrorName(err[0] ?? 0)})`);
      let open = true;
      const relay: NativeRelay = {
        eventFd: relayEventFd(handle),
        error: () => (open ? relayError(handle) : 0),
        injected: () => (open ? relayInjected(handle) : 0),
        dispose() {
          if (!open) return;
          open = false;
          relayStop(handle);
        },
        [Symbol.dispose]() {
          relay.dispose();
        },
      };
      return relay;
    },
  };
  loaded.set(library, bench);
  return bench;
}
