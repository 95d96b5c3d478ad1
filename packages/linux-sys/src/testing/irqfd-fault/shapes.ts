/**
 * The operations and batch shapes of the double-fault suite, each from routes in chosen starting
 * states, and how to fail a pair of their system calls.
 */
import { EBUSY, EINVAL, EIO, ENOMEM } from '../../errno';
import { type IrqFdFaultAdapter, Rig, type Target, type Tracked, batch, clearMsi, dispose, mask, setMsi, unmask } from './harness';

/** The `k`th target of route number `route`: every route has its own vectors. */
export const T = (route: number, k: number): Target => ({ vcpu: route % 2, vector: 0x40 + route * 8 + k });

/** One operation or batch of the double-fault suite, with the routes it starts from. */
export interface Shape {
  /** The test title. */
  readonly name: string;
  /** Routes in their starting states (run without faults). */
  setup(rig: Rig): Tracked[];
  /** The operation under test. */
  op(rig: Rig, routes: Tracked[]): void;
}

/** Starting states: fresh, masked with an MSI (and a latched signal), armed. */
function fresh(rig: Rig, n: string): Tracked {
  return rig.add(n);
}
function maskedWithMsi(rig: Rig, n: string, i: number, latched: boolean): Tracked {
  const t = rig.add(n);
  setMsi(t, T(i, 0));
  if (latched) rig.signal(t, `setup ${n}`);
  return t;
}
function armed(rig: Rig, n: string, i: number): Tracked {
  const t = rig.add(n);
  setMsi(t, T(i, 0));
  unmask(t);
  return t;
}
function unmaskedNoMsi(rig: Rig, n: string, latched: boolean): Tracked {
  const t = rig.add(n);
  unmask(t);
  if (latched) rig.signal(t, `setup ${n}`);
  return t;
}

