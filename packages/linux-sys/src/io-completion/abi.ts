/**
 * Linux AIO (`io_setup(2)`, `io_submit(2)`, `io_getevents(2)`, `io_destroy(2)`): the layouts and
 * numbers, defined once here and checked against the installed `linux/aio_abi.h`, `time.h` and
 * `sys/syscall.h` by the C layout check (test/c-abi-check.test.ts). x86-64 only, as the rest of
 * this package (see `checkLinuxHost`).
 */
import { defineStruct } from '@tsvmm/ffi';

/**
 * `struct iocb` (`include/uapi/linux/aio_abi.h`): 64 bytes. On little-endian hosts `aio_key`
 * precedes `aio_rw_flags`. With {@link IOCB_FLAG_RESFD} in `aio_flags`, the kernel adds 1 to the
 * eventfd `aio_resfd` when the request completes (`fs/aio.c`, `aio_complete` → `eventfd_signal`).
 */
export const IOCB = defineStruct(
  'struct iocb',
  {
    data: 'u64',
    key: 'u32',
    rwFlags: 'i32',
    opcode: { type: 'u16', c: 'aio_lio_opcode' },
    reqprio: 'u16',
    fildes: 'u32',
    buf: 'u64',
    nbytes: 'u64',
    offset: 'u64',
    reserved2: 'u64',
    flags: 'u32',
    resfd: 'u32',
  },
  { cPrefix: 'aio_' },
);

/**
 * `struct io_event` (`include/uapi/linux/aio_abi.h`): 32 bytes. `res` is the request's result
 * (bytes transferred, or -errno), a signed 64-bit value read here as its two's complement.
 */
export const IO_EVENT = defineStruct('struct io_event', {
  data: 'u64',
  obj: 'u64',
  res: 'u64',
  res2: 'u64',
});

/** `struct timespec` on x86-64 (`time.h`): 16 bytes, seconds then nanoseconds; io_getevents' timeout. */
export const TIMESPEC = defineStruct(
  'struct timespec',
  {
    sec: 'u64',
    nsec: 'u64',
  },
  { cPrefix: 'tv_' },
);

/** `aio_lio_opcode` of a positioned read, pread(2)-like (`include/uapi/linux/aio_abi.h`). */
export const IOCB_CMD_PREAD = 0;
/** `aio_flags` bit: signal the eventfd `aio_resfd` on completion (`include/uapi/linux/aio_abi.h`). */
export const IOCB_FLAG_RESFD = 1;

/** System call numbers on x86-64 (`arch/x86/entry/syscalls/syscall_64.tbl`, `__NR_*` in `sys/syscall.h`). */
export const SYS_io_setup = 206;
/** `io_destroy(2)` on x86-64. */
export const SYS_io_destroy = 207;
/** `io_getevents(2)` on x86-64. */
export const SYS_io_getevents = 208;
/** `io_submit(2)` on x86-64. */
export const SYS_io_submit = 209;

/** The constants above by their C names, for the C layout check. */
export const AIO_CONSTANTS: Readonly<Record<string, number>> = Object.freeze({
  IOCB_CMD_PREAD,
  IOCB_FLAG_RESFD,
  __NR_io_setup: SYS_io_setup,
  __NR_io_destroy: SYS_io_destroy,
  __NR_io_getevents: SYS_io_getevents,
  __NR_io_submit: SYS_io_submit,
});
