/**
 * The system calls VFIO needs beyond `Syscalls` of `@tsvmm/linux-sys`: positioned reads and
 * writes, the only way to reach a region of a device fd (config space, BARs, ROM) without mmap.
 */
import { loadLibrary } from '@tsvmm/ffi';
import { type Syscalls, libcFileName, libcSyscalls } from '@tsvmm/linux-sys';
import { checkMethods, describeValue, invalidArgument } from '@tsvmm/virt/implement';

/**
 * `Syscalls` plus pread/pwrite. Every method returns the kernel's result or `-errno`. Offsets are
 * byte offsets in the fd (a region's `offset` from VFIO_DEVICE_GET_REGION_INFO plus the offset inside
 * the region: at most 2^53 - 1 here, as vfio-pci's `index << 40` always is).
 */
export interface VfioSyscalls extends Syscalls {
  /** `pread(fd, buf, length, offset)`: bytes read into `buf` from its start, or -errno. */
  pread(fd: number, buf: Uint8Array, length: number, offset: number): number;
  /** `pwrite(fd, buf, length, offset)`: bytes of `buf` (from its start) written, or -errno. */
  pwrite(fd: number, buf: Uint8Array, length: number, offset: number): number;
  /** `fcntl(fd, F_DUPFD_CLOEXEC, 0)`: a second, close-on-exec number for the same open file, or -errno. Optional. */
  dup?(fd: number): number;
}

/** The members of `Syscalls` every implementation has (the others are optional there). */
const REQUIRED_CALLS = ['open', 'close', 'ioctl', 'read', 'write', 'eventfd', 'poll', 'epollCreate', 'epollCtl', 'epollWait'] as const;

/**
 * Throws INVALID_ARGUMENT unless `value` is a {@link VfioSyscalls} (every `Syscalls` method and
 * `pread`, `pwrite` as functions); returns it. `operation` and `name` (strings) label the error;
 * anything else there is itself INVALID_ARGUMENT.
 */
export function checkVfioSyscalls(operation: string, name: string, value: unknown): VfioSyscalls {
  if (typeof operation !== 'string') throw invalidArgument('checkVfioSyscalls', `operation must be the name of the operation checking (a string), got ${describeValue(operation)}`);
  if (typeof name !== 'string') throw invalidArgument('checkVfioSyscalls', `name must be the argument's name (a string), got ${describeValue(name)}`);
  return checkMethods<VfioSyscalls>(operation, name, value, [...REQUIRED_CALLS, 'pread', 'pwrite'], ['dup', 'sameFile', 'descriptorBudget']);
}

interface PositionedIo {
  pread: (fd: number, buf: Uint8Array, count: number, offset: number) => number;
  pwrite: (fd: number, buf: Uint8Array, count: number, offset: number) => number;
  errno: () => number;
}

/** The koffi prototypes of the two calls (`off_t` is 64-bit on x86_64, glibc and musl alike). */
const PROTOTYPES = Object.freeze({
  pread: 'long pread(int fd, void *buf, unsigned long count, long offset)',
  pwrite: 'long pwrite(int fd, void *buf, unsigned long count, long offset)',
});

let bound: PositionedIo | undefined;

function bind(): PositionedIo {
  if (bound) return bound;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const koffi = require('koffi') as { errno(): number };
  const lib = loadLibrary({ path: libcFileName(), required: PROTOTYPES }).functions;
  bound = {
    pread: lib.pread as PositionedIo['pread'],
    pwrite: lib.pwrite as PositionedIo['pwrite'],
    errno: () => koffi.errno(),
  };
  return bound;
}

let shared: VfioSyscalls | undefined;

/** The real system calls: `libcSyscalls()` of `@tsvmm/linux-sys` plus libc's pread and pwrite (koffi), one instance per thread. */
export function vfioSyscalls(): VfioSyscalls {
  if (shared) return shared;
  const base = libcSyscalls();
  const io = bind();
  const ret = (r: number): number => (r < 0 ? -io.errno() : r);
  const sys: VfioSyscalls = Object.freeze({
    open: (path: string, flags: number) => base.open(path, flags),
    close: (fd: number) => base.close(fd),
    ioctl: (fd: number, request: Parameters<Syscalls['ioctl']>[1], arg?: number | Uint8Array) => base.ioctl(fd, request, arg),
    read: (fd: number, buf: Uint8Array, length: number) => base.read(fd, buf, length),
    write: (fd: number, buf: Uint8Array, length: number) => base.write(fd, buf, length),
    eventfd: (initval: number, flags: number) => base.eventfd(initval, flags),
    poll: (fds: Uint8Array, nfds: number, timeoutMs: number) => base.poll(fds, nfds, timeoutMs),
    epollCreate: () => base.epollCreate(),
    epollCtl: (epfd: number, op: number, fd: number, event: Uint8Array | null) => base.epollCtl(epfd, op, fd, event),
    epollWait: (epfd: number, events: Uint8Array, maxEvents: number, timeoutMs: number) => base.epollWait(epfd, events, maxEvents, timeoutMs),
    dup: (fd: number) => base.dup!(fd),
    sameFile: (a: number, b: number) => base.sameFile!(a, b),
    descriptorBudget: () => base.descriptorBudget!(),
    pread: (fd: number, buf: Uint8Array, length: number, offset: number) => ret(io.pread(fd, buf, length, offset)),
    pwrite: (fd: number, buf: Uint8Array, length: number, offset: number) => ret(io.pwrite(fd, buf, length, offset)),
  });
  return (shared = sys);
}
