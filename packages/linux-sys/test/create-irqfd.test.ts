/**
 * `createLinuxIrqFd`, the constructor both Linux backends build their irqfd with: without an
 * overflow option, a route that finds no free GSI is delivered by the epoll worker injecting with
 * the backend's own worker injector, and `whenClosed()` after dispose waits for that worker, so
 * every descriptor it held is released when it resolves.
 */
import { readdirSync } from 'node:fs';
import type { MsiMessage } from '@tsvmm/virt';
import { parseMsi } from '@tsvmm/virt/implement';
import { type IrqFdBackend, createLinuxIrqFd, libcSyscalls } from '../src';
import { REC_ADDRESS_LO, REC_COUNT, REC_DATA, REC_WORDS, recordingInjectorSpec } from '../src/testing';

const openFds = (): number => readdirSync('/proc/self/fd').length;

/** A kernel that accepts every routing table and irqfd, with one GSI for MSI routes. */
function oneGsiBackend(shared: SharedArrayBuffer, mainInjections: MsiMessage[], irqfdCalls: string[] = []): IrqFdBackend {
  return {
    name: 'one-GSI test kernel',
    ioctlNames: { setRouting: 'TEST_SET_ROUTING', irqfd: 'TEST_IRQFD' },
    firstGsi: 1,
    maxTableEntries: 1,
    table: {
      headerSize: 8,
      entrySize: 16,
      fixedEntryCount: 0,
      encodeHeader: (view, entryCount) => view.setUint32(0, entryCount, true),
      encodeFixedEntry: () => undefined,
      encodeMsiEntry: (view, offset, gsi, msi) => {
        view.setUint32(offset, gsi, true);
        view.setUint32(offset + 4, msi.addressLo, true);
        view.setUint32(offset + 12, msi.data, true);
      },
    },
    irqfdArg: { size: 16, encode: (view, fd, gsi) => (view.setUint32(0, fd, true), view.setUint32(4, gsi, true)) },
    calls: { setRouting: () => 0, irqfd: (arg) => (irqfdCalls.push(`gsi ${new DataView(arg.buffer, arg.byteOffset).getUint32(4, true)}`), 0) },
    parseMsi: (operation, address, data) => parseMsi(operation, address, data),
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
