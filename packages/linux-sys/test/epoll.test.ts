import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { RelayRouteTable } from '@tsvmm/virt/implement';
import { EMFILE, ENFILE, ENODEV, EPOLLIN, EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_EVENT, EpollRelayPlatform, EventFd, libcSyscalls } from '../src';
import { isVirtError } from '@tsvmm/virt';
import { encodeStruct } from '@tsvmm/ffi';
import { FaultInjector, REC_COUNT, REC_DATA, recordingInjectorSpec } from '../src/testing';
import { relaysStoppedAfterEach } from './support/epoll-relay';

const openFds = (): number => readdirSync('/proc/self/fd').length;
const threads = (): string[] => readdirSync('/proc/self/task');
/** `/proc/<tid>/syscall`: the system call a thread is blocked in, with its arguments (or `running`). */
const syscallOf = (tid: string): string[] => readFileSync(`/proc/self/task/${tid}/syscall`, 'utf8').trim().split(' ');
const SYS_EPOLL_WAIT = ['232', '281']; // epoll_wait, epoll_pwait (x86_64)

describe('epoll system calls', () => {
  it('reports a signalled eventfd with its data', () => {
    const sys = libcSyscalls();
    const ep = sys.epollCreate();
    expect(ep).toBeGreaterThanOrEqual(0);
    const e = new EventFd();
    const ev = new Uint8Array(EPOLL_EVENT.size);
    const view = new DataView(ev.buffer);
    encodeStruct(EPOLL_EVENT, view, 0, { events: EPOLLIN, data: 0x1234_0000_0007n });
    expect(sys.epollCtl(ep, EPOLL_CTL_ADD, e.fd, ev)).toBe(0);
    const out = new Uint8Array(EPOLL_EVENT.size * 4);
    expect(sys.epollWait(ep, out, 4, 0)).toBe(0);
    e.signal();
    expect(sys.epollWait(ep, out, 4, 0)).toBe(1);
    expect(new DataView(out.buffer).getBigUint64(EPOLL_EVENT.fields.data.offset, true)).toBe(0x1234_0000_0007n);
    expect(sys.epollCtl(ep, EPOLL_CTL_DEL, e.fd, null)).toBe(0);
    expect(sys.epollWait(ep, out, 4, 0)).toBe(0);
    e.dispose();
    expect(sys.close(ep)).toBe(0);
  });
});

