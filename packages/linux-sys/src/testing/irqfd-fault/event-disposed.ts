/**
 * A route whose event its user disposed behind its back (`route.event.dispose()`, which closes both
 * of the event's numbers), in every state a route can be in. The route must let go of its kernel
 * state while those numbers are still the eventfd's, so that nothing later names a number it no
 * longer owns: the test reopens the freed numbers as other eventfds, then disposes the route, and
 * checks that no call touched them and that the GSI comes back once the kernel has no irqfd on it.
 */
import { EINVAL } from '../../errno';
import { type IrqFdFaultAdapter, Rig, type Tracked, dispose, mask, setMsi, unmask } from './harness';
import { runner } from './runner';
import { T } from './shapes';

/** One state a route can be in when its event is disposed. */
interface EventDisposedCase {
  readonly name: string;
  /** GSIs the kernel leaves the engine (the rest go through the overflow relay). */
  readonly kernelGsis?: number;
  /** Puts `victim` (and any other routes it needs) into the state. */
  setup(rig: Rig, victim: Tracked): void;
  /** Failures injected around `event.dispose()`: the irqfd call fails this many times. */
  readonly refusedDeassigns?: number;
}

const CASES: readonly EventDisposedCase[] = [
  { name: 'a new route, with no MSI and masked', setup: () => undefined },
  { name: 'an MSI, masked: it holds a routed GSI and no irqfd', setup: (_rig, v) => setMsi(v, T(0, 0)) },
  {
    name: 'armed on its irqfd',
    setup: (_rig, v) => {
      setMsi(v, T(0, 0));
      unmask(v);
    },
  },
  {
    name: 'armed, then masked again',
    setup: (_rig, v) => {
      setMsi(v, T(0, 0));
      unmask(v);
      mask(v);
    },
  },
  {
    name: 'delivered by the overflow relay (no GSI free)',
    kernelGsis: 1,
    setup: (rig, v) => {
      const other = rig.add('B');
      setMsi(other, T(1, 0));
      unmask(other);
      setMsi(v, T(0, 0));
      unmask(v);
    },
  },
  {
    name: 'armed on its irqfd, and the kernel refuses the deassign twice',
    refusedDeassigns: 2,
    setup: (_rig, v) => {
      setMsi(v, T(0, 0));
      unmask(v);
    },
  },
];

/** Which of the cases to run. */
export interface EventDisposedOptions {
  /**
   * Include the route delivered by the overflow relay (default true). Its checks read IRR right
   * after a signal, so they need a relay that delivers inside the signal (a model's), not a worker
   * thread that injects later.
   */
  readonly relayed?: boolean;
}

/** The event-disposed cases on `adapter`'s kernel, one test per route state (call inside a `describe`). */
export function irqFdEventDisposedTests(adapter: IrqFdFaultAdapter, options: EventDisposedOptions = {}): void {
  const { it } = runner();
  for (const c of CASES) {
    if (c.kernelGsis !== undefined && options.relayed === false) continue;
    it(`${c.name}: the route lets go at once, never names the freed numbers, and dispose() returns`, () => {
      const { expect } = runner();
      using rig = new Rig(adapter, c.kernelGsis === undefined ? {} : { kernelGsis: c.kernelGsis });
      const victim = rig.add('A');
      c.setup(rig, victim);
      rig.checkAll('setup');
      const gsi = victim.route.gsi;
      const numbers = [victim.route.event.ownFd(), victim.route.event.fd];
      if (c.refusedDeassigns !== undefined) rig.sys.fail(adapter.irqfdCall, EINVAL, { times: c.refusedDeassigns });
      victim.route.event.dispose();
      rig.sys.clearFaults();
      const lingering = c.refusedDeassigns !== undefined;
      expect({ case: c.name, relayWatched: rig.kernel.relayWatched, lingering: rig.irqfd.lingeringCount }).toEqual({
        case: c.name,
        relayWatched: rig.live().filter((t) => t !== victim && t.route.mediation === 'emulated' && Rig.reportsArmed(t.route)).length,
        lingering: lingering ? 1 : 0,
      });
      // Other files take the freed numbers (a lingering irqfd's descriptor stays the engine's).
      const intruders = [rig.openForeign(), rig.openForeign()];
      {
        expect({ case: c.name, reused: intruders.filter((fd) => numbers.includes(fd)).length }).toEqual({ case: c.name, reused: lingering ? 1 : 2 });
        const mark = rig.sys.mark();
        let thrown: unknown;
        try {
          victim.route.dispose();
          victim.route.dispose(); // idempotent
        } catch (e) {
          thrown = e;
        }
        expect({ case: c.name, disposeThrew: thrown }).toEqual({ case: c.name, disposeThrew: undefined });
        dispose(victim);
        const calls = rig.sys.callsSince(mark);
        // Everything was let go at the event's disposal: the route's own dispose makes no call at all.
        expect({ case: c.name, calls: calls.map((r) => r.label) }).toEqual({ case: c.name, calls: [] });
        rig.checkAll('after the route was disposed');
        // One operation that succeeds: a lingering irqfd is deassigned (with the engine's own
        // descriptor), the GSI's entry goes, and the GSI is free again.
        rig.converge('after the event was disposed');
        const touched = rig.sys.callsSince(mark).filter((r) => r.fd !== undefined && intruders.includes(r.fd));
        expect({ case: c.name, intrudersTouched: touched.map((r) => r.label) }).toEqual({ case: c.name, intrudersTouched: [] });
        for (const fd of intruders) {
          expect({ case: c.name, intruder: fd, assignedOn: rig.kernel.irqfdGsiOf?.(fd) }).toEqual({ case: c.name, intruder: fd, assignedOn: undefined });
          // Still open, still an eventfd: a signal is written and read back.
          expect({ case: c.name, intruder: fd, write: rig.sys.inner.write(fd, new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]), 8) }).toEqual({ case: c.name, intruder: fd, write: 8 });
          expect({ case: c.name, intruder: fd, read: rig.sys.inner.read(fd, new Uint8Array(8), 8) }).toEqual({ case: c.name, intruder: fd, read: 8 });
        }
        if (gsi !== undefined) expect({ case: c.name, gsi, stillRouted: rig.kernel.kernelTable().has(gsi) }).toEqual({ case: c.name, gsi, stillRouted: false });
        // A new route can take the GSI back and delivers on it.
        const next = rig.add('C');
        setMsi(next, T(2, 0));
        unmask(next);
        rig.signal(next, 'a route made afterwards');
      }
    });
  }
}
