/**
 * The epoll relay's worker: started from source text with its injector given as data, and every
 * way its creation can fail (each system call, a worker that cannot be created, fails to start or
 * never starts) is a typed error from the constructor with nothing left open.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { isVirtError } from '@tsvmm/virt';
import { type RelayIrqFd, RelayRouteTable, encodeMsiFields } from '@tsvmm/virt/implement';
import { defineLayout } from '@tsvmm/ffi';
import { EMFILE, ENOMEM, EpollRelayPlatform, type EpollRelayOptions, type InjectorSpec, _IOW, defineIoctl, ioctlInjector, libcFileName, libcSyscalls } from '../src';
import { epollWorkerSource } from '../src/relay/epoll-worker';
import { FaultInjector, REC_COUNT, REC_WORDS, recordingInjectorSpec } from '../src/testing';
import { epollRelay } from './support/epoll-relay';

const openFds = (): number => readdirSync('/proc/self/fd').length;
/** Node releases a terminated worker's own fds asynchronously: wait until the count is back. */
async function fdsBackTo(baseline: number): Promise<number> {
  for (let i = 0; i < 400 && openFds() !== baseline; i++) await new Promise((r) => setTimeout(r, 10));
  return openFds();
}
const record = (): InjectorSpec => recordingInjectorSpec(new SharedArrayBuffer(REC_WORDS * 4));
/** What creating a worker platform over 4 slots, its injector recording, with `options` throws. */
const platformError = (options: Omit<EpollRelayOptions, 'injector'>): unknown => caught(() => new EpollRelayPlatform(new RelayRouteTable(4), { injector: record(), ...options }));

/** A relay irqfd whose waiter is the epoll worker made with `options`. */
const workerIrqFd = (options: EpollRelayOptions, maxRoutes = 2): RelayIrqFd => epollRelay(options, maxRoutes).irqfd;

/** A new route armed with APIC 0 vector 0x41, signalled once. */
function armAndSignal(irqfd: RelayIrqFd): void {
  const r = irqfd.newIrqFdRoute();
  r.setMsi(0xfee00000, 0x41);
  r.unmask();
  r.event.signal();
}

/** One signal through a worker injecting with `injector`: slot 0's [delivered, failed] counts, the worker stopped. */
async function deliverOnce(injector: InjectorSpec): Promise<[number, number]> {
  const irqfd = workerIrqFd({ injector });
  armAndSignal(irqfd);
  await irqfd.settle();
  const out: [number, number] = [irqfd.table.delivered(0), irqfd.table.failed(0)];
  irqfd.dispose();
  await irqfd.whenClosed();
  return out;
}

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

// Written here from docs/interfaces/kvm.md ("ioctls", "Layouts"), not taken from the KVM backend: struct kvm_msi and its ioctl.
const KVM_MSI = defineLayout('struct kvm_msi', 32, {
  addressLo: { offset: 0, type: 'u32' },
  addressHi: { offset: 4, type: 'u32' },
  data: { offset: 8, type: 'u32' },
  flags: { offset: 12, type: 'u32' },
  devid: { offset: 16, type: 'u32' },
});
const kvm = { KVM_MSI_LAYOUT: KVM_MSI, KVM_SIGNAL_MSI: defineIoctl('KVM_SIGNAL_MSI', _IOW(0xae, 0xa5, 32)) };

