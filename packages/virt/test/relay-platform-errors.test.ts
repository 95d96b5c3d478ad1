/**
 * A relay platform that misbehaves is a typed error, never an untyped throw into the VMM: a refused
 * factory result is disposed, a throwing getter on it is INVALID_ARGUMENT, and a plain Error from a
 * platform method is INTERNAL naming that method, with the route left as after any refused call.
 */
import { encodeMsi, isVirtError } from '../src';
import { InProcessRelayPlatform, RelayRouteTable, createRelayPlatform, type RawInjector, type RelayPlatform } from '../src/implement';
import { thrownBy } from '../src/testing';
import { testRelay } from './support/test-relay';

const A = encodeMsi({ destinationId: 1, vector: 0x41 });

describe('createRelayPlatform refuses a result that is not a RelayPlatform', () => {
  it('disposes a refused result that has a callable dispose, once', () => {
    let disposed = 0;
    const e = thrownBy(() => createRelayPlatform('test', () => ({ name: 'half', dispose: () => void disposed++ }) as never, new RelayRouteTable(2)));
    expect(isVirtError(e) && [e.code, e.operation]).toEqual(['INVALID_ARGUMENT', 'test']);
    expect(disposed).toBe(1);
  });

  it('members that are there but not functions are missing, named in the detail', () => {
    let disposed = 0;
    const e = thrownBy(() =>
      createRelayPlatform(
        'test',
        (t) => {
          const p = new InProcessRelayPlatform(t, () => true);
          p.dispose = () => void disposed++;
          return Object.assign(p, { watch: 42, settle: 'later' });
        },
        new RelayRouteTable(2),
      ),
    );
    expect(isVirtError(e) && [e.code, e.operation]).toEqual(['INVALID_ARGUMENT', 'test']);
    expect(isVirtError(e) && e.detail).toMatch(/ \(missing watch, settle\)$/);
    expect(disposed).toBe(1);
  });

  it('a refused result whose dispose throws is still INVALID_ARGUMENT, the dispose error named in the detail', () => {
    const e = thrownBy(() =>
      createRelayPlatform(
        'test',
        () =>
          ({
            dispose: () => {
              throw new Error('dispose broke');
            },
          }) as never,
        new RelayRouteTable(2),
      ),
    );
    expect(isVirtError(e) && e.code).toBe('INVALID_ARGUMENT');
    expect(isVirtError(e) && e.detail).toMatch(/missing createEvent.*disposing it threw too \(Error: dispose broke\)/);
  });

  it('a Proxy whose getter throws is INVALID_ARGUMENT with the getter error as cause, and the platform behind it is disposed', () => {
    const boom = new Error('getter broke');
    let inner: InProcessRelayPlatform | undefined;
    let disposed = 0;
    const e = thrownBy(() =>
      createRelayPlatform(
        'test',
        (t) => {
          inner = new InProcessRelayPlatform(t, () => true);
          inner.dispose = () => void disposed++;
          return new Proxy(inner, {
            get(target, key, receiver) {
              if (key === 'watch') throw boom;
              return Reflect.get(target, key, receiver) as unknown;
            },
          });
        },
        new RelayRouteTable(2),
      ),
    );
    expect(isVirtError(e) && [e.code, e.operation, e.cause]).toEqual(['INVALID_ARGUMENT', 'test', boom]);
    expect(isVirtError(e) && e.detail).toMatch(/watch could not be read \(its getter threw Error: getter broke\)/);
    expect(disposed).toBe(1);
  });

  it('a Proxy whose every getter throws (name included) is INVALID_ARGUMENT through RelayIrqFd too', () => {
    const e = thrownBy(() =>
      testRelay({
        platform: () =>
          new Proxy(
            {},
            {
              get() {
                throw new TypeError('revoked');
              },
            },
          ) as never,
      }),
    );
    expect(isVirtError(e) && [e.code, e.operation]).toEqual(['INVALID_ARGUMENT', 'RelayIrqFd.create']);
    expect(isVirtError(e) && e.cause).toBeInstanceOf(TypeError);
  });

  it('a throwing name getter alone is refused (the irqfd reads the name for its capabilities)', () => {
    let disposed = 0;
    const e = thrownBy(() =>
      testRelay({
        platform: (t) => {
          const p = new InProcessRelayPlatform(t, () => true);
          Object.defineProperty(p, 'name', {
            get() {
              throw new Error('no name');
            },
          });
          p.dispose = () => void disposed++;
          return p;
        },
      }),
    );
    expect(isVirtError(e) && [e.code, e.operation]).toEqual(['INVALID_ARGUMENT', 'RelayIrqFd.create']);
    expect(disposed).toBe(1);
  });
});

