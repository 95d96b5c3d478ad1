/**
 * A hostile value never escapes untyped: a thrown Proxy whose every trap throws, an Error whose
 * toString throws, a relay platform that returns junk from createEvent, throws from dispose or
 * whenClosed, or answers `name` differently each time. Each is described, classified or refused
 * with a VirtError, and nothing is leaked (slots, platforms, events).
 */
import { VirtError, isVirtError, isVirtErrorCode } from '../src';
import { InProcessRelayPlatform, VIRT_ERROR_BRAND, type RelayIrqFd, RelayRouteTable, callRelayPlatform, checkInteger, checkMethods, checkNotThenable, checkOptions, createRelayPlatform, describeError, describeValue, readOptionsOnce, settleRelayPlatform, thrownVirtError, type RelayPlatform } from '../src/implement';
import { settledOutcome, thrownBy } from '../src/testing';
import { ConformanceFailure, checkThrows } from '../src/conformance';
import { testRelay } from './support/test-relay';

/** A Proxy every trap of which throws (get, has, getPrototypeOf, ownKeys, ...); typed as an Error, as what is thrown. */
function hostile(target: object = {}): Error {
  const trap = (): never => {
    throw new Error('trap');
  };
  return new Proxy(target, { get: trap, has: trap, getPrototypeOf: trap, ownKeys: trap, getOwnPropertyDescriptor: trap, apply: trap }) as Error;
}

