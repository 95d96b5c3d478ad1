/**
 * ioctl request numbers, encoded as Linux does on x86_64 (`asm-generic/ioctl.h`):
 * `dir << 30 | size << 16 | type << 8 | nr`; and the typed call of one ioctl through {@link Syscalls}.
 */
import type { Syscalls } from './syscalls';

/** Direction bits (31:30) of an ioctl with no argument buffer (`_IOC_NONE`). */
export const IOC_NONE = 0;
/** Direction bit: user space writes the argument, the kernel reads it (`_IOC_WRITE`). */
export const IOC_WRITE = 1;
/** Direction bit: the kernel writes the argument back to user space (`_IOC_READ`). */
export const IOC_READ = 2;

/** An ioctl with its name, so errors and fault injection can say which one. */
export interface IoctlDef {
  /** The C macro name, e.g. `KVM_IRQFD`: the C check compares `request` with it. */
  readonly name: string;
  /** The request number passed to ioctl(2), an unsigned 32-bit value (see {@link ioc}). */
  readonly request: number;
}

/**
 * The request number `dir << 30 | size << 16 | type << 8 | nr` (the C `_IOC` macro), as an unsigned
 * 32-bit number. `dir` is {@link IOC_NONE}, {@link IOC_WRITE}, {@link IOC_READ} or both; `type` the
 * subsystem's magic byte (`KVMIO` = 0xAE); `nr` the command number (8 bits); `size` the argument's
 * size in bytes. Throws RangeError when a field is not an integer or does not fit its bits (`dir`
 * 2, `size` 14, `type` and `nr` 8): a wrong definition fails when its module loads, not as a wrong
 * request number at the first call.
 */
export function ioc(dir: number, type: number, nr: number, size: number): number {
  field('direction', dir, 2);
  field('type', type, 8);
  field('number', nr, 8);
  field('argument size', size, 14);
  return ((dir << 30) | (size << 16) | (type << 8) | nr) >>> 0;
}

function field(what: string, value: unknown, bits: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= 2 ** bits) {
    throw new RangeError(`ioctl ${what} ${typeof value === 'number' ? value : typeof value} does not fit in ${bits} bits`);
  }
}

/** `_IO(type, nr)`: an ioctl without an argument buffer (e.g. `KVM_CREATE_VM` = `_IO(0xAE, 1)`). */
export const _IO = (type: number, nr: number): number => ioc(IOC_NONE, type, nr, 0);
/** `_IOR(type, nr, size)`: the kernel fills a `size`-byte argument (e.g. `KVM_GET_LAPIC`). */
export const _IOR = (type: number, nr: number, size: number): number => ioc(IOC_READ, type, nr, size);
/** `_IOW(type, nr, size)`: the kernel reads a `size`-byte argument (e.g. `KVM_IRQFD`, 32 bytes). */
export const _IOW = (type: number, nr: number, size: number): number => ioc(IOC_WRITE, type, nr, size);
/** `_IOWR(type, nr, size)`: the kernel reads the `size`-byte argument and writes it back. */
export const _IOWR = (type: number, nr: number, size: number): number => ioc(IOC_READ | IOC_WRITE, type, nr, size);

/**
 * A frozen {@link IoctlDef}: `name` is the C macro, `request` its number (from {@link _IOW} and
 * friends). Throws TypeError for an empty or non-string name, RangeError for a request that is not
 * an unsigned 32-bit integer.
 */
export function defineIoctl(name: string, request: number): IoctlDef {
  if (typeof name !== 'string' || name === '') throw new TypeError(`an ioctl's name must be its C macro, got ${typeof name === 'string' ? 'an empty string' : typeof name}`);
  if (typeof request !== 'number' || !Number.isInteger(request) || request < 0 || request > 0xffffffff) throw new RangeError(`ioctl ${name}: the request number ${typeof request === 'number' ? request : typeof request} is not an unsigned 32-bit integer`);
  return Object.freeze({ name, request });
}

/** A struct layout or anything else with a byte size, such as `defineLayout`'s result; or the size itself. */
export type IoctlArgSize =
  | number
  | {
      /** `sizeof` the argument struct, in bytes (below 2^14). */
      readonly size: number;
    };

