/**
 * Which C library the running process uses, found from files only: the dynamic loader named by the
 * executable's PT_INTERP program header, else the C library mapped into the process, else glibc.
 *
 * `process.report.getReport()` would say too (its header's `glibcVersionRuntime`), but a report
 * waits, without a bound, until every worker thread has answered, and a worker blocked in a native
 * call (the relay's epoll worker in epoll_wait, a WHP waiter, a user's own thread in a blocking
 * read) never answers: the caller would hang for good. Nothing here waits on another thread.
 *
 * Sources: the System V ABI's ELF format (`e_ident`, `e_phoff`, `e_phentsize`, `e_phnum`; program
 * header type PT_INTERP = 3, whose segment holds the NUL-terminated path of the program
 * interpreter); glibc names its loader `ld-linux-<arch>.so.N` (`ld-linux-x86-64.so.2` on x86-64;
 * `ld64.so.N` on some 64-bit architectures), musl `ld-musl-<arch>.so.1`, which is also musl's libc
 * (`libc.musl-<arch>.so.1` links to it); glibc's libc is `libc.so.6`.
 */
import * as fs from 'node:fs';

/** The C library families the Linux layer knows how to bind. */
export type HostLibc = 'glibc' | 'musl';

/**
 * Reads up to `length` bytes at byte `position` of a file or buffer: fewer at its end, none past
 * it. May throw; every caller here catches.
 */
export type ReadAt = (position: number, length: number) => Uint8Array;

const PT_INTERP = 3;
/** `e_phnum` value meaning "more than fit here"; the count is then elsewhere: not followed. */
const PN_XNUM = 0xffff;
/** Bounds on what is read: program header tables and loader paths are far smaller in practice. */
const MAX_PROGRAM_HEADER_BYTES = 64 * 1024;
const MAX_INTERPRETER_BYTES = 4096;
/** The most of /proc/self/maps scanned (a process has a few hundred to a few thousand lines). */
const MAX_MAPS_BYTES = 8 * 1024 * 1024;

/** A {@link ReadAt} over bytes already in memory. */
export function bufferReader(image: Uint8Array): ReadAt {
  return (position, length) => image.subarray(position, position + length);
}

/** An unsigned integer of `size` bytes at `offset`, or undefined when it is not inside `b` or not a safe integer. */
function unsigned(b: Uint8Array, offset: number, size: 2 | 4 | 8, littleEndian: boolean): number | undefined {
  if (offset < 0 || offset + size > b.length) return undefined;
  const v = new DataView(b.buffer, b.byteOffset + offset, size);
  if (size === 2) return v.getUint16(0, littleEndian);
  if (size === 4) return v.getUint32(0, littleEndian);
  const big = v.getBigUint64(0, littleEndian);
  return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : undefined;
}

/**
 * The program interpreter (dynamic loader) path an ELF file names in its PT_INTERP program header,
 * e.g. `/lib64/ld-linux-x86-64.so.2`; undefined for a file with no PT_INTERP (a static
 * executable), and for anything that is not a well-formed ELF file (32- or 64-bit, either byte
 * order). Reads the header, the program header table and the path only, each bounded. Never throws.
 */
