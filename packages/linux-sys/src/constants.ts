/** Flag values from the x86_64 Linux UAPI (fcntl.h, eventfd.h, epoll.h, poll.h). */
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;

export const EFD_NONBLOCK = O_NONBLOCK;
export const EFD_CLOEXEC = O_CLOEXEC;

export const EPOLL_CLOEXEC = O_CLOEXEC;
export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const EPOLL_CTL_MOD = 3;
export const EPOLLIN = 0x001;
export const EPOLLERR = 0x008;
export const EPOLLHUP = 0x010;

export const POLLIN = 0x001;

/** fcntl(2) command: duplicate with close-on-exec set (fcntl.h). */
export const F_DUPFD_CLOEXEC = 1030;
/** kcmp(2) system call number on x86_64 (arch/x86/entry/syscalls/syscall_64.tbl) and its KCMP_FILE type (linux/kcmp.h). */
export const SYS_KCMP = 312;
export const KCMP_FILE = 0;