/**
 * The ioctls of one subsystem, made by {@link ioctlFamily}: each method returns a frozen
 * {@link IoctlDef} named `name` whose request number has the family's type byte and command
 * number `base + nr`, with the argument's size taken from `arg` (a layout or a byte count).
 */
export interface IoctlFamily {
  /** `_IO(type, base + nr)`: no argument buffer. */
  io(name: string, nr: number): IoctlDef;
  /** `_IOR(type, base + nr, size)`: the kernel fills the argument. */
  ior(name: string, nr: number, arg: IoctlArgSize): IoctlDef;
  /** `_IOW(type, base + nr, size)`: the kernel reads the argument. */
  iow(name: string, nr: number, arg: IoctlArgSize): IoctlDef;
  /** `_IOWR(type, base + nr, size)`: the kernel reads the argument and writes it back. */
  iowr(name: string, nr: number, arg: IoctlArgSize): IoctlDef;
}

/**
 * The one way an ABI module spells its ioctls: `type` is the subsystem's magic byte (`KVMIO` 0xAE,
 * `MSHV_IOCTL` 0xB8, `VFIO_TYPE` 0x3B), `base` the number its commands count from (`VFIO_BASE`
 * 100, `IOMMUFD_CMD_BASE` 0x80; default 0). Throws RangeError as {@link ioc} does: at once for a
 * `type` or `base` that does not fit 8 bits, and per ioctl for a command number (itself, and with
 * `base` added) or an argument size that does not fit.
 */
export function ioctlFamily(type: number, base = 0): IoctlFamily {
  field('type', type, 8);
  field('command base', base, 8);
  const size = (name: string, arg: IoctlArgSize): number => {
    const bytes: unknown = typeof arg === 'number' ? arg : typeof arg === 'object' && arg !== null ? arg.size : undefined;
    if (bytes === undefined) throw new RangeError(`ioctl ${name}: its argument must be a layout or a byte count, got ${arg === null ? 'null' : typeof arg}`);
    return bytes as number;
  };
  // The command number itself is checked, not only base + nr: -50 from base 100 is no command.
  const number = (nr: number): number => (field('number', nr, 8), base + nr);
  return Object.freeze({
    io: (name: string, nr: number) => defineIoctl(name, _IO(type, number(nr))),
    ior: (name: string, nr: number, arg: IoctlArgSize) => defineIoctl(name, _IOR(type, number(nr), size(name, arg))),
    iow: (name: string, nr: number, arg: IoctlArgSize) => defineIoctl(name, _IOW(type, number(nr), size(name, arg))),
    iowr: (name: string, nr: number, arg: IoctlArgSize) => defineIoctl(name, _IOWR(type, number(nr), size(name, arg))),
  });
}

/**
 * The typed call of one ioctl, as a calls module spells it: `(sys, fd, arg)` issues `request` on
 * `fd` through `sys` and returns what the system call returned (its result, or `-errno`; a kernel
 * failure is never thrown). `A` is the argument: `number` for a value passed by value (a vCPU id,
 * a capability number), `Uint8Array` for the bytes of the struct the kernel reads or fills, laid
 * out by the request's layout. For an ioctl without an argument, {@link ioctlCallWithoutArg}.
 */
export function ioctlCall<A extends number | Uint8Array>(request: IoctlDef): (sys: Syscalls, fd: number, arg: A) => number {
  return (sys, fd, arg) => sys.ioctl(fd, request, arg);
}

/**
 * The typed call of an ioctl that takes no argument (`_IO`, such as `KVM_CREATE_IRQCHIP`):
 * `(sys, fd)` issues `request` with 0 as its argument (what the kernel reads, when it reads one at
 * all: `KVM_CREATE_VM` takes it as machine type 0) and returns the result or `-errno`.
 */
export function ioctlCallWithoutArg(request: IoctlDef): (sys: Syscalls, fd: number) => number {
  return (sys, fd) => sys.ioctl(fd, request, 0);
}
