/**
 * Fd ownership: no call of an event, a relay route or a relay platform ever reads, writes, polls
 * or closes a number that is no longer the route's own eventfd, whatever the user did with the
 * number handed to them.
 */
import { closeSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { type IrqFdRoute } from '@tsvmm/virt';
import type { RelayIrqFd } from '@tsvmm/virt/implement';
import { EFD_NONBLOCK, EPERM, EventFd, libcSyscalls } from '../src';
import { FaultInjector, REC_COUNT, REC_WORDS, recordingInjector } from '../src/testing';
import { relaysStoppedAfterEach } from './support/epoll-relay';

const sys = libcSyscalls();
const isOpen = (fd: number): boolean => {
  try {
    readlinkSync(`/proc/self/fd/${fd}`);
    return true;
  } catch {
    return false;
  }
};
/** Target fds of an epoll set (`tfd:` lines of its fdinfo). */
const epollTargets = (epfd: number): number[] =>
  [...readFileSync(`/proc/self/fdinfo/${epfd}`, 'utf8').matchAll(/tfd:\s+(\d+)/g)].map((m) => Number(m[1]));
/** eventfd-id of an fd (which open eventfd it is). */
const eventfdId = (fd: number): string | undefined => /eventfd-id:\s*(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];

/** A raw eventfd that is nobody's route: it must never be read, written, polled or closed by tsvmm. */
function victimAt(expected: number, count: number): { fd: number; check(): void } {
  const fd = sys.eventfd(0, EFD_NONBLOCK);
  expect(fd).toBe(expected); // the kernel hands out the lowest free number: the one just closed
  const one = new Uint8Array(8);
  new DataView(one.buffer).setBigUint64(0, BigInt(count), true);
  expect(sys.write(fd, one, 8)).toBe(8);
  const id = eventfdId(fd);
  return {
    fd,
    check() {
      expect(isOpen(fd)).toBe(true);
      expect(eventfdId(fd)).toBe(id);
      expect(/eventfd-count:\s*(\w+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1]).toBe(count.toString(16));
    },
  };
}

describe('EventFd: the number handed out is a duplicate the event never depends on', () => {
  it('fd and ownFd are distinct close-on-exec numbers of the same eventfd', () => {
    const e = new EventFd();
    try {
      expect(e.fd).not.toBe(e.ownFd());
      expect(e.duplicated).toBe(true);
      expect(eventfdId(e.fd)).toBe(eventfdId(e.ownFd()));
      for (const fd of [e.fd, e.ownFd()]) expect(parseInt(/flags:\s+(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8) & 0o2000000).toBe(0o2000000);
      e.signal();
      expect(e.consume()).toBe(1);
    } finally {
      e.dispose();
    }
  });

  it('after the user closes fd and the number is reused, signal/consume/dispose never touch the new file', () => {
    const before = readdirSync('/proc/self/fd').length;
    const e = new EventFd();
    const fd = e.fd;
    closeSync(fd);
    const victim = victimAt(fd, 5);
    e.signal();
    e.signal();
    expect(e.consume()).toBe(2);
    victim.check();
    e.dispose();
    e.dispose();
    victim.check();
    expect(isOpen(e.ownFd())).toBe(false);
    expect(sys.close(victim.fd)).toBe(0);
    expect(readdirSync('/proc/self/fd').length).toBe(before);
  });

  it('dispose closes both numbers when fd is still ours', () => {
    const before = readdirSync('/proc/self/fd').length;
    const e = new EventFd();
    expect(readdirSync('/proc/self/fd').length).toBe(before + 2);
    e.dispose();
    expect(readdirSync('/proc/self/fd').length).toBe(before);
  });

  it('when identity cannot be proven (kcmp refused), dispose leaves the handed-out number open', () => {
    const f = new FaultInjector();
    const e = new EventFd(f);
    f.fail('kcmp', EPERM);
    e.dispose();
    expect(isOpen(e.ownFd())).toBe(false);
    expect(isOpen(e.fd)).toBe(true); // not provably ours: left alone (documented)
    expect(sys.close(e.fd)).toBe(0);
  });

  it('a failing dup is a typed error and leaves nothing open', () => {
    const before = readdirSync('/proc/self/fd').length;
    const f = new FaultInjector().fail('dup', 24 /* EMFILE */);
    expect(() => new EventFd(f)).toThrow(expect.objectContaining({ code: 'SYSCALL', errnoName: 'EMFILE' }));
    expect(readdirSync('/proc/self/fd').length).toBe(before);
  });
});

describe('relay routes (EpollRelayPlatform) never act on a number they no longer own', () => {
  const MSI_A = 0xfee05000;
  const MSI_B = 0xfee07000;
  const relays = relaysStoppedAfterEach();

  /** A relay whose main-thread and worker injectors both record (address, data). */
  function makeRelay(f = new FaultInjector()) {
    const main: Array<[number, number]> = [];
    const count = recordingInjector(new SharedArrayBuffer(REC_WORDS * 4));
    const relay = relays.recording(16, (lo, hi, data) => (main.push([lo, data]), count(lo, hi, data)), f);
    return { ...relay, main, f };
  }

  /** Route `a`, armed with MSI_A vector 0xA7, whose handed-out number (`number`) the user has closed. */
  async function armedThenClosed(irqfd: RelayIrqFd): Promise<{ a: IrqFdRoute; number: number }> {
    await irqfd.settle();
    const a = irqfd.newIrqFdRoute();
    a.setMsi(MSI_A, 0xa7);
    a.unmask();
    const number = a.event.fd!;
    closeSync(number);
    return { a, number };
  }

  it('the reported scenario: closing a.event.fd, b takes the number; a.mask/unmask/dispose leave b alone', async () => {
    const { irqfd, worker, main, platform, signalled } = makeRelay();
    try {
      const { a, number } = await armedThenClosed(irqfd);
      const b = irqfd.newIrqFdRoute(); // b's own eventfd takes the freed number
      expect([b.event.fd, (b.event as EventFd).ownFd()]).toContain(number);
      b.setMsi(MSI_B, 0xc9);
      b.event.signal(); // latched in b (masked)
      a.mask();
      a.unmask();
      await irqfd.settle();
      expect(main).toEqual([]); // b's signal was not drained and delivered as vector 0xA7
      expect(Atomics.load(worker, REC_COUNT)).toBe(0);
      a.dispose();
      expect(isOpen(number)).toBe(true); // b's eventfd was not closed
      expect(epollTargets(platform.epollFileDescriptor)).not.toContain(number);
      b.unmask(); // b's latched signal, delivered once to b's message
      await irqfd.settle();
      expect(main).toEqual([[MSI_B, 0xc9]]);
      expect(await signalled(b)).toBe(1);
    } finally {
      irqfd.dispose();
    }
  });

  it('closing event.fd does not stop the route: it keeps delivering, and signal() never writes to the reused number', async () => {
    const { irqfd, signalled } = makeRelay();
    try {
      const { a } = await armedThenClosed(irqfd);
      const victim = victimAt(a.event.fd!, 3);
      expect(await signalled(a)).toBe(1);
      victim.check();
      sys.close(victim.fd);
    } finally {
      irqfd.dispose();
    }
  });

  const methods: Array<[string, (r: IrqFdRoute) => unknown]> = [
    ['setMsi', (r) => r.setMsi(MSI_B, 0x51)],
    ['clearMsi', (r) => r.clearMsi()],
    ['mask', (r) => r.mask()],
    ['unmask', (r) => r.unmask()],
    ['mask then unmask', (r) => (r.mask(), r.unmask())],
    ['consumePending', (r) => (r.mask(), r.consumePending())],
    ['onEventReplaced', (r) => r.onEventReplaced(() => undefined)()],
    ['event.signal', (r) => r.event.signal()],
    ['event.consume', (r) => r.event.consume()],
    ['dispose', (r) => r.dispose()],
  ];

  it.each(methods)('route.%s after the handed-out number is reused never touches the new file', async (_name, call) => {
    const { irqfd, f, platform } = makeRelay();
    try {
      const { a, number } = await armedThenClosed(irqfd);
      const victim = victimAt(number, 7);
      const mark = f.mark();
      call(a);
      await irqfd.settle();
      a.dispose();
      irqfd.dispose();
      await platform.whenClosed();
      victim.check();
      // No read, write or close on the number, and it never joined the epoll set.
      const touched = f.callsSince(mark).filter((c) => c.fd === number && c.call !== 'kcmp');
      expect(touched).toEqual([]);
      sys.close(victim.fd);
    } finally {
      irqfd.dispose();
    }
  });

  it('disposing the relay after users closed every handed-out number closes exactly its own fds', async () => {
    const before = readdirSync('/proc/self/fd').length;
    const { irqfd, platform } = makeRelay();
    const routes = Array.from({ length: 4 }, () => irqfd.newIrqFdRoute());
    for (const r of routes) closeSync(r.event.fd!);
    irqfd.dispose();
    await platform.whenClosed();
    expect(readdirSync('/proc/self/fd').length).toBe(before);
  });
});
