/**
 * The level-route bookkeeping every backend shares (LevelRouteTable), the relay without a level
 * input, and the free function for an irqfd from a backend that predates level routes.
 */
import { type LevelIrqFdRoute, newLevelRoute } from '../src';
import { type RelayIrqFd, InProcessEvent, LevelRouteTable } from '../src/implement';
import { testRelay } from './support/test-relay';
import { thrownBy } from '../src/testing';

function fakeRoute(gsi: number, release: () => void): LevelIrqFdRoute {
  let disposed = false;
  return {
    gsi,
    event: new InProcessEvent(),
    resample: new InProcessEvent(),
    get disposed() {
      return disposed;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      release();
    },
    [Symbol.dispose]() {
      this.dispose();
    },
  };
}

function relay(levelRoutes?: LevelRouteTable): RelayIrqFd {
  return testRelay({ reason: 'the test host has no kernel irqfd', ...(levelRoutes === undefined ? {} : { levelRoutes }) });
}

test('the relay without a level input: UNSUPPORTED naming why the relay is used, after the GSI check', () => {
  const r = relay();
  expect(thrownBy(() => newLevelRoute(r, 24))).toMatchObject({ code: 'INVALID_ARGUMENT' });
  const e = thrownBy(() => newLevelRoute(r, 3)) as Error;
  expect(e).toMatchObject({ code: 'UNSUPPORTED', operation: 'IrqFd.newLevelRoute' });
  expect(e.message).toMatch(/the test host has no kernel irqfd/);
  r.dispose();
});

test('an irqfd without newLevelRoute (an older backend): UNSUPPORTED, typed, after the GSI check', () => {
  const older = { capabilities: {}, routeCount: 0, commitCount: 0, newIrqFdRoute: () => undefined, batch: (f: () => unknown) => f(), settle: () => Promise.resolve() };
  expect(thrownBy(() => newLevelRoute(older as never, 99))).toMatchObject({ code: 'INVALID_ARGUMENT' });
  expect(thrownBy(() => newLevelRoute(older as never, 1))).toMatchObject({ code: 'UNSUPPORTED' });
  expect(thrownBy(() => newLevelRoute(null as never, 1))).toMatchObject({ code: 'INVALID_ARGUMENT' });
});

test('LevelRouteTable: one route per GSI (BUSY), the GSI free again after dispose, every route disposed with the table, then DISPOSED', () => {
  const made: number[] = [];
  const table = new LevelRouteTable('the test partition', (gsi, release) => {
    made.push(gsi);
    return fakeRoute(gsi, release);
  });
  const r = relay(table);
  const a = newLevelRoute(r, 4);
  expect(thrownBy(() => newLevelRoute(r, 4))).toMatchObject({ code: 'BUSY' });
  expect(made).toEqual([4]);
  const b = newLevelRoute(r, 5);
  a.dispose();
  expect(table.size).toBe(1);
  const c = newLevelRoute(r, 4);
  r.dispose();
  expect([b.disposed, c.disposed, table.size]).toEqual([true, true, 0]);
  expect(thrownBy(() => newLevelRoute(r, 6))).toMatchObject({ code: 'DISPOSED' });
  expect(made).toEqual([4, 5, 4]);
});

test('LevelRouteTable: a maker that fails leaves the GSI free; one that releases before returning is not kept; unsupported refuses everything', () => {
  let fail = true;
  const table = new LevelRouteTable('p', (gsi, release) => {
    if (fail) throw new Error('refused');
    const route = fakeRoute(gsi, release);
    release();
    return route;
  });
  expect(() => table.newLevelRoute(2)).toThrow('refused');
  fail = false;
  table.newLevelRoute(2);
  expect(table.size).toBe(0);
  const none = new LevelRouteTable('p', (gsi, release) => fakeRoute(gsi, release), 'no resample here');
  expect(thrownBy(() => none.newLevelRoute(2))).toMatchObject({ code: 'UNSUPPORTED' });
  expect(thrownBy(() => none.newLevelRoute(-2))).toMatchObject({ code: 'INVALID_ARGUMENT' });
});