describe('the injector is data', () => {
  it('ioctlInjector for KVM_SIGNAL_MSI: request and struct kvm_msi bytes as the kernel header lays them out', () => {
    const spec = ioctlInjector({ fd: 7, ioctl: kvm.KVM_SIGNAL_MSI, layout: kvm.KVM_MSI_LAYOUT, fields: { addressLo: 'addressLo', addressHi: 'addressHi', data: 'data' } });
    // docs/interfaces/kvm.md, "ioctls": KVM_SIGNAL_MSI = 0x4020AEA5 on the VM fd, a 32-byte struct kvm_msi.
    expect(spec).toMatchObject({ kind: 'ioctl', fd: 7, request: 0x4020aea5, size: 32, delivered: 'positive' });
    const bytes = new Uint8Array(spec.size);
    encodeMsiFields(new DataView(bytes.buffer), spec.fields, 0xfee01000, 0x00000100, 0x4041);
    const v = new DataView(bytes.buffer);
    // docs/interfaces/kvm.md, "Layouts": address_lo @0, address_hi @4, data @8, flags @12, devid @16, 12 bytes of padding.
    expect([v.getUint32(0, true), v.getUint32(4, true), v.getUint32(8, true)]).toEqual([0xfee01000, 0x100, 0x4041]);
    expect([...bytes.subarray(12)]).toEqual(new Array(20).fill(0));
  });

  it('malformed specs are INVALID_ARGUMENT from the constructor, before any fd is opened', () => {
    const table = new RelayRouteTable(2);
    const bad: unknown[] = [
      undefined,
      { kind: 'ioctl', fd: -1, request: 1, name: 'X', size: 8, fields: [{ offset: 0, type: 'u32', value: 'data' }], delivered: 'positive' },
      { kind: 'ioctl', fd: 3, request: 1, name: 'X', size: 8, fields: [{ offset: 6, type: 'u32', value: 'data' }], delivered: 'positive' },
      { kind: 'ioctl', fd: 3, request: 1, name: 'X', size: 8, fields: [], delivered: 'positive' },
      { kind: 'record', buffer: new ArrayBuffer(16) },
      { kind: 'script', code: 'x' },
    ];
    const f = new FaultInjector();
    for (const injector of bad) {
      const e = caught(() => new EpollRelayPlatform(table, { injector: injector as InjectorSpec, sys: f }));
      expect(isVirtError(e, 'INVALID_ARGUMENT')).toBe(true);
    }
    expect(f.log).toEqual([]);
  });

  it('the worker issues the given ioctl on the given fd (FIONREAD on a regular file succeeds; another request fails and is counted)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsvmm-'));
    const file = join(dir, 'f');
    writeFileSync(file, 'twelve bytes');
    const fd = openSync(file, 'r');
    try {
      for (const [request, name, delivered] of [
        [0x541b, 'FIONREAD', 1],
        [0x5401, 'TCGETS', 0],
      ] as const) {
        const injector: InjectorSpec = { kind: 'ioctl', fd, request, name, size: 8, fields: [{ offset: 4, type: 'u32', value: 'data' }], delivered: 'non-negative' };
        expect([name, ...(await deliverOnce(injector))]).toEqual([name, delivered, 1 - delivered]);
      }
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true });
    }
  });

  it('an input buffer: the worker allocates it at a fixed address, points the argument at it and fills it (SIOCETHTOOL reads the command through that pointer)', async () => {
    // struct ifreq (x86_64, 40 bytes): char ifr_name[16] @0, the union holding void *ifr_data @16.
    // The name "lo" as a little-endian u16: 'l' then 'o', then zeros.
    const IFREQ = defineLayout('struct ifreq', 40, { name: { offset: 0, type: 'u16' }, data: { offset: 16, type: 'u64' } });
    // struct ethtool_value: u32 cmd @0, u32 data @4.
    const ETHTOOL_VALUE = defineLayout('struct ethtool_value', 8, { cmd: { offset: 0, type: 'u32' }, data: { offset: 4, type: 'u32' } });
    const SIOCETHTOOL = defineIoctl('SIOCETHTOOL', 0x8946);
    const ETHTOOL_GLINK = 0x0a;
    const LO = 0x6f6c;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const koffi = require('koffi') as { load(p: string): { func(p: string): unknown } };
    const socket = koffi.load(libcFileName()).func('int socket(int domain, int type, int protocol)') as (d: number, t: number, p: number) => number;
    const fd = socket(2, 2, 0); // AF_INET, SOCK_DGRAM
    expect(fd).toBeGreaterThan(2);
    const spec = (cmd: number) =>
      ioctlInjector({ fd, ioctl: SIOCETHTOOL, layout: IFREQ, fields: { name: LO }, delivered: 'non-negative', input: { layout: ETHTOOL_VALUE, pointer: 'data', fields: { cmd } } });
    try {
      expect(spec(ETHTOOL_GLINK).input).toEqual({ size: 8, align: 8, pointer: 16, fields: [{ offset: 0, type: 'u32', value: ETHTOOL_GLINK }] });
      expect(await deliverOnce(spec(ETHTOOL_GLINK))).toEqual([1, 0]);
      // Controls: the kernel really reads the command through the pointer (an unknown one is
      // EOPNOTSUPP), and a pointer to nothing is EFAULT.
      expect(await deliverOnce(spec(0x7777))).toEqual([0, 1]);
      expect(await deliverOnce(ioctlInjector({ fd, ioctl: SIOCETHTOOL, layout: IFREQ, fields: { name: LO, data: 0x1000 }, delivered: 'non-negative' }))).toEqual([0, 1]);
    } finally {
      libcSyscalls().close(fd);
    }
  });

  it('input specs are checked: pointer inside the argument, not overlapping a field, a power-of-two alignment', () => {
    const field = { offset: 0, type: 'u32', value: 'data' } as const;
    const base = { kind: 'ioctl', fd: 3, request: 1, name: 'X', size: 16, fields: [field], delivered: 'non-negative' } as const;
    const input = { size: 8, align: 8, pointer: 8, fields: [field] };
    expect(() => new EpollRelayPlatform(new RelayRouteTable(2), { injector: { ...base, input: { ...input, pointer: 12 } }, sys: new FaultInjector() })).toThrow(/pointer/);
    expect(() => new EpollRelayPlatform(new RelayRouteTable(2), { injector: { ...base, input: { ...input, pointer: 0 } }, sys: new FaultInjector() })).toThrow(/overlaps the field at offset 0/);
    expect(() => new EpollRelayPlatform(new RelayRouteTable(2), { injector: { ...base, input: { ...input, align: 6 } }, sys: new FaultInjector() })).toThrow(/power of two/);
    expect(() => new EpollRelayPlatform(new RelayRouteTable(2), { injector: { ...base, retry: { errno: 11, attempts: 0 } }, sys: new FaultInjector() })).toThrow(/attempts/);
  });

  it('the worker needs no built file: its source is self-contained text', () => {
    const source = epollWorkerSource();
    expect(source).not.toMatch(/dist\/|\.js['"]|__dirname|require\(['"]@tsvmm/);
  });
});

