export { IOCB, IO_EVENT, TIMESPEC, IOCB_CMD_PREAD, IOCB_FLAG_RESFD, SYS_io_setup, SYS_io_destroy, SYS_io_getevents, SYS_io_submit, AIO_CONSTANTS } from './abi';
export { libcAioCalls } from './calls';
export type { AioCalls } from './calls';
export { AioContext, AIO_MAX_CAPACITY, AIO_MAX_READ_BYTES, AIO_MAX_WAIT_MS } from './aio-context';
export type { AioCompletion, AioContextOptions, AioReadRequest } from './aio-context';
