/**
 * An eventfd, a raw ioctl through the injectable system-call layer, and a failure injected for a test.
 */
import { isVirtError } from '@tsvmm/virt';
import { EBUSY, EventFd, O_RDWR, check, libcSyscalls } from '@tsvmm/linux-sys';
import { FaultInjector } from '@tsvmm/linux-sys/testing';

export function main(): void {
  // Close-on-exec and non-blocking; a platform-neutral @tsvmm/virt Event.
  using e = new EventFd();
  e.signal();
  e.signal();
  console.log(`eventfd ${e.fd > 2 ? 'open' : '?'}, consumed ${e.consume()} signals, then ${e.consume()}`);

  // Every call returns the kernel's result or -errno; check() turns -errno into a typed VirtError.
  const sys = libcSyscalls();
  try {
    check(sys.open('/dev/no-such-device', O_RDWR), 'example', 'open(/dev/no-such-device)');
  } catch (err) {
    console.log(`open failed: ${isVirtError(err) ? err.errnoName : 'other'}`);
  }

  // Tests wrap the system calls and fail the call they choose.
  const faulty = new FaultInjector().fail('eventfd', EBUSY);
  try {
    new EventFd(faulty);
  } catch (err) {
    console.log(`injected: ${isVirtError(err, 'BUSY') ? 'BUSY' : 'other'} error`);
  }
}

if (require.main === module) main();