describe('creation failures are typed, from the constructor, with nothing left open', () => {
  it.each([
    ['epoll_create1', EMFILE],
    ['eventfd', EMFILE],
    ['epoll_ctl', ENOMEM],
  ])('%s failing with errno %d', async (call, errno) => {
    const baseline = openFds();
    const f = new FaultInjector().fail(call, errno);
    const e = platformError({ sys: f });
    expect(isVirtError(e, 'SYSCALL')).toBe(true);
    expect((e as { errno?: number }).errno).toBe(errno);
    expect(openFds()).toBe(baseline);
    expect(f.count('close')).toBe(f.log.filter((r) => (r.call === 'epoll_create1' || r.call === 'eventfd') && r.result >= 0).length);
  });

  it('a worker that cannot be created (EMFILE) is a typed SYSCALL error', async () => {
    const baseline = openFds();
    const e = platformError({
      startWorker: () => {
        throw Object.assign(new Error('Worker initialization failure: EMFILE'), { code: 'ERR_WORKER_INIT_FAILED' });
      },
    });
    expect(isVirtError(e, 'SYSCALL')).toBe(true);
    expect((e as { errnoName?: string }).errnoName).toBe('EMFILE');
    expect(openFds()).toBe(baseline);
  });

  it('a worker that fails to start (it cannot load koffi) is a typed error with the reason', async () => {
    const baseline = openFds();
    const e = platformError({
      startWorker: (source, options) => new Worker(source, { ...options, workerData: { ...(options.workerData as object), koffiPath: '/nonexistent/koffi.js' } }),
    });
    expect(isVirtError(e, 'UNAVAILABLE')).toBe(true);
    expect((e as Error).message).toMatch(/could not start.*Cannot find module/);
    expect(await fdsBackTo(baseline)).toBe(baseline);
  });

  it('a worker that never starts: a typed error after startTimeoutMs, and it never touches the closed numbers if it starts late', async () => {
    const baseline = openFds();
    let late: Worker | undefined;
    const e = platformError({
      startTimeoutMs: 200,
      // Starts the real program only after the main thread has given up and closed its fds.
      startWorker: (source, options) => (late = new Worker(`setTimeout(() => { ${source} }, 600)`, options)),
    });
    expect(isVirtError(e, 'UNAVAILABLE')).toBe(true);
    expect((e as Error).message).toMatch(/did not start within 200 ms/);
    // The numbers it was given are free again: take them, signalled, and check nobody touched them.
    const sys = libcSyscalls();
    const victims = [sys.eventfd(0, 0), sys.eventfd(0, 0)];
    const one = new Uint8Array([3, 0, 0, 0, 0, 0, 0, 0]);
    for (const v of victims) expect(sys.write(v, one, 8)).toBe(8);
    // terminate() was requested; if the late program still ran, it saw the cancellation and left.
    await new Promise((r) => setTimeout(r, 800));
    for (const v of victims) expect(readFileSync(`/proc/self/fdinfo/${v}`, 'utf8')).toMatch(/eventfd-count:\s+3\b/);
    for (const v of victims) sys.close(v);
    expect(late).toBeDefined();
    expect(await fdsBackTo(baseline)).toBe(baseline);
  });

  it('RelayIrqFd with a platform that cannot start: typed error, nothing left open', async () => {
    const baseline = openFds();
    const f = new FaultInjector().fail('eventfd', EMFILE);
    const e = caught(() => workerIrqFd({ injector: record(), sys: f }, 4));
    expect(isVirtError(e, 'SYSCALL')).toBe(true);
    expect(openFds()).toBe(baseline);
  });
});

