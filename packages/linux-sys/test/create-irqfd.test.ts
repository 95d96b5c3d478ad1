/**
 * `createLinuxIrqFd`, the constructor both Linux backends build their irqfd with: without an
 * overflow option, a route that finds no free GSI is delivered by the epoll worker injecting with
 * the backend's own worker injector, and `whenClosed()` after dispose waits for that worker, so
 * every descriptor it held is released when it resolves.
 */
import { readdirSync } from 'node:fs';
import type { MsiMessage } from '@tsvmm/virt';
import { parseMsiWords } from '@tsvmm/virt/implement';
import { type IrqFdBackend, createLinuxIrqFd, defineIoctl, libcSyscalls } from '../src';
import { REC_ADDRESS_LO, REC_COUNT, REC_DATA, REC_WORDS, recordingInjectorSpec } from '../src/testing';

const SET_ROUTING = defineIoctl('TEST_SET_ROUTING', 0x1);
const IRQFD = defineIoctl('TEST_IRQFD', 0x2);

const openFds = (): number => readdirSync('/proc/self/fd').length;

/** A kernel that accepts every routing table and irqfd, with one GSI for MSI routes. */
function oneGsiBackend(shared: SharedArrayBuffer, mainInjections: MsiMessage[], irqfdCalls: string[] = []): IrqFdBackend {
  return {
    name: 'one-GSI test kernel',
    sys: {
      ioctl: (_fd, request, arg) => {
        if (request === IRQFD && arg instanceof Uint8Array) irqfdCalls.push(`gsi ${new DataView(arg.buffer, arg.byteOffset).getUint32(4, true)}`);
        return 0;
      },
    },
    fd: 3,
    ioctls: { setRouting: SET_ROUTING, irqfd: IRQFD },
    firstGsi: 1,
    maxTableEntries: 1,
    table: { headerSize: 8, entrySize: 16, countOffset: 0, fixedEntries: new Uint8Array(0), msiEntry: { gsi: 0, addressLo: 4, addressHi: 8, data: 12 } },
    irqfdArg: { size: 16, fd: 0, gsi: 4, flags: 8, deassignFlag: 1 },
    parseMsi: (operation, addressLo, addressHi, data) => parseMsiWords(operation, addressLo, addressHi, data),
    inject: (addressLo, addressHi, data) => (mainInjections.push({ addressLo, addressHi, data }), true),
    workerInjector: recordingInjectorSpec(shared),
  };
}

test('a route beyond the GSIs is delivered by the default epoll worker with the backend worker injector; whenClosed waits for the worker', async () => {
  const before = openFds();
  const shared = new SharedArrayBuffer(REC_WORDS * 4);
  const record = new Int32Array(shared);
  const main: MsiMessage[] = [];
  const irqfd = createLinuxIrqFd({ backend: oneGsiBackend(shared, main), sys: libcSyscalls(), maxRoutes: 4 });
  try {
    const kernel = irqfd.newIrqFdRoute();
    kernel.setMsi(0xfee00000, 0x41);
    kernel.unmask();
    const relayed = irqfd.newIrqFdRoute();
    relayed.setMsi(0xfee01000, 0x42);
    relayed.unmask();
    expect({ kernel: kernel.mediation, relayed: relayed.mediation }).toEqual({ kernel: 'kernel', relayed: 'emulated' });
    expect(irqfd.overflow.relayPlatform?.name).toMatch(/epoll/);
    relayed.event.signal();
    await irqfd.settle();
    expect([Atomics.load(record, REC_COUNT), Atomics.load(record, REC_ADDRESS_LO) >>> 0, Atomics.load(record, REC_DATA)]).toEqual([1, 0xfee01000, 0x42]);
    expect(main).toEqual([]);
  } finally {
    irqfd.dispose();
  }
  await irqfd.whenClosed();
  expect(openFds()).toBe(before);
});

test("the engine's dispose closes each route's eventfd without a per-route irqfd call: the partition's fd goes next", () => {
  const before = openFds();
  const irqfdCalls: string[] = [];
  const irqfd = createLinuxIrqFd({ backend: oneGsiBackend(new SharedArrayBuffer(REC_WORDS * 4), [], irqfdCalls), sys: libcSyscalls(), maxRoutes: 4 });
  const route = irqfd.newIrqFdRoute();
  route.setMsi(0xfee00000, 0x41);
  route.unmask();
  expect(irqfdCalls).toEqual(['gsi 1']);
  irqfd.dispose();
  irqfd[Symbol.dispose]();
  expect({ calls: irqfdCalls, route: route.disposed, event: route.event.disposed, routes: irqfd.routeCount }).toEqual({ calls: ['gsi 1'], route: true, event: true, routes: 0 });
  route.dispose();
  expect(irqfdCalls).toEqual(['gsi 1']);
  expect(openFds()).toBe(before);
});