describe('EpollRelayPlatform (one worker thread, injecting in the worker)', () => {
  const MSI = 0xfee00000;

  // Node releases a worker's own fds after it exits: wait for that, so fd counts start clean.
  const relays = relaysStoppedAfterEach();

  function makeRelay(sys = libcSyscalls(), maxRoutes = 64) {
    const main = { count: 0 };
    const relay = relays.recording(maxRoutes, () => (main.count++, true), sys);
    return { ...relay, main };
  }

  it('delivers signals of armed routes in the worker, latches while masked, and settles', async () => {
    const { irqfd, worker, main, signalled } = makeRelay();
    try {
      const a = irqfd.newIrqFdRoute();
      const b = irqfd.newIrqFdRoute();
      a.setMsi(MSI, 0x41);
      b.setMsi(MSI, 0x42);
      a.unmask();
      expect(await signalled(a)).toBe(1);
      expect(Atomics.load(worker, REC_DATA)).toBe(0x41);
      expect(main.count).toBe(0);
      // b is masked: its signal latches, nothing is injected, consumePending reports it once.
      expect(await signalled(b)).toBe(1);
      expect(b.consumePending()).toBe(true);
      expect(b.consumePending()).toBe(false);
      // mask -> signal -> unmask: the latched signal is delivered once, by unmask on this thread.
      a.mask();
      expect(await signalled(a)).toBe(1);
      a.unmask();
      await irqfd.settle();
      expect(main.count).toBe(1);
      expect(Atomics.load(worker, REC_COUNT)).toBe(1);
      // Many signals on many routes: every one handled before settle resolves.
      const routes = Array.from({ length: 32 }, (_, i) => {
        const r = irqfd.newIrqFdRoute();
        r.setMsi(MSI, 0x50 + i);
        r.unmask();
        return r;
      });
      for (const r of routes) r.event.signal();
      await irqfd.settle();
      expect(Atomics.load(worker, REC_COUNT)).toBe(33);
      expect(main.count).toBe(1);
    } finally {
      irqfd.dispose();
    }
  });

  it('dispose joins the worker and closes every fd; settle after dispose resolves', async () => {
    const baseline = openFds();
    const { irqfd, platform } = makeRelay();
    const r = irqfd.newIrqFdRoute();
    r.setMsi(MSI, 0x41);
    r.unmask();
    await irqfd.settle();
    expect(openFds()).toBeGreaterThan(baseline);
    irqfd.dispose();
    irqfd.dispose();
    await platform.whenClosed();
    expect(openFds()).toBe(baseline);
    await expect(irqfd.settle()).resolves.toBeUndefined();
  });

  it('a failing epoll_ctl while arming leaves the route unarmed with a typed error', async () => {
    const sys = new FaultInjector();
    const { irqfd, worker, main, signalled } = makeRelay(sys);
    try {
      const r = irqfd.newIrqFdRoute();
      r.setMsi(MSI, 0x41);
      sys.fail('epoll_ctl', 28 /* ENOSPC */);
      expect(() => r.unmask()).toThrow(expect.objectContaining({ code: 'SYSCALL', errnoName: 'ENOSPC' }));
      expect(r.masked).toBe(true);
      expect(await signalled(r)).toBe(0);
      expect(main.count).toBe(0);
      r.unmask();
      await irqfd.settle();
      expect(main.count).toBe(1); // the latched signal, delivered once at unmask
      expect(Atomics.load(worker, REC_COUNT)).toBe(0);
      expect(await signalled(r)).toBe(1);
    } finally {
      irqfd.dispose();
    }
  });

  it('one worker thread waits for every route, blocked in epoll_wait with no timeout', async () => {
    const before = new Set(threads());
    const { irqfd, worker } = makeRelay(libcSyscalls(), 600);
    try {
      await irqfd.settle();
      const started = threads().filter((t) => !before.has(t));
      // More routes than one epoll_wait returns (256): all armed, all signalled, all handled by settle.
      const routes = Array.from({ length: 600 }, (_, i) => {
        const r = irqfd.newIrqFdRoute();
        r.setMsi(MSI, 0x20 + (i % 200));
        r.unmask();
        return r;
      });
      for (const r of routes) r.event.signal();
      await irqfd.settle();
      expect(Atomics.load(worker, REC_COUNT)).toBe(600);
      expect(routes.filter((r) => r.consumePending())).toEqual([]);
      // Arming 600 routes started no thread.
      expect(threads().filter((t) => !before.has(t)).sort()).toEqual(started.sort());
      // The waiter sleeps in epoll_wait(epfd, events, n, -1) on an epoll fd: no polling interval.
      // It goes back there right after acknowledging settle; wait until it has.
      let waiting: string[][] = [];
      for (let i = 0; i < 1000 && waiting.length === 0; i++) {
        waiting = started.map(syscallOf).filter((c) => SYS_EPOLL_WAIT.includes(c[0]!));
        if (waiting.length === 0) await new Promise((r) => setTimeout(r, 5));
      }
      expect(waiting).toHaveLength(1);
      const [, epfd, , , timeout] = waiting[0]!;
      expect(readlinkSync(`/proc/self/fd/${Number(epfd)}`)).toBe('anon_inode:[eventpoll]');
      expect(BigInt(timeout!) & 0xffffffffn).toBe(0xffffffffn); // (int)-1: blocks until an fd is ready
    } finally {
      irqfd.dispose();
    }
  });

  it("a route whose eventfd its user closed: calls throw DISPOSED, dispose is safe, and a route reusing the fd number keeps delivering", async () => {
    const { irqfd, worker, signalled } = makeRelay();
    try {
      await irqfd.settle(); // the worker is up: it opens no more fds that could take the number
      const a = irqfd.newIrqFdRoute();
      a.setMsi(MSI, 0x41);
      a.unmask();
      const fd = a.event.fd!;
      a.event.dispose(); // wrong (the route owns it), but it must not break other routes
      expect(() => a.mask()).toThrow(expect.objectContaining({ code: 'DISPOSED', message: expect.stringMatching(/owns its event/) }));
      expect(() => a.consumePending()).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
      const b = irqfd.newIrqFdRoute();
      expect(b.event.fd).toBe(fd); // the kernel hands out the lowest free number
      b.setMsi(MSI, 0x42);
      b.unmask();
      expect(() => a.dispose()).not.toThrow();
      expect(await signalled(b)).toBe(1);
      expect(Atomics.load(worker, REC_DATA)).toBe(0x42);
      expect(irqfd.routeCount).toBe(1);
    } finally {
      irqfd.dispose();
    }
  });

  it.each([
    ['EMFILE', EMFILE, 'EXHAUSTED'],
    ['ENFILE', ENFILE, 'EXHAUSTED'],
    ['ENODEV', ENODEV, 'SYSCALL'],
  ])("a route's eventfd or its duplicate failing with %s is %s, with nothing left open", (name, errno, code) => {
    const sys = new FaultInjector(libcSyscalls());
    const table = new RelayRouteTable(4);
    const p = new EpollRelayPlatform(table, { sys, injector: recordingInjectorSpec(new SharedArrayBuffer(16)) });
    relays.track(p);
    try {
      for (const step of [0, 1]) {
        const before = openFds();
        sys.failStep(step, errno);
        let e: unknown;
        try {
          p.createEvent().dispose();
        } catch (err) {
          e = err;
        }
        sys.clearFaults();
        expect({ step, error: isVirtError(e) && [e.code, e.errnoName, e.operation] }).toEqual({ step, error: [code, name, 'IrqFd.newIrqFdRoute'] });
        expect(openFds()).toBe(before);
      }
    } finally {
      p.dispose();
    }
  });

  it('rejects events of another kind', () => {
    const table = new RelayRouteTable(4);
    const p = new EpollRelayPlatform(table, { injector: recordingInjectorSpec(new SharedArrayBuffer(16)) });
    relays.track(p);
    try {
      expect(() => p.watch(0, { kind: 'in-process', fd: undefined } as never)).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
    } finally {
      p.dispose();
    }
  });
});
