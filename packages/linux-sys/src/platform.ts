/**
 * Which hosts the Linux layer supports, and where their C library is. Supported: Linux on x86-64
 * with glibc or musl. Everything else is refused with a typed UNSUPPORTED error that names the
 * platform, before any native call: the layouts here are x86-64's (`struct epoll_event` is packed to
 * 12 bytes on x86-64 only, `arch/x86/include/uapi/asm/epollevent.h`... through `__EPOLL_PACKED` in
 * `include/uapi/linux/eventpoll.h`; 16 bytes elsewhere), and arm64 interrupt routing needs GICv3
 * ITS device IDs, a different capability rather than a layout change.
 */
import { VirtError } from '@tsvmm/virt';
import { processHostLibc } from './host-libc';

/** What the support decision depends on (the running process's values by default). */
export interface LinuxHost {
  /** `process.platform`. */
  readonly platform: string;
  /** `process.arch`. */
  readonly arch: string;
  /**
   * The C library family: `glibc` or `musl`. For the running process it is read from files, never
   * from `process.report` (whose report waits without a bound for every worker thread, so a worker
   * blocked in a native call would hang the caller): the dynamic loader named by the executable's
   * ELF PT_INTERP program header (glibc's `ld-linux-x86-64.so.2`, musl's `ld-musl-x86_64.so.1`),
   * else the C library mapped in `/proc/self/maps`, else glibc. Off Linux, where
   * {@link checkLinuxHost} refuses the host first, it is `glibc` without looking.
   */
  readonly libc: 'glibc' | 'musl';
}

/**
 * The running process as a {@link LinuxHost}. The C library is found once per process (a few small
 * reads of `/proc/self/exe`, or of `/proc/self/maps`) and remembered; no call waits on another thread.
 */
export function currentHost(): LinuxHost {
  return { platform: process.platform, arch: process.arch, libc: process.platform === 'linux' ? processHostLibc() : 'glibc' };
}

/**
 * Throws UNSUPPORTED, naming the platform, unless `host` is Linux on x86-64. `operation` names the
 * call that needed native code.
 */
export function checkLinuxHost(operation: string, host: LinuxHost = currentHost()): void {
  if (host.platform === 'linux' && host.arch === 'x64') return;
  throw new VirtError('UNSUPPORTED', {
    operation,
    detail: `this host is ${host.platform} on ${host.arch}; the Linux backends support Linux on x86-64 (glibc or musl) only`,
    hint:
      host.platform === 'linux'
        ? `${host.arch} needs its own ABI layouts and, on arm64, GICv3 ITS interrupt routing with device IDs; use the software backend here.`
        : 'Use the backend of this platform (WHP on Windows x64) or the software backend.',
  });
}

/**
 * The C library's file name on `host`: glibc's `libc.so.6`, or musl's `libc.musl-x86_64.so.1`
 * (musl has no `libc.so.6`; its libc is the dynamic loader itself).
 */
export function libcFileName(host: LinuxHost = currentHost()): string {
  checkLinuxHost('libc', host);
  return host.libc === 'musl' ? 'libc.musl-x86_64.so.1' : 'libc.so.6';
}
