// Flag values from the x86_64 Linux UAPI (fcntl.h, eventfd.h, epoll.h, poll.h).
/** open(2): read only (`include/uapi/asm-generic/fcntl.h`). */
export const O_RDONLY = 0;
/** open(2): write only (`include/uapi/asm-generic/fcntl.h`). */
export const O_WRONLY = 1;
/** open(2): read and write, as device nodes such as `/dev/kvm` are opened (`include/uapi/asm-generic/fcntl.h`). */
export const O_RDWR = 2;
/** Non-blocking I/O, octal 04000 (`include/uapi/asm-generic/fcntl.h`). */
export const O_NONBLOCK = 0o4000;
/** Close the fd on exec, octal 02000000 (`include/uapi/asm-generic/fcntl.h`); {@link Syscalls.open} always adds it. */
export const O_CLOEXEC = 0o2000000;

/** eventfd(2): non-blocking reads (EAGAIN when the counter is 0); equals {@link O_NONBLOCK} (`include/linux/eventfd.h`). */
export const EFD_NONBLOCK = O_NONBLOCK;
/** eventfd(2): close on exec; equals {@link O_CLOEXEC} (`include/linux/eventfd.h`); {@link Syscalls.eventfd} always adds it. */
export const EFD_CLOEXEC = O_CLOEXEC;

/** epoll_create1(2): close on exec; equals {@link O_CLOEXEC} (`include/uapi/linux/eventpoll.h`). */
export const EPOLL_CLOEXEC = O_CLOEXEC;
/** epoll_ctl(2) op: add an fd to the set (`include/uapi/linux/eventpoll.h`). */
export const EPOLL_CTL_ADD = 1;
/** epoll_ctl(2) op: remove an fd from the set (`include/uapi/linux/eventpoll.h`). */
export const EPOLL_CTL_DEL = 2;
/** epoll_ctl(2) op: change the events or data of an fd in the set (`include/uapi/linux/eventpoll.h`). */
export const EPOLL_CTL_MOD = 3;
/** epoll event bit: readable (an eventfd whose counter is above 0) (`include/uapi/linux/eventpoll.h`). */
export const EPOLLIN = 0x001;
/** epoll event bit: error on the fd; always reported, never needs asking for (`include/uapi/linux/eventpoll.h`). */
export const EPOLLERR = 0x008;
/** epoll event bit: hang-up; always reported, never needs asking for (`include/uapi/linux/eventpoll.h`). */
export const EPOLLHUP = 0x010;

/** poll(2) event bit: readable (`include/uapi/asm-generic/poll.h`). */
export const POLLIN = 0x001;

/** fcntl(2) command: duplicate with close-on-exec set (fcntl.h). */
export const F_DUPFD_CLOEXEC = 1030;
/** kcmp(2) system call number on x86_64 (arch/x86/entry/syscalls/syscall_64.tbl) and its KCMP_FILE type (linux/kcmp.h). */
export const SYS_KCMP = 312;
/** kcmp(2) type: compare the `struct file` behind two fds (`include/uapi/linux/kcmp.h`). */
export const KCMP_FILE = 0;
