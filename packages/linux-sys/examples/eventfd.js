// An eventfd, a system call through the injectable layer with its failure as a typed error, and a
// failure injected for a test.
const { isVirtError } = require('@tsvmm/virt');
const { EBUSY, EventFd, O_RDWR, check, libcSyscalls } = require('@tsvmm/linux-sys');
const { FaultInjector } = require('@tsvmm/linux-sys/testing');

const e = new EventFd();          // eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), a @tsvmm/virt Event
e.signal();
e.signal();
console.log(`consumed ${e.consume()} signals, then ${e.consume()}`); // 2, then 0: non-blocking
e.dispose();

const sys = libcSyscalls();       // every call returns the result or -errno, never throws
try {
  check(sys.open('/dev/no-such-device', O_RDWR), 'example', 'open(/dev/no-such-device)'); // O_CLOEXEC is always added
} catch (err) {
  console.log(`open failed: ${isVirtError(err) ? `${err.code} ${err.errnoName}` : err}`); // UNAVAILABLE ENOENT
}

const faulty = new FaultInjector().fail('eventfd', EBUSY, { nth: 2 }); // for tests: the 2nd eventfd() fails
new EventFd(faulty).dispose();
try {
  new EventFd(faulty);
} catch (err) {
  console.log(`injected: ${isVirtError(err, 'BUSY') ? 'BUSY' : err}`);
}