describe('dispose is bounded', () => {
  it('a worker stuck inside an injection: dispose returns after stopTimeoutMs and closes every fd', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsvmm-'));
    const file = join(dir, 'f');
    writeFileSync(file, 'twelve bytes');
    const fd = openSync(file, 'r');
    const injector: InjectorSpec = { kind: 'ioctl', fd, request: 0x541b, name: 'FIONREAD', size: 8, fields: [{ offset: 4, type: 'u32', value: 'data' }], delivered: 'non-negative' };
    // The worker's encoder blocks its thread for 3 s inside the injection (as a hung hypervisor call would).
    const stuck = (source: string): string => source.replace(encodeMsiFields.toString(), '(() => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000); })');
    expect(stuck(epollWorkerSource())).not.toBe(epollWorkerSource());
    const baseline = openFds();
    const { irqfd, platform: p } = epollRelay({ injector, stopTimeoutMs: 100, startWorker: (source, options) => new Worker(stuck(source), options) }, 2);
    armAndSignal(irqfd);
    // Wait until the worker is inside the injection (it holds slot 0's lock).
    const view = new Int32Array(irqfd.table.buffer);
    for (let i = 0; i < 500 && Atomics.load(view, 0) === 0; i++) await new Promise((res) => setTimeout(res, 5));
    expect(Atomics.load(view, 0)).toBe(1);
    Atomics.store(view, 0, 0); // let dispose take the slot lock (the stuck worker holds it)
    p.dispose();
    expect(p.disposed).toBe(true);
    irqfd.dispose();
    await p.whenClosed();
    expect(await fdsBackTo(baseline)).toBe(baseline);
    closeSync(fd);
    rmSync(dir, { recursive: true });
  });

  it('the recording injector still records (kind record)', async () => {
    const rec = new SharedArrayBuffer(REC_WORDS * 4);
    expect(await deliverOnce(recordingInjectorSpec(rec))).toEqual([1, 0]);
    expect(Atomics.load(new Int32Array(rec), REC_COUNT)).toBe(1);
  });
});
