// A file read whose completion the kernel signals on an eventfd (Linux AIO, IOCB_FLAG_RESFD). Hand it
// an irqfd route's event (`route.event`) instead, and the completion raises the guest's interrupt
// with no write from user space.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { AioContext, EventFd } = require('@tsvmm/linux-sys');

function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvmm-aio-example-'));
  const file = path.join(dir, 'data');
  fs.writeFileSync(file, 'hello from the page cache\n');
  const fd = fs.openSync(file, 'r');
  const done = new EventFd();
  const aio = AioContext.create({ capacity: 4, maxReadBytes: 4096 }); // io_setup(4)
  try {
    const id = aio.submitRead({ fd, length: 64, completion: done }); // io_submit, IOCB_FLAG_RESFD
    const [c] = aio.getEvents({ min: 1, timeoutMs: 5000 }); // io_getevents: never waits longer than asked
    console.log(`read ${c.id === id ? id : '?'}: ${c.result} bytes, ${JSON.stringify(Buffer.from(c.data).toString())}`);
    console.log(`completions signalled on the eventfd: ${done.consume()}`);
  } finally {
    aio.dispose(); // io_destroy
    done.dispose();
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = { main };

if (require.main === module) main();