export function elfInterpreter(read: ReadAt): string | undefined {
  try {
    const ident = read(0, 64);
    if (ident.length < 16 || ident[0] !== 0x7f || ident[1] !== 0x45 || ident[2] !== 0x4c || ident[3] !== 0x46) return undefined;
    const is64 = ident[4] === 2;
    if (!is64 && ident[4] !== 1) return undefined;
    const le = ident[5] === 1;
    if (!le && ident[5] !== 2) return undefined;
    const phoff = is64 ? unsigned(ident, 0x20, 8, le) : unsigned(ident, 0x1c, 4, le);
    const phentsize = unsigned(ident, is64 ? 0x36 : 0x2a, 2, le);
    const phnum = unsigned(ident, is64 ? 0x38 : 0x2c, 2, le);
    if (phoff === undefined || phentsize === undefined || phnum === undefined) return undefined;
    if (phoff === 0 || phnum === 0 || phnum === PN_XNUM || phentsize < (is64 ? 56 : 32)) return undefined;
    const tableBytes = phentsize * phnum;
    if (tableBytes > MAX_PROGRAM_HEADER_BYTES) return undefined;
    const table = read(phoff, tableBytes);
    if (table.length < tableBytes) return undefined;
    for (let i = 0; i < phnum; i++) {
      const at = i * phentsize;
      if (unsigned(table, at, 4, le) !== PT_INTERP) continue;
      const offset = is64 ? unsigned(table, at + 8, 8, le) : unsigned(table, at + 4, 4, le);
      const size = is64 ? unsigned(table, at + 32, 8, le) : unsigned(table, at + 16, 4, le);
      if (offset === undefined || size === undefined || size === 0 || size > MAX_INTERPRETER_BYTES) return undefined;
      const bytes = read(offset, size);
      if (bytes.length < size) return undefined;
      const end = bytes.indexOf(0);
      const path = Buffer.from(bytes.subarray(0, end < 0 ? bytes.length : end)).toString('latin1');
      return path === '' ? undefined : path;
    }
    return undefined;
  } catch {
    return undefined;
  }
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/**
 * The C library a dynamic loader path belongs to, by its file name: `ld-musl-*` is musl,
 * `ld-linux*` and `ld64.so*` are glibc; undefined for any other name.
 */
export function libcOfInterpreter(path: string): HostLibc | undefined {
  const name = baseName(path);
  if (name.startsWith('ld-musl-')) return 'musl';
  if (name.startsWith('ld-linux') || name.startsWith('ld64.so')) return 'glibc';
  return undefined;
}

/**
 * The C library mapped into a process, from the text of its `/proc/<pid>/maps`: musl when its
 * loader (`ld-musl-*`, `libc.musl-*`) is mapped, glibc when `libc.so.6` is; undefined otherwise.
 * musl wins because a musl process may map a `libc.so.6` compatibility shim, while a glibc process
 * cannot load musl's loader.
 */
export function libcOfMaps(maps: string): HostLibc | undefined {
  let glibc = false;
  for (const line of maps.split('\n')) {
    const slash = line.indexOf('/');
    if (slash < 0) continue;
    const name = baseName(line.slice(slash).trimEnd().replace(/ \(deleted\)$/, ''));
    if (name.startsWith('ld-musl-') || name.startsWith('libc.musl-')) return 'musl';
    if (name === 'libc.so.6') glibc = true;
  }
  return glibc ? 'glibc' : undefined;
}

/** A {@link ReadAt} over an open file descriptor (positioned reads, a fresh small buffer each). */
function fileReader(fd: number): ReadAt {
  return (position, length) => {
    const buf = Buffer.alloc(length);
    let n = 0;
    while (n < length) {
      const r = fs.readSync(fd, buf, n, length - n, position + n);
      if (r === 0) break;
      n += r;
    }
    return buf.subarray(0, n);
  };
}

/**
 * `read` on the file at `path`, opened read-only and non-blocking (a FIFO given by mistake cannot
 * hang the open; libuv adds O_CLOEXEC) and closed after; undefined when it cannot be opened or `read` throws.
 */
function withFile<T>(path: string, read: (fd: number) => T): T | undefined {
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    return read(fd);
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

/** {@link elfInterpreter} of the file at `path`; undefined when it cannot be opened or read. */
export function elfInterpreterOfFile(path: string): string | undefined {
  return withFile(path, (fd) => elfInterpreter(fileReader(fd)));
}

/** {@link libcOfMaps} of the maps file at `path`, read in chunks up to a bound; undefined when unreadable. */
function libcOfMapsFile(path: string): HostLibc | undefined {
  return withFile(path, (fd) => {
    const chunks: Buffer[] = [];
    let total = 0;
    while (total < MAX_MAPS_BYTES) {
      const chunk = Buffer.alloc(64 * 1024);
      // Sequential reads (position null): procfs files have no fixed size to seek within.
      const n = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
    }
    return libcOfMaps(Buffer.concat(chunks).toString('latin1'));
  });
}

/** Where {@link detectHostLibc} looks. */
export interface HostLibcSources {
  /** Executables whose PT_INTERP is read, in order, until one names a known loader. */
  readonly executables: readonly string[];
  /** The process's memory map. */
  readonly maps: string;
}

/** The running process: `/proc/self/exe`, then `process.execPath` (for a host without /proc), and `/proc/self/maps`. */
export const PROCESS_SOURCES: HostLibcSources = Object.freeze({ executables: Object.freeze(['/proc/self/exe', process.execPath]), maps: '/proc/self/maps' });

/**
 * The C library of the process the sources describe: by the loader its executable names
 * (PT_INTERP), else by the C library mapped into it, else glibc (the common case, and what a
 * static executable with nothing mapped is taken to be). Reads files only; never throws.
 */
export function detectHostLibc(sources: HostLibcSources = PROCESS_SOURCES): HostLibc {
  for (const exe of sources.executables) {
    const interp = elfInterpreterOfFile(exe);
    const libc = interp === undefined ? undefined : libcOfInterpreter(interp);
    if (libc !== undefined) return libc;
  }
  return libcOfMapsFile(sources.maps) ?? 'glibc';
}

let processLibc: HostLibc | undefined;

/** {@link detectHostLibc} of the running process, found once and then remembered. */
export function processHostLibc(): HostLibc {
  return (processLibc ??= detectHostLibc());
}
