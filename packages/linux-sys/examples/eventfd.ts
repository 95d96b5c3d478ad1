/**
 * An eventfd, a raw ioctl through the injectable system-call layer, and a failure injected for a test.
 */
import { isVirtError } from '@tsvmm/virt';
import { EBUSY, EventFd, O_RDWR, check, kvm, libcSyscalls } from '@tsvmm/linux-sys';
import { FaultInjector } from '@tsvmm/linux-sys/testing';

export function main(): void {
  // Close-on-exec and non-blocking; a platform-neutral @tsvmm/virt Event.
  using e = new EventFd();
  e.signal();
  e.signal();
  console.log(`eventfd ${e.fd > 2 ? 'open' : '?'}, consumed ${e.consume()} signals, then ${e.consume()}`);

  // Every call returns the kernel's result or -errno; check() turns -errno into a typed VirtError.
  const sys = libcSyscalls();
  const fd = sys.open('/dev/kvm', O_RDWR);
  if (fd >= 0) {
    console.log(`KVM API version ${check(sys.ioctl(fd, kvm.KVM_GET_API_VERSION, 0), 'example', 'ioctl(KVM_GET_API_VERSION)')}`);
    sys.close(fd);
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
