/**
 * Temporary directories and files the demo and the bench make for themselves (the file a scene
 * reads, the model device's sysfs tree). Where they go is the host's choice (`TMPDIR`), not a bug:
 * a directory that cannot be used there is a {@link TempUnavailable} naming the directory, the
 * variable that chose it and the errno, so the scene or section says it could not run and why,
 * and everything else still runs.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Why a temporary directory or file cannot be made here: one sentence for people. */
export class TempUnavailable extends Error {
  override readonly name = 'TempUnavailable';
}

/**
 * The temp directory and the variable it came from, by Node's rule for `os.tmpdir()` on POSIX
 * (lib/os.js): TMPDIR, then TMP, then TEMP, else /tmp, a trailing slash dropped. Read from
 * `process.env` at each call, so what is reported is what was used. On Windows, `os.tmpdir()`.
 */
export function tempRoot(): { readonly dir: string; readonly from: string | undefined } {
  if (process.platform === 'win32') return { dir: tmpdir(), from: undefined };
  for (const from of ['TMPDIR', 'TMP', 'TEMP']) {
    const dir = process.env[from];
    if (dir !== undefined && dir !== '') return { dir: dir.length > 1 && dir.endsWith('/') ? dir.slice(0, -1) : dir, from };
  }
  return { dir: '/tmp', from: undefined };
}

/** `dir`, with the variable that chose it when it is the temp directory: `/x (TMPDIR)`. */
export function describeTempDir(dir: string): string {
  const root = tempRoot();
  return dir === root.dir && root.from !== undefined ? `${dir} (${root.from})` : dir;
}

/** The errno and the system's words for it (`ENOTDIR: not a directory`), without the call and path Node appends. */
export function errnoText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.code === 'string') {
    const words = /^E[A-Z0-9]+: ([^,]+)/.exec(String(err.message))?.[1];
    return words !== undefined ? `${err.code}: ${words}` : err.code;
  }
  return e instanceof Error ? e.message : String(e);
}

/** The advice that goes with every {@link TempUnavailable}. */
const ADVICE = 'set TMPDIR to a writable directory';

/**
 * A new private directory under the temp directory, named `<prefix>XXXXXX`. Throws
 * {@link TempUnavailable} (e.g. TMPDIR missing, a file, read-only, full) with nothing left behind.
 */
export function makeTempDirectory(prefix: string): string {
  const root = tempRoot();
  try {
    return mkdtempSync(join(root.dir, prefix));
  } catch (e) {
    throw new TempUnavailable(`cannot create a temporary directory in ${describeTempDir(root.dir)}: ${errnoText(e)}; ${ADVICE}`);
  }
}

/** A temporary file holding known bytes, open for reading; disposing closes it and removes its directory. */
export interface TempFile extends Disposable {
  /** The file's path. */
  readonly path: string;
  /** A read-only descriptor of it (close-on-exec, as Node opens every file). */
  readonly fd: number;
}

/**
 * `content` written to `<temp dir>/<prefix>XXXXXX/<name>` and opened for reading. Throws
 * {@link TempUnavailable} when the directory cannot be made or the file cannot be written or
 * opened (ENOSPC, EDQUOT...); the directory is removed again before it throws.
 */
export function makeTempFile(prefix: string, name: string, content: Uint8Array): TempFile {
  const dir = makeTempDirectory(prefix);
  const file = join(dir, name);
  let fd: number;
  try {
    writeFileSync(file, content);
    fd = openSync(file, 'r');
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new TempUnavailable(`cannot write a temporary file in ${dir}: ${errnoText(e)}; ${ADVICE}`);
  }
  let open = true;
  return {
    path: file,
    fd,
    [Symbol.dispose]: () => {
      if (!open) return;
      open = false;
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
