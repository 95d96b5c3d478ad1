/**
 * A message stays as its 32-bit halves from the MSI-X table to the route: a route that offers
 * `setMsiHalves` (`MsiHalvesRoute` of `@tsvmm/virt/implement`, the Linux engine's routes) gets the
 * table's words as they are, and the contract's `setMsi(address, data)` is not called; a route
 * without it gets `setMsi` with the halves joined.
 */
import { type Event, type IrqFdRoute, type MsiMessage, encodeMsi } from '@tsvmm/virt';
import { describeWithDevice } from '@tsvmm/linux-sys/testing';
import { KvmPartition } from '@tsvmm/virt-kvm';
import { KvmKernelModel } from '@tsvmm/virt-kvm/testing';
import { IrqFdMsixRoute, MsixEmulator, createIrqFdMsixRoutes } from '../src';

/** A route whose every call is logged; `setMsiHalves` only when asked for. */
function loggingRoute(withHalves: boolean): { route: IrqFdRoute; log: unknown[][] } {
  const log: unknown[][] = [];
  const event = { signal: () => undefined } as unknown as Event;
  const route: Record<string, unknown> = {
    event,
    setMsi: (address: number | bigint, data: number) => log.push(['setMsi', address, data]),
    clearMsi: () => undefined,
    mask: () => undefined,
    unmask: () => undefined,
    consumePending: () => false,
  };
  if (withHalves) route.setMsiHalves = (lo: number, hi: number, data: number) => log.push(['setMsiHalves', lo, hi, data]);
  return { route: route as unknown as IrqFdRoute, log };
}

describe('IrqFdMsixRoute.setMsi', () => {
  it.each<[string, boolean, unknown[][]]>([
    [
      'hands a route with setMsiHalves the halves as they are, even an upper half that would need a bigint joined',
      true,
      [
        ['setMsiHalves', 0xfee01000, 0xffffff00, 0x40],
        ['setMsiHalves', 0xfee02000, 0, 0x41],
      ],
    ],
    [
      'joins the halves for a route without it (the contract setMsi)',
      false,
      [
        ['setMsi', 0xffffff00_fee01000n, 0x40],
        ['setMsi', 0xfee02000, 0x41],
      ],
    ],
  ])('%s', (_title, withHalves, calls) => {
    const { route, log } = loggingRoute(withHalves);
    const a = new IrqFdMsixRoute(route);
    a.setMsi(0xfee01000, 0xffffff00, 0x40);
    a.setMsi(0xfee02000, 0, 0x41);
    expect(log).toEqual(calls);
  });
});

/** The guest's unmask of vector 1, programmed while masked with MSI-X enabled, on `partition`. */
function unmaskTakesHalves(partition: KvmPartition): void {
  const irqfd = partition.irqfd()!;
  expect(irqfd.capabilities.mediation).toBe('kernel');
  const set = createIrqFdMsixRoutes(irqfd, 4);
  try {
    const route = set.irqfdRoutes[1] as IrqFdRoute & { setMsiHalves(lo: number, hi: number, data: number): void };
    const halves = jest.spyOn(route, 'setMsiHalves');
    const whole = jest.spyOn(route, 'setMsi');
    const errors: Error[] = [];
    const emu = new MsixEmulator({ vectors: 4, table: { bir: 0, offset: 0 }, pba: { bir: 0, offset: 0x1000 }, onError: (e) => errors.push(e) });
    emu.setRoutes(set.routes, { batch: set.batch });
    emu.configWrite(2, 2, 0x8000 | 3);
    const m: MsiMessage = encodeMsi({ destinationId: 1, vector: 0x45 });
    emu.write32(0, 16, m.addressLo);
    emu.write32(0, 20, m.addressHi);
    emu.write32(0, 24, m.data);
    expect(halves).not.toHaveBeenCalled();
    emu.write32(0, 28, 0);
    expect(errors).toEqual([]);
    expect(halves.mock.calls).toEqual([[m.addressLo, m.addressHi, m.data]]);
    expect(whole).not.toHaveBeenCalled();
    expect({ msi: route.msi, masked: route.masked, delivering: emu.isDelivering(1) }).toEqual({ msi: m, masked: false, delivering: true });
    route.event.signal();
    expect(partition.readLocalApic(1).irr).toEqual([0x45]);
    emu.clearRoutes();
  } finally {
    set.dispose();
  }
}

describe('on the KVM model', () => {
  it("a guest's unmask reaches the engine route as halves (setMsiHalves), never as a joined address, and delivers", () => {
    using partition = KvmPartition.create({ vcpus: 2, irqfd: 'kernel', sys: new KvmKernelModel({ apicIds: [0, 1] }) });
    unmaskTakesHalves(partition);
  });
});

describeWithDevice('/dev/kvm', 'TSVMM_ALLOW_NO_KVM', 'on the real /dev/kvm', () => {
  it("a guest's unmask reaches the engine route as halves (setMsiHalves), never as a joined address, and delivers", () => {
    using partition = KvmPartition.create({ vcpus: 2, irqfd: 'kernel' });
    unmaskTakesHalves(partition);
  });
});
