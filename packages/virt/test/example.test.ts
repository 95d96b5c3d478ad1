// The README's examples (examples/wire-device.js and its TypeScript variant) must run, not only
// type-check: here on a minimal partition built from this package alone (the relay on the
// in-process platform), recording which message each signal injects.
import * as tsExample from '../examples/wire-device';
// The same module instance as the example's (the built package), so its isVirtError sees our errors.
import { type Partition, decodeMsi } from '@tsvmm/virt';
import { RelayIrqFd, InProcessRelayPlatform } from '@tsvmm/virt/implement';

function recordingPartition(vcpus: number): { partition: Partition; landed: Array<[number, number]> } {
  const landed: Array<[number, number]> = [];
  const inject = (addressLo: number, addressHi: number, data: number): boolean => {
    const f = decodeMsi({ addressLo, addressHi, data });
    landed.push([f.destinationId, f.vector]);
    return true;
  };
  const policy = { addressHi: 'reject', backend: 'example' } as const;
  const irqfd = new RelayIrqFd({
    backend: 'example',
    maxRoutes: 64,
    policy,
    inject,
    platform: (table) => new InProcessRelayPlatform(table, inject),
    reason: 'test',
  });
  const partition: Partition = {
    backend: 'example',
    vcpuCount: vcpus,
    capabilities: Object.freeze({ backend: 'example', irqfd: 'emulated', irqfdReason: 'test', maxRoutes: 64, resample: false, x2apic: false, maxApicId: 0xfe, maxVcpus: vcpus }),
    disposed: false,
    irqfd: () => irqfd,
    requestMsi: () => false,
    dispose: () => irqfd.dispose(),
    [Symbol.dispose]: () => irqfd.dispose(),
  };
  return { partition, landed };
}

// The JavaScript file as it is: jest transforms only .ts files, so Node's own parser loads this one.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const jsExample = require('../examples/wire-device.js') as typeof tsExample;

test.each([
  ['examples/wire-device.js', jsExample],
  ['examples/wire-device.ts', tsExample],
])('%s: wireDevice prints the mechanism and gives routes aimed at vCPU i % n, vector 0x40 + i; pendingBit reads a latched signal', (_file, { pendingBit, wireDevice }) => {
  const { partition, landed } = recordingPartition(2);
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    const routes = wireDevice(partition, 4);
    expect(log.mock.calls).toEqual([['irqfd on example: user-space relay (in-process) injecting with requestMsi: test']]);
    expect(routes.map((r) => r.masked)).toEqual([false, false, false, false]);
    routes.forEach((r) => r.event.signal());
    expect(landed).toEqual([
      [0, 0x40],
      [1, 0x41],
      [0, 0x42],
      [1, 0x43],
    ]);
    routes[2]!.mask();
    routes[2]!.event.signal();
    expect(pendingBit(routes[2]!)).toBe(true);
    expect(pendingBit(routes[2]!)).toBe(false);
    routes[2]!.dispose();
    expect(pendingBit(routes[2]!)).toBe(false); // a disposed route reads as not pending
    expect(landed).toHaveLength(4);
  } finally {
    log.mockRestore();
    partition.dispose();
  }
});

test.each([
  ['examples/wire-device.js', jsExample],
  ['examples/wire-device.ts', tsExample],
])('%s: wireDevice is all or nothing: a vector count it cannot give is refused before any route, and a route that fails midway leaves no route alive', (_file, { wireDevice }) => {
  const { partition, landed } = recordingPartition(2);
  const irqfd = partition.irqfd()!;
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    for (const bad of [-1, 193, 1.5, Number.NaN]) {
      expect(() => wireDevice(partition, bad)).toThrow(RangeError);
      expect(irqfd.routeCount).toBe(0);
    }
    expect(log).not.toHaveBeenCalled();
    // 100 vectors on an irqfd of 64 routes: the 65th route fails; the 64 made are disposed.
    expect(() => wireDevice(partition, 100)).toThrow(expect.objectContaining({ code: expect.any(String) }));
    expect(irqfd.routeCount).toBe(0);
    // Every route is usable again: the 64 come back whole.
    const routes = wireDevice(partition, 64);
    expect(irqfd.routeCount).toBe(64);
    routes[63]!.event.signal();
    expect(landed).toEqual([[1, 0x40 + 63]]);
  } finally {
    log.mockRestore();
    partition.dispose();
  }
});