function revoked(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

/** What a call did: its VirtError's code and operation, 'returned', or 'UNTYPED' for anything else thrown. */
function outcome(f: () => unknown): readonly [string, string] | 'returned' | 'UNTYPED' {
  try {
    f();
    return 'returned';
  } catch (e) {
    return isVirtError(e) ? [e.code, e.operation] : 'UNTYPED';
  }
}

describe('describeValue, describeError, isVirtError and the VirtError constructor are total', () => {
  it.each([
    ['a Proxy whose every trap throws', hostile()],
    ['a revoked Proxy', revoked()],
    ['a function Proxy whose every trap throws', hostile(() => 1)],
  ])('%s: described, not a VirtError, never a throw', (_label, value) => {
    expect(typeof describeValue(value)).toBe('string');
    expect(describeValue(value)).toMatch(/cannot be inspected|a function/);
    expect(typeof describeError(value)).toBe('string');
    expect(isVirtError(value)).toBe(false);
    expect(isVirtError(value, 'INTERNAL')).toBe(false);
    expect(VirtError.is(value)).toBe(false);
    expect(value instanceof VirtError).toBe(false);
    expect(isVirtErrorCode(value)).toBe(false);
  });

  it('an object branded as a VirtError whose code cannot be read is not a VirtError of any code', () => {
    const fake = new Proxy(
      {},
      {
        get(_t, k) {
          if (k === Symbol.for('tsvmm.VirtError')) return true;
          throw new Error('code trap');
        },
      },
    );
    expect(isVirtError(fake, 'INTERNAL')).toBe(false);
  });

  it('describeError shows an Error by its text, and one whose toString throws by describeValue', () => {
    expect(describeError(new TypeError('bad'))).toBe('TypeError: bad');
    const loud = new Error('x');
    loud.toString = () => {
      throw new Error('toString');
    };
    expect(describeError(loud)).toBe(describeValue(loud));
    expect(describeError('boom')).toBe('"boom"');
  });

  it('the VirtError constructor takes details whose every member throws', () => {
    const e = new VirtError('INTERNAL', hostile() as never);
    expect([e.code, e.operation, e.detail]).toEqual(['INTERNAL', 'unknown operation', 'no detail given']);
  });

  it('a check given a hostile value is INVALID_ARGUMENT naming it as uninspectable', () => {
    const e = thrownBy(() => checkInteger('op', 'n', hostile(), 0, 1));
    expect(isVirtError(e) && [e.code, e.detail]).toEqual(['INVALID_ARGUMENT', expect.stringContaining('cannot be inspected') as unknown]);
  });
});

describe('the relay platform helpers type a hostile thrown value', () => {
  const table = (): RelayRouteTable => new RelayRouteTable(2);

  it('a factory that throws a hostile Proxy is INTERNAL, with the Proxy as cause', () => {
    const evil = hostile();
    const e = thrownBy(() =>
      createRelayPlatform(
        'test',
        () => {
          throw evil;
        },
        table(),
      ),
    );
    expect(isVirtError(e) && [e.code, e.operation, e.cause === evil]).toEqual(['INTERNAL', 'test', true]);
  });

  it('a refused result whose dispose throws a hostile Proxy is INVALID_ARGUMENT, disposed once', () => {
    let disposed = 0;
    const e = thrownBy(() =>
      createRelayPlatform(
        'test',
        () =>
          ({
            dispose() {
              disposed++;
              throw hostile();
            },
          }) as never,
        table(),
      ),
    );
    expect(isVirtError(e) && e.code).toBe('INVALID_ARGUMENT');
    expect(isVirtError(e) && e.detail).toMatch(/^the relay platform factory returned an object with the keys dispose, not a RelayPlatform \(missing createEvent, watch, unwatch, settle, whenClosed; its name is undefined, not a string\); disposing it threw too \(an object that cannot be inspected/);
    expect(disposed).toBe(1);
  });

  it('says what a refused result was: an empty object, a Promise', () => {
    const e1 = thrownBy(() => createRelayPlatform('test', () => ({}) as never, table()));
    expect(isVirtError(e1) && e1.detail).toMatch(/^the relay platform factory returned an empty object, not a RelayPlatform \(missing/);
    const e2 = thrownBy(() => createRelayPlatform('test', () => Promise.resolve(1) as never, table()));
    expect(isVirtError(e2) && e2.detail).toMatch(/^the relay platform factory returned an object \(\[object Promise\]\), not a RelayPlatform/);
  });

  it('a platform method that throws a hostile Proxy is INTERNAL (synchronously for a call, a rejection for settle)', async () => {
    const evil = hostile();
    const p = new InProcessRelayPlatform(table(), () => true);
    p.createEvent = () => {
      throw evil;
    };
    p.settle = () => Promise.reject(evil);
    expect(outcome(() => callRelayPlatform('op', p, 'createEvent'))).toEqual(['INTERNAL', 'op']);
    const rejected = await settleRelayPlatform('op', p).then(
      () => 'resolved',
      (e: unknown) => (isVirtError(e) ? e.code : 'UNTYPED'),
    );
    expect(rejected).toBe('INTERNAL');
  });
});

describe("RelayIrqFd: a createEvent result that is not an Event is INTERNAL naming createEvent, the slot released", () => {
  let halfDisposed = 0;
  const junk: readonly (readonly [string, () => unknown])[] = [
    ['undefined', () => undefined],
    ['a string', () => 's'],
    ['an empty object', () => ({})],
    ['a hostile Proxy', () => hostile()],
    ['an object with only dispose', () => ({ dispose: () => void halfDisposed++ })],
    ['an object with only dispose, its other members not functions', () => ({ signal: true, consume: 1, dispose: () => void halfDisposed++ })],
    [
      'an object whose dispose throws',
      () => ({
        dispose: () => {
          halfDisposed++;
          throw new Error('dispose');
        },
      }),
    ],
  ];

  it.each(junk)('%s', (_label, make) => {
    halfDisposed = 0;
    let bad = true;
    const irqfd = testRelay({
      maxRoutes: 2,
      platform: (t) => {
        const p = new InProcessRelayPlatform(t, () => true);
        const good = p.createEvent.bind(p);
        p.createEvent = () => (bad ? make() : good()) as never;
        return p;
      },
    });
    // More failures than slots: each must give its slot back.
    for (let i = 0; i < 3; i++) {
      const e = thrownBy(() => irqfd.newIrqFdRoute());
      expect(isVirtError(e) && [e.code, e.operation]).toEqual(['INTERNAL', 'IrqFd.newIrqFdRoute']);
      expect(isVirtError(e) && e.detail).toMatch(/^the relay platform's createEvent returned .*, not an Event$/);
    }
    expect(irqfd.routeCount).toBe(0);
    const hasDispose = _label.startsWith('an object with only dispose') || _label.startsWith('an object whose dispose');
    expect(halfDisposed).toBe(hasDispose ? 3 : 0);
    bad = false;
    const a = irqfd.newIrqFdRoute();
    const b = irqfd.newIrqFdRoute();
    expect(irqfd.routeCount).toBe(2);
    a.dispose();
    b.dispose();
    irqfd.dispose();
  });
});

describe('RelayIrqFd.dispose and whenClosed never throw or reject, whatever the platform does', () => {
  it('a platform (and a level-route provider) whose dispose throws: every route is still disposed, and dispose returns', () => {
    let platformDisposals = 0;
    let levelDisposals = 0;
    const irqfd = testRelay({
      platform: (t) => {
        const p = new InProcessRelayPlatform(t, () => true);
        p.dispose = () => {
          platformDisposals++;
          throw hostile();
        };
        return p;
      },
      levelRoutes: {
        newLevelRoute: () => {
          throw new Error('unused');
        },
        dispose: () => {
          levelDisposals++;
          throw new Error('level dispose');
        },
        [Symbol.dispose]: () => undefined,
      },
    });
    const r = irqfd.newIrqFdRoute();
    expect(outcome(() => irqfd.dispose())).toBe('returned');
    expect(outcome(() => irqfd.dispose())).toBe('returned');
    expect([r.disposed, irqfd.routeCount, platformDisposals, levelDisposals]).toEqual([true, 0, 1, 1]);
  });

  it("an event whose dispose throws: route.dispose() and irqfd.dispose() return, and the route's slot is free again", () => {
    let eventDisposals = 0;
    const irqfd = testRelay({
      maxRoutes: 1,
      platform: (t) => {
        const p = new InProcessRelayPlatform(t, () => true);
        const create = p.createEvent.bind(p);
        p.createEvent = () => {
          const e = create();
          e.dispose = () => {
            eventDisposals++;
            throw hostile();
          };
          return e;
        };
        return p;
      },
    });
    const r = irqfd.newIrqFdRoute();
    expect(outcome(() => r.dispose())).toBe('returned');
    expect([r.disposed, irqfd.routeCount, eventDisposals]).toEqual([true, 0, 1]);
    const again = irqfd.newIrqFdRoute();
    expect(outcome(() => irqfd.dispose())).toBe('returned');
    expect([again.disposed, eventDisposals]).toEqual([true, 2]);
  });

  it.each([
    ['throws', () => {
      throw new Error('whenClosed threw');
    }],
    ['rejects', () => Promise.reject(new Error('rejected'))],
    ['rejects with a hostile Proxy', () => Promise.reject(hostile())],
    ['returns a number', () => 5],
    ['returns a thenable whose then getter throws', () => hostile()],
  ])('a platform whose whenClosed %s: whenClosed returns a promise that resolves', async (_label, whenClosed) => {
    const irqfd = testRelay({
      platform: (t) => {
        const p: RelayPlatform = new InProcessRelayPlatform(t, () => true);
        (p as { whenClosed: unknown }).whenClosed = whenClosed;
        return p;
      },
    });
    irqfd.dispose();
    let closed: Promise<void> | undefined;
    expect(outcome(() => (closed = irqfd.whenClosed()))).toBe('returned');
    expect(closed).toBeInstanceOf(Promise);
    await expect(closed).resolves.toBeUndefined();
  });
});

describe("RelayIrqFd reads the platform's name once, and refuses one that is not a string", () => {
  it('a name getter that answers differently later: the capabilities show the first answer, read once', () => {
    let reads = 0;
    const irqfd = testRelay({
      platform: (t) => {
        const p = new InProcessRelayPlatform(t, () => true);
        Object.defineProperty(p, 'name', {
          get() {
            if (reads++ > 0) throw new Error('second read');
            return 'first';
          },
        });
        return p;
      },
    });
    expect(irqfd.capabilities.mechanism).toMatch(/^user-space relay \(first\) injecting/);
    expect(reads).toBe(1);
    irqfd.dispose();
  });

  it.each([
    ['a symbol', Symbol('s')],
    ['an object whose toString throws', { toString: () => { throw new Error('toString'); } }],
    ['a hostile Proxy', hostile()],
    ['undefined', undefined],
  ])('a name that is %s: INVALID_ARGUMENT from RelayIrqFd.create, the platform disposed', (_label, name) => {
    let disposed = 0;
    const e = thrownBy(() =>
      testRelay({
        platform: (t) => {
          const p = new InProcessRelayPlatform(t, () => true);
          Object.defineProperty(p, 'name', { value: name });
          const dispose = p.dispose.bind(p);
          p.dispose = () => {
            disposed++;
            dispose();
          };
          return p;
        },
      }),
    );
    expect(isVirtError(e) && [e.code, e.operation]).toEqual(['INVALID_ARGUMENT', 'RelayIrqFd.create']);
    expect(isVirtError(e) && e.detail).toMatch(/its name is .*, not a string/);
    expect(disposed).toBe(1);
  });
});

describe('after irqfd.dispose() alone, its errors name the irqfd (DISPOSED)', () => {
  it.each([
    ['IrqFd.newIrqFdRoute', (i: RelayIrqFd) => i.newIrqFdRoute()],
    ['IrqFd.batch', (i: RelayIrqFd) => i.batch(() => 1)],
    ['IrqFd.newLevelRoute', (i: RelayIrqFd) => i.newLevelRoute(5)],
  ])('%s', (operation, call) => {
    const irqfd = testRelay({
      levelRoutes: {
        newLevelRoute: () => {
          throw new Error('the provider must not be reached after dispose');
        },
        dispose: () => undefined,
        [Symbol.dispose]: () => undefined,
      },
    });
    irqfd.dispose();
    const e = thrownBy(() => call(irqfd));
    expect(isVirtError(e) && [e.code, e.operation, e.detail]).toEqual(['DISPOSED', operation, 'the test irqfd was already disposed']);
  });
});

describe('the testing and conformance helpers describe a hostile thrown value instead of throwing its trap error', () => {
  it('settledOutcome: its untyped-error Error describes the Proxy', async () => {
    const failure = await settledOutcome(() => Promise.reject(hostile())).then(
      () => 'resolved',
      (e: unknown) => (e instanceof Error ? e.message : 'not an Error'),
    );
    expect(failure).toMatch(/^untyped error: an object that cannot be inspected/);
  });

  it('checkThrows: a ConformanceFailure that describes the Proxy thrown or returned', () => {
    const thrown = thrownBy(() =>
      checkThrows(
        () => {
          throw hostile();
        },
        'INVALID_ARGUMENT',
        'call',
      ),
    );
    expect(thrown).toBeInstanceOf(ConformanceFailure);
    expect((thrown as Error).message).toMatch(/^call: expected VirtError INVALID_ARGUMENT, got an object that cannot be inspected/);
    const returned = thrownBy(() => checkThrows(() => hostile(), 'INVALID_ARGUMENT', 'call'));
    expect(returned).toBeInstanceOf(ConformanceFailure);
    expect((returned as Error).message).toMatch(/but the call returned an object that cannot be inspected/);
  });

  it('checkThrows: an error carrying the VirtError brand whose members throw is a ConformanceFailure, not the getter error', () => {
    const fake = Object.defineProperty(Object.create(VirtError.prototype) as Error, VIRT_ERROR_BRAND, { value: true });
    Object.defineProperty(fake, 'code', {
      get: () => {
        throw new Error('code getter');
      },
    });
    const thrown = thrownBy(() =>
      checkThrows(
        () => {
          throw fake;
        },
        'INVALID_ARGUMENT',
        'call',
      ),
    );
    expect(thrown).toBeInstanceOf(ConformanceFailure);
    expect((thrown as Error).message).toMatch(/^call: expected VirtError INVALID_ARGUMENT, got an error branded as one whose members cannot be read \(Error: code getter\)/);
  });
});

describe('the option and interface checks refuse a hostile value with INVALID_ARGUMENT', () => {
  it('checkMethods: a member whose getter throws is named as wrong, with what it threw', () => {
    const e = thrownBy(() => checkMethods('op', 'sys', hostile(), ['ioctl'], ['close']));
    expect(isVirtError(e) && [e.code, e.detail]).toEqual(['INVALID_ARGUMENT', expect.stringMatching(/^sys must have the functions ioctl \(reading it threw Error: trap\), close \(reading it threw Error: trap\)/) as unknown]);
  });

  it.each([
    ['a Proxy whose ownKeys trap throws', hostile()],
    ['a revoked Proxy', revoked()],
  ])('checkOptions: %s', (_label, value) => {
    const e = thrownBy(() => checkOptions('op', 'options', value, []));
    expect(isVirtError(e) && [e.code, e.operation]).toEqual(['INVALID_ARGUMENT', 'op']);
  });

  it('checkNotThenable and batch: a result whose then cannot be read is not a thenable, and is returned', () => {
    const value = hostile();
    expect(outcome(() => checkNotThenable('op', 'fn', value))).toBe('returned');
    const irqfd = testRelay();
    expect(irqfd.batch(() => value)).toBe(value);
    irqfd.dispose();
  });
});

describe('reading a backend\'s options and what its probe caught', () => {
  const typed = new VirtError('UNAVAILABLE', { operation: 'X.create', detail: 'no device' });

  it('thrownVirtError gives a VirtError with its code and message, and undefined for anything else, never throwing', () => {
    expect(thrownVirtError(typed)).toEqual({ error: typed, code: 'UNAVAILABLE', message: typed.message });
    for (const e of [hostile(), revoked(), new Error('plain'), 'text', undefined, { code: 'UNAVAILABLE', message: 'fake' }]) expect(thrownVirtError(e)).toBeUndefined();
  });

  it('readOptionsOnce returns what the reader returns, passes a VirtError through, and types anything else as INVALID_ARGUMENT naming it', () => {
    expect(readOptionsOnce('X.create', () => 42)).toBe(42);
    expect(thrownBy(() => readOptionsOnce('X.create', () => {
      throw typed;
    }))).toBe(typed);
    const unprintable = Object.assign(new Error('x'), { toString: () => { throw new Error('no text'); } });
    for (const thrown of [hostile(), new Error('getter broke'), unprintable]) {
      const e = thrownBy(() => readOptionsOnce('X.create', () => {
        throw thrown;
      }));
      expect(isVirtError(e) && [e.code, e.operation]).toEqual(['INVALID_ARGUMENT', 'X.create']);
      expect(isVirtError(e) && e.detail).toMatch(/^options could not be read: reading them threw /);
    }
  });
});
