/**
 * IrqFdRouteBase, the public half the relay and WHP routes share: a subclass that records its
 * transitions and releases shows what the base decides on its own (liveness, parsing, no-op
 * detection, idempotent dispose, listeners and changes made from inside a change).
 */
import { type Event, type MsiMessage, encodeMsi, isVirtError } from '../src';
import { InProcessEvent } from '../src/implement';
import { IrqFdRouteBase } from '../src/implement';

class RecordingRoute extends IrqFdRouteBase {
  readonly mediation = 'kernel' as const;
  event: Event = new InProcessEvent();
  readonly transitions: Array<{ msi: MsiMessage | undefined; masked: boolean }> = [];
  releases = 0;
  ownerGone = false;
  /** Runs inside the next transition, as a listener would. */
  during: (() => void) | undefined;
  failNext = false;

  constructor(replacesEvent = true) {
    super({ addressHi: 'reject', backend: 'test' }, replacesEvent);
  }
  consumePending(): boolean {
    this.live('IrqFdRoute.consumePending');
    return false;
  }
  replaceWith(next: Event): void {
    this.event = next;
    this.announce(next);
  }
  protected transition(_op: string, msi: MsiMessage | undefined, masked: boolean): void {
    const run = this.during;
    this.during = undefined;
    run?.();
    if (this.failNext) {
      this.failNext = false;
      throw new Error('refused');
    }
    this.transitions.push({ msi, masked });
  }
  protected release(): void {
    this.releases++;
  }
  protected override checkOwner(op: string): void {
    if (this.ownerGone) throw Object.assign(new Error(`${op}: owner gone`), { ownerGone: true });
  }
}

const M = encodeMsi({ destinationId: 1, vector: 0x41 });
const codeOf = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (e) {
    return isVirtError(e) ? e.code : e;
  }
  return 'no error';
};

test('a call that leaves the route as it is reaches no transition; a real change does, once, and is recorded', () => {
  const r = new RecordingRoute();
  r.mask(); // new routes start masked
  r.clearMsi(); // and without an MSI
  expect(r.transitions).toEqual([]);
  r.setMsi(M.addressLo, M.data);
  r.setMsi(M.addressLo, M.data);
  r.unmask();
  r.unmask();
  expect(r.transitions.map((t) => [t.msi?.data, t.masked])).toEqual([
    [0x41, true],
    [0x41, false],
  ]);
  expect({ msi: r.msi?.data, masked: r.masked }).toEqual({ msi: 0x41, masked: false });
});

test('a transition that throws leaves msi and masked as they were', () => {
  const r = new RecordingRoute();
  r.setMsi(M.addressLo, M.data);
  r.failNext = true;
  expect(() => r.unmask()).toThrow('refused');
  expect({ msi: r.msi?.data, masked: r.masked }).toEqual({ msi: 0x41, masked: true });
});

test('a bad MSI is INVALID_MSI before any transition', () => {
  const r = new RecordingRoute();
  expect(codeOf(() => r.setMsi(0x1234, 0x41))).toBe('INVALID_MSI');
  expect(r.transitions).toEqual([]);
});

test('dispose releases once; every later call but dispose is DISPOSED; the owner and the event are checked too', () => {
  const r = new RecordingRoute();
  r.dispose();
  r[Symbol.dispose]();
  expect(r.releases).toBe(1);
  expect([codeOf(() => r.mask()), codeOf(() => r.consumePending()), codeOf(() => r.onEventReplaced(() => undefined))]).toEqual(['DISPOSED', 'DISPOSED', 'DISPOSED']);
  const owned = new RecordingRoute();
  owned.ownerGone = true;
  expect(codeOf(() => owned.unmask())).toMatchObject({ ownerGone: true });
  const eventGone = new RecordingRoute();
  eventGone.event.dispose();
  expect(codeOf(() => eventGone.unmask())).toBe('DISPOSED');
});

test('listeners hear each replacement until unsubscribed; a route that never replaces keeps none', () => {
  const r = new RecordingRoute();
  const heard: Event[] = [];
  const off = r.onEventReplaced((e) => heard.push(e));
  const a = new InProcessEvent();
  r.replaceWith(a);
  off();
  r.replaceWith(new InProcessEvent());
  expect(heard).toEqual([a]);
  const stable = new RecordingRoute(false);
  stable.onEventReplaced((e) => heard.push(e));
  stable.replaceWith(new InProcessEvent());
  expect(heard).toEqual([a]);
  expect(codeOf(() => r.onEventReplaced(42 as never))).toBe('INVALID_ARGUMENT');
});

test('inside a change, another change is INVALID_ARGUMENT and dispose waits until the change is done', () => {
  const r = new RecordingRoute();
  let inner: unknown;
  r.during = () => {
    inner = codeOf(() => r.mask());
    r.dispose();
    expect(r.releases).toBe(0);
  };
  r.setMsi(M.addressLo, M.data);
  expect(inner).toBe('INVALID_ARGUMENT');
  expect({ transitions: r.transitions.length, releases: r.releases, disposed: r.disposed }).toEqual({ transitions: 1, releases: 1, disposed: true });
});

test('a listener that throws a hostile Proxy is reported as a warning that describes it; the replacement still happens', () => {
  const r = new RecordingRoute();
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(w.message);
  const emit = jest.spyOn(process, 'emitWarning').mockImplementation((w: string | Error) => onWarning(typeof w === 'string' ? new Error(w) : w));
  try {
    const trap = (): never => {
      throw new Error('trap');
    };
    const hostile = new Proxy({}, { get: trap, getPrototypeOf: trap }) as Error;
    r.onEventReplaced(() => {
      throw hostile;
    });
    const next = new InProcessEvent();
    expect(codeOf(() => r.replaceWith(next))).toBe('no error');
    expect(r.event).toBe(next);
    expect(warnings).toEqual([expect.stringMatching(/^an onEventReplaced listener threw: an object that cannot be inspected/) as unknown]);
  } finally {
    emit.mockRestore();
  }
});
