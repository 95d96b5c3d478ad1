import { AIO_CONSTANTS, EPOLL_EVENT, IOCB, IO_EVENT, POLLFD, TIMESPEC } from '../src';
import { describeCCheck } from '@tsvmm/ffi/testing';

describeCCheck('epoll_event and pollfd match the installed headers (compiled with cc)', { headers: ['sys/epoll.h', 'poll.h'], layouts: [EPOLL_EVENT, POLLFD], ioctls: [] });

describeCCheck('Linux AIO (struct iocb, struct io_event, struct timespec, IOCB_CMD_PREAD, IOCB_FLAG_RESFD, the system call numbers) matches the installed headers', {
  headers: ['linux/aio_abi.h', 'time.h', 'sys/syscall.h'],
  layouts: [IOCB, IO_EVENT, TIMESPEC],
  ioctls: [],
  constants: AIO_CONSTANTS,
});
