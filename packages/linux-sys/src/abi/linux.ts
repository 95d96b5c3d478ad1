/** Generic Linux structs the syscall layer encodes. */
import { defineLayout } from '@tsvmm/ffi';

/** `struct epoll_event` is packed on x86_64: 12 bytes, `data` at offset 4. */
export const EPOLL_EVENT = defineLayout('struct epoll_event', 12, {
  events: { offset: 0, type: 'u32' },
  data: { offset: 4, type: 'u64', c: 'data.u64' },
});

/** `struct pollfd` (poll(2), `include/uapi/asm-generic/poll.h`): 8 bytes, `fd` i32, `events` and `revents` u16. */
export const POLLFD = defineLayout('struct pollfd', 8, {
  fd: { offset: 0, type: 'i32' },
  events: { offset: 4, type: 'u16' },
  revents: { offset: 6, type: 'u16' },
});