/** Every shape of the suite: each route operation from the starting states that matter to it, `newIrqFdRoute`, and five batches. */
export const shapes: readonly Shape[] = [
  { name: 'setMsi on a fresh route', setup: (r) => [fresh(r, 'A')], op: (_r, [a]) => setMsi(a!, T(0, 1)) },
  { name: 'setMsi on an unmasked route with a latched signal', setup: (r) => [unmaskedNoMsi(r, 'A', true)], op: (_r, [a]) => setMsi(a!, T(0, 1)) },
  { name: 'setMsi retargeting an armed route', setup: (r) => [armed(r, 'A', 0)], op: (_r, [a]) => setMsi(a!, T(0, 2)) },
  { name: 'clearMsi on an armed route', setup: (r) => [armed(r, 'A', 0)], op: (_r, [a]) => clearMsi(a!) },
  { name: 'clearMsi on a masked route', setup: (r) => [maskedWithMsi(r, 'A', 0, true)], op: (_r, [a]) => clearMsi(a!) },
  { name: 'mask an armed route', setup: (r) => [armed(r, 'A', 0)], op: (_r, [a]) => mask(a!) },
  { name: 'unmask with a latched signal', setup: (r) => [maskedWithMsi(r, 'A', 0, true)], op: (_r, [a]) => unmask(a!) },
  { name: 'dispose an armed route', setup: (r) => [armed(r, 'A', 0), armed(r, 'B', 1)], op: (_r, [a]) => dispose(a!) },
  {
    name: 'dispose an armed route whose event.fd a device holds a copy of',
    setup: (r) => [r.hold(armed(r, 'A', 0)), armed(r, 'B', 1)],
    op: (_r, [a]) => dispose(a!),
  },
  {
    // C takes the lowest free GSI: A's, unless A's irqfd is still assigned on it.
    name: "dispose a copied armed route, then program a fresh route (A's GSI must not be reused while its irqfd lingers)",
    setup: (r) => [r.hold(armed(r, 'A', 0)), armed(r, 'B', 1), fresh(r, 'C')],
    op: (_r, [a, , c]) => {
      dispose(a!);
      setMsi(c!, T(2, 1));
      unmask(c!);
    },
  },
  {
    name: 'batch: dispose a copied armed route, program and unmask a fresh one',
    setup: (r) => [r.hold(armed(r, 'A', 0)), fresh(r, 'B')],
    op: (rig, [a, b]) =>
      batch(rig, () => {
        dispose(a!);
        setMsi(b!, T(1, 1));
        unmask(b!);
      }),
  },
  { name: 'dispose a masked route with an MSI', setup: (r) => [maskedWithMsi(r, 'A', 0, true), armed(r, 'B', 1)], op: (_r, [a]) => dispose(a!) },
  {
    name: 'newIrqFdRoute',
    setup: (r) => [armed(r, 'A', 0)],
    op: (rig) => {
      try {
        rig.routes.push({ name: 'N', route: rig.irqfd.newIrqFdRoute(), spec: { msi: undefined, masked: true, disposed: false }, owed: false, targets: new Set() });
      } catch {
        // a typed error; nothing was created
      }
    },
  },
  {
    name: 'batch: A, B fresh; A.setMsi, A.unmask, B.setMsi, B.unmask',
    setup: (r) => [fresh(r, 'A'), fresh(r, 'B')],
    op: (rig, [a, b]) =>
      batch(rig, () => {
        setMsi(a!, T(0, 1));
        unmask(a!);
        setMsi(b!, T(1, 1));
        unmask(b!);
      }),
  },
  {
    name: 'batch: A armed; A.clearMsi, B.setMsi, B.unmask',
    setup: (r) => [armed(r, 'A', 0), fresh(r, 'B')],
    op: (rig, [a, b]) =>
      batch(rig, () => {
        clearMsi(a!);
        setMsi(b!, T(1, 1));
        unmask(b!);
      }),
  },
  {
    name: 'batch: retarget A, mask B, unmask C (latched), over 3 routes',
    setup: (r) => [armed(r, 'A', 0), armed(r, 'B', 1), maskedWithMsi(r, 'C', 2, true)],
    op: (rig, [a, b, c]) =>
      batch(rig, () => {
        setMsi(a!, T(0, 3));
        mask(b!);
        unmask(c!);
      }),
  },
  {
    name: 'batch: create + program + unmask a new route, dispose A, clearMsi B',
    setup: (r) => [armed(r, 'A', 0), armed(r, 'B', 1)],
    op: (rig, [a, b]) =>
      batch(rig, (create) => {
        const n = create('N');
        if (n) {
          setMsi(n, T(5, 0));
          unmask(n);
        }
        dispose(a!);
        clearMsi(b!);
      }),
  },
  {
    name: 'batch: unmask A (no MSI, latched), setMsi A, mask C, setMsi B twice',
    setup: (r) => [unmaskedNoMsi(r, 'A', true), maskedWithMsi(r, 'B', 1, false), armed(r, 'C', 2)],
    op: (rig, [a, b, c]) =>
      batch(rig, () => {
        setMsi(a!, T(0, 4));
        mask(c!);
        setMsi(b!, T(1, 4));
        unmask(b!);
        setMsi(b!, T(1, 5));
      }),
  },
];

/** The errnos failed calls return, in turn. */
export const ERRNOS: readonly number[] = [ENOMEM, EBUSY, EINVAL, EIO];

/** Fails exactly the calls at indices `i` and `j` (0-based, counted from now). */
export function failPair(rig: Rig, i: number, j: number, errno: number): void {
  let n = -1;
  rig.sys.fail(
    () => {
      n++;
      return n === i || n === j;
    },
    errno,
    { times: 2 },
  );
}

/** How many system calls `shape`'s operation makes when nothing fails. */
export function countCalls(adapter: IrqFdFaultAdapter, shape: Shape): number {
  using rig = new Rig(adapter);
  const routes = shape.setup(rig);
  const mark = rig.sys.mark();
  shape.op(rig, routes);
  return rig.sys.callsSince(mark).length;
}
