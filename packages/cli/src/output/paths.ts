/**
 * Output paths checked before a long run starts: a wrong path costs a second, not a whole run, and
 * fails as an OUTPUT error (exit 73) naming the path and why, never as a hypervisor failure.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliFailure } from '../cli/errors';
import { ExitCode } from '../cli/exit-codes';

/** The OUTPUT failure for `what` (e.g. `the report to out/`), with the system's reason. */
export function cannotWrite(command: string, what: string, e: unknown): CliFailure {
  const err = e as NodeJS.ErrnoException;
  const why = err.code && !err.message.includes(err.code) ? `${err.message} (${err.code})` : err.message;
  return new CliFailure(`tsvmm ${command}: cannot write ${what}: ${why}. Choose a path in a writable directory.`, ExitCode.OutputError);
}

/** Runs `fn`; any error becomes {@link cannotWrite}. */
export function writeOrFail<T>(command: string, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw cannotWrite(command, what, e);
  }
}

function errnoError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

/**
 * `mkdir -p` one level at a time. Node's own recursive mkdir retries forever on some paths that
 * cannot exist (`/proc/x`), so each missing level is created on its own and the first failure ends it.
 */
export function makeDirectory(dir: string): void {
  const missing: string[] = [];
  let p = path.resolve(dir);
  while (!fs.existsSync(p)) {
    missing.unshift(p);
    const up = path.dirname(p);
    if (up === p) break;
    p = up;
  }
  if (fs.existsSync(p) && !fs.statSync(p).isDirectory()) throw errnoError('ENOTDIR', `${p} is a file, not a directory`);
  for (const m of missing) fs.mkdirSync(m);
}

/** Creates and removes a file in `dir`: the only sure test that a file can be created there. */
function probeCreate(dir: string): void {
  const probe = path.join(dir, `.tsvmm-write-test-${process.pid}`);
  fs.closeSync(fs.openSync(probe, 'wx'));
  fs.rmSync(probe, { force: true });
}

/** A directory that will receive files: created if missing, and shown to accept a new file. */
export function prepareOutputDirectory(command: string, what: string, dir: string): void {
  writeOrFail(command, what, () => {
    makeDirectory(dir);
    probeCreate(dir);
  });
}

/** A file that will be written: its directory prepared, and the file itself not a directory and writable if it exists. */
export function prepareOutputFile(command: string, what: string, file: string): void {
  writeOrFail(command, what, () => {
    const dir = path.dirname(path.resolve(file));
    makeDirectory(dir);
    if (fs.existsSync(file)) {
      if (fs.statSync(file).isDirectory()) throw errnoError('EISDIR', `${file} is a directory`);
      fs.accessSync(file, fs.constants.W_OK);
    } else {
      probeCreate(dir);
    }
  });
}