type Method = 'createEvent' | 'watch' | 'unwatch' | 'settle';

/** A relay on the in-process platform whose `failing` method throws a plain Error while `broken.on`. */
function brokenRelay(failing: Method) {
  const injected: number[] = [];
  const broken = { on: false, error: new Error(`${failing} broke`) };
  const inject: RawInjector = (_lo, _hi, data) => (injected.push(data), true);
  const irqfd = testRelay({
    inject,
    platform: (t) => {
      const inner = new InProcessRelayPlatform(t, inject);
      const wrap =
        <F extends (...a: never[]) => unknown>(m: Method, f: F): F =>
        ((...a: never[]) => {
          if (broken.on && m === failing) throw broken.error;
          return f(...a);
        }) as F;
      const p: RelayPlatform = {
        name: 'broken',
        createEvent: wrap('createEvent', () => inner.createEvent()),
        watch: wrap('watch', (slot: number, e) => inner.watch(slot, e)),
        unwatch: wrap('unwatch', (slot: number, e) => inner.unwatch(slot, e)),
        settle: wrap('settle', () => inner.settle()),
        dispose: () => inner.dispose(),
        whenClosed: () => inner.whenClosed(),
        [Symbol.dispose]: () => inner.dispose(),
      };
      return p;
    },
  });
  return { irqfd, injected, broken };
}

function expectInternal(e: unknown, operation: string, method: Method, cause: Error): void {
  expect(isVirtError(e) && [e.code, e.operation, e.cause]).toEqual(['INTERNAL', operation, cause]);
  expect(isVirtError(e) && e.detail).toContain(`the relay platform's ${method} threw`);
}

describe('a plain Error from a relay platform method is INTERNAL naming the method', () => {
  it('createEvent: no route is made and its slot is released', () => {
    const { irqfd, broken } = brokenRelay('createEvent');
    broken.on = true;
    expectInternal(
      thrownBy(() => irqfd.newIrqFdRoute()),
      'IrqFd.newIrqFdRoute',
      'createEvent',
      broken.error,
    );
    expect(irqfd.routeCount).toBe(0);
    broken.on = false;
    // Every one of the 4 slots is still free.
    const routes = [0, 1, 2, 3].map(() => irqfd.newIrqFdRoute());
    expect(routes.map((r) => r.mediation)).toEqual(['emulated', 'emulated', 'emulated', 'emulated']);
    irqfd.dispose();
  });

  // watch refuses an unmask and unwatch a mask: either way the route stays as it was before the call.
  it.each([
    { method: 'watch', call: 'unmask', title: 'the route stays masked with its MSI, not watched; a signal stays latched and nothing is delivered' },
    { method: 'unwatch', call: 'mask', title: 'the route stays unmasked and armed, still delivering' },
  ] as const)('$method: $title; the call succeeds once the platform works', ({ method, call }) => {
    const { irqfd, injected, broken } = brokenRelay(method);
    const masked = call === 'unmask';
    const r = irqfd.newIrqFdRoute();
    r.setMsi(A.addressLo, A.data);
    if (!masked) r.unmask();
    broken.on = true;
    expectInternal(
      thrownBy(() => r[call]()),
      `IrqFdRoute.${call}`,
      method,
      broken.error,
    );
    expect([r.masked, r.msi?.data]).toEqual([masked, A.data]);
    r.event.signal();
    expect(injected).toEqual(masked ? [] : [A.data]);
    expect(r.consumePending()).toBe(masked);
    broken.on = false;
    r[call]();
    expect(r.masked).toBe(!masked);
    // Unmasked at last, the route delivers; masked at last, it does not: either way one delivery in all.
    r.event.signal();
    expect(injected).toEqual([A.data]);
    irqfd.dispose();
  });

  it('settle: a plain Error thrown is a rejection with INTERNAL, not a synchronous throw', async () => {
    const { irqfd, broken } = brokenRelay('settle');
    broken.on = true;
    let settled: Promise<void> | undefined;
    expect(() => (settled = irqfd.settle())).not.toThrow();
    const e: unknown = await settled!.then(
      () => 'resolved',
      (x: unknown) => x,
    );
    expectInternal(e, 'IrqFd.settle', 'settle', broken.error);
    broken.on = false;
    await irqfd.settle();
    irqfd.dispose();
  });
});
