/**
 * An eventfd as a platform-neutral {@link Event}: close-on-exec, non-blocking, a 64-bit counter.
 */
import { type Event, disposedError } from '@tsvmm/virt';
import { EAGAIN } from './errno';
import { EFD_NONBLOCK } from './constants';
import { check, failure } from './check';
import { libcSyscalls } from './libc';
import type { Syscalls } from './syscalls';

/** The 64-bit little-endian 1 that every signal writes; the kernel only reads it. */
const ONE = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);

export class EventFd implements Event {
  readonly kind = 'eventfd' as const;
  readonly handle = undefined;
  readonly fd: number;
  private readonly sys: Syscalls;
  private readonly buf = new Uint8Array(8);
  private readonly view = new DataView(this.buf.buffer);
  private isDisposed = false;

  /** Creates a new eventfd (EFD_CLOEXEC | EFD_NONBLOCK). EMFILE etc. become typed errors. */
  constructor(sys: Syscalls = libcSyscalls(), operation = 'EventFd.create') {
    this.sys = sys;
    this.fd = check(sys.eventfd(0, EFD_NONBLOCK), operation, 'eventfd()');
  }

  get disposed(): boolean {
    return this.isDisposed;
  }

  /**
   * The fd the owner itself works on (KVM_IRQFD, MSHV_IRQFD, epoll): backends pass this, never
   * `fd`, to the kernel, so how the number handed out relates to it is decided here alone.
   */
  ownFd(): number {
    return this.fd;
  }

  signal(): void {
    if (this.isDisposed) throw disposedError('Event.signal', 'the eventfd');
    // The hot path of every emulated-device interrupt: one write(2), nothing built unless it fails.
    const r = this.sys.write(this.fd, ONE, 8);
    if (r < 0) throw failure(r, 'Event.signal', `write(eventfd ${this.fd})`);
  }

  /** Signals since the last consume (0 when none, or when a kernel irqfd drained them). */
  consume(): number {
    if (this.isDisposed) return 0;
    const r = this.sys.read(this.fd, this.buf, 8);
    if (r === -EAGAIN) return 0;
    if (r < 0) throw failure(r, 'Event.consume', `read(eventfd ${this.fd})`);
    return this.view.getUint32(0, true) + this.view.getUint32(4, true) * 0x1_0000_0000;
  }

  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    // close() releases the fd even when it reports an error, so there is nothing to retry.
    this.sys.close(this.fd);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
