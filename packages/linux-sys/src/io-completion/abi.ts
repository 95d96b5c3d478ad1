/**
 * Linux AIO (`io_setup(2)`, `io_submit(2)`, `io_getevents(2)`, `io_destroy(2)`): the layouts and
 * numbers, defined once here and checked against the installed `linux/aio_abi.h`, `time.h` and
 * `sys/syscall.h` by the C layout check (test/c-abi-check.test.ts). x86-64 only, as the rest of
 * this package (see `checkLinuxHost`).
 */
import { defineLayout } from '@tsvmm/ffi';

/**
 * `struct iocb` (`include/uapi/linux/aio_abi.h`): 64 bytes. On little-endian hosts `aio_key`
 * precedes `aio_rw_flags`. With {@link IOCB_FLAG_RESFD} in `aio_flags`, the kernel adds 1 to the
 * eventfd `aio_resfd` when the request completes (`fs/aio.c`, `aio_complete` → `eventfd_signal`).
 */
export const IOCB = defineLayout('struct iocb', 64, {
  data: { offset: 0, type: 'u64', c: 'aio_data' },
  key: { offset: 8, type: 'u32', c: 'aio_key' },
  rwFlags: { offset: 12, type: 'i32', c: 'aio_rw_flags' },
  opcode: { offset: 16, type: 'u16', c: 'aio_lio_opcode' },
  reqprio: { offset: 18, type: 'u16', c: 'aio_reqprio' },
  fildes: { offset: 20, type: 'u32', c: 'aio_fildes' },
  buf: { offset: 24, type: 'u64', c: 'aio_buf' },
  nbytes: { offset: 32, type: 'u64', c: 'aio_nbytes' },
  offset: { offset: 40, type: 'u64', c: 'aio_offset' },
  reserved2: { offset: 48, type: 'u64', c: 'aio_reserved2' },
  flags: { offset: 56, type: 'u32', c: 'aio_flags' },
  resfd: { offset: 60, type: 'u32', c: 'aio_resfd' },
});

/**
 * `struct io_event` (`include/uapi/linux/aio_abi.h`): 32 bytes. `res` is the request's result
 * (bytes transferred, or -errno), a signed 64-bit value read here as its two's complement.
 */
export const IO_EVENT = defineLayout('struct io_event', 32, {
  data: { offset: 0, type: 'u64' },
  obj: { offset: 8, type: 'u64' },
  res: { offset: 16, type: 'u64' },
  res2: { offset: 24, type: 'u64' },
});

/** `struct timespec` on x86-64 (`time.h`): 16 bytes, seconds then nanoseconds; io_getevents' timeout. */
export const TIMESPEC = defineLayout('struct timespec', 16, {
  sec: { offset: 0, type: 'u64', c: 'tv_sec' },
  nsec: { offset: 8, type: 'u64', c: 'tv_nsec' },
});

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
