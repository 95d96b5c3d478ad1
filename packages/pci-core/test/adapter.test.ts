import { type IrqFd, type Partition, VirtError, isVirtError } from '@tsvmm/virt';
import { thrownBy } from '@tsvmm/virt/testing';
import { IrqFdMsixRoute, createIrqFdMsixRoutes, joinAddress, partitionInjector } from '../src';
import { StubRoute } from './support/stub-route';

function stubIrqFd(limit: number): IrqFd & { made: StubRoute[]; batches: number } {
  const made: StubRoute[] = [];
  return {
    made,
    batches: 0,
    capabilities: { mediation: 'kernel', maxRoutes: limit, routingTable: true, stableEvent: true, mechanism: 'stub' },
    get routeCount() {
      return made.filter((r) => !r.disposed).length;
    },
    commitCount: 0,
    newIrqFdRoute() {
      if (made.length >= limit) throw new VirtError('EXHAUSTED', { operation: 'stub', detail: 'full' });
      const r = new StubRoute();
      made.push(r);
      return r;
    },
    batch<T>(fn: () => T): T {
      this.batches++;
      return fn();
    },
    settle: () => Promise.resolve(),
  };
}

describe('IrqFdRoute adapter', () => {
  it('joins the address halves as a number, or a bigint only past 2^53', () => {
    expect(joinAddress(0xfee01000, 0)).toBe(0xfee01000);
    expect(joinAddress(0xfee01000, 0x100)).toBe(0x100_fee01000);
    expect(joinAddress(0xfee01000, 0xffffff00)).toBe(0xffffff00_fee01000n);
    expect(joinAddress(-1, 0)).toBe(0xffffffff);
  });

  it('forwards every call, and signal() signals the route event', () => {
    const s = new StubRoute();
    const a = new IrqFdMsixRoute(s);
    a.setMsi(0xfee01000, 0x100, 0x40);
    a.clearMsi();
    a.mask();
    a.unmask();
    expect(a.consumePending()).toBe(true);
    a.signal();
    a.signal();
    expect(s.log).toEqual([['setMsi', 0x100_fee01000, 0x40], ['clearMsi'], ['mask'], ['unmask'], ['consumePending']]);
    expect(s.event.consume()).toBe(2);
    expect(() => a.setMsi(0x1000, 0, 0x40)).toThrow(VirtError);
  });

  it('creates one route per vector inside one batch', () => {
    const irqfd = stubIrqFd(100);
    const set = createIrqFdMsixRoutes(irqfd, 16);
    expect(set.routes).toHaveLength(16);
    expect(set.irqfdRoutes[3]).toBe(irqfd.made[3]);
    expect(irqfd.batches).toBe(1);
    expect(set.batch(() => 7)).toBe(7);
    set.dispose();
    set.dispose();
    expect(irqfd.made.every((r) => r.disposed)).toBe(true);
  });

  it('on exhaustion disposes what it made and throws the typed error', () => {
    const irqfd = stubIrqFd(5);
    expect(isVirtError(thrownBy(() => createIrqFdMsixRoutes(irqfd, 8)), 'EXHAUSTED')).toBe(true);
    expect(irqfd.made.every((r) => r.disposed)).toBe(true);
    expect(() => createIrqFdMsixRoutes(irqfd, 0)).toThrow(/vectors/);
    expect(() => createIrqFdMsixRoutes({} as IrqFd, 1)).toThrow(/irqfd/);
  });

  it.each([null, undefined, 42, 'vm', {}, { requestMsi: 1 }, [], () => undefined])('partitionInjector(%p) is INVALID_ARGUMENT, not a function that fails later', (bad) => {
    let made: unknown;
    const err = thrownBy(() => (made = partitionInjector(bad as unknown as Partition)));
    expect(made).toBe(undefined);
    expect(isVirtError(err, 'INVALID_ARGUMENT')).toBe(true);
    expect((err as Error).message).toContain('partition must');
    expect((err as Error).message).toContain('requestMsi');
  });

  it('partitionInjector calls requestMsi with the joined address', () => {
    const seen: unknown[][] = [];
    const p = { requestMsi: (a: number | bigint, d: number) => seen.push([a, d]) } as unknown as Partition;
    partitionInjector(p)(0xfee02000, 0, 0x41);
    partitionInjector(p)(0xfee02000, 0x100, 0x42); // x2APIC destination bits in the upper half
    partitionInjector(p)(0xfee02000, 0xffffff00, 0x43);
    expect(seen).toEqual([
      [0xfee02000, 0x41],
      [0x100_fee02000, 0x42],
      [0xffffff00_fee02000n, 0x43],
    ]);
  });
});
