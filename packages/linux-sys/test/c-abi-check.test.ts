import { AIO_CONSTANTS, EPOLL_EVENT, IOCB, IO_EVENT, POLLFD, TIMESPEC } from '../src';
import { generateCCheck, runCCheck } from '@tsvmm/ffi';

describe('ABI definitions match the installed kernel headers (compiled with cc)', () => {
  it('epoll_event and pollfd', () => {
    const check = generateCCheck({ headers: ['sys/epoll.h', 'poll.h'], layouts: [EPOLL_EVENT, POLLFD], ioctls: [] });
    expect(runCCheck(check)).toEqual(check.expected);
  });

  it('Linux AIO: struct iocb, struct io_event, struct timespec, IOCB_CMD_PREAD, IOCB_FLAG_RESFD and the system call numbers', () => {
    const check = generateCCheck({ headers: ['linux/aio_abi.h', 'time.h', 'sys/syscall.h'], layouts: [IOCB, IO_EVENT, TIMESPEC], ioctls: [], constants: AIO_CONSTANTS });
    expect(runCCheck(check)).toEqual(check.expected);
  });
});
