/**
 * The double-fault suite of the shared irqfd engine, on any backend's kernel: every pair of system
 * calls of every operation and batch shape failed together; seeded random sequences with random
 * failures; two double faults that once broke the ordering rules. After each operation the
 * invariants of ./harness are checked against the kernel's state, and after one operation that
 * succeeds every route must have converged to what was asked.
 */
import type * as FastCheck from 'fast-check';
import { VirtError } from '@tsvmm/virt';
import { EBUSY, EINVAL, ENOMEM } from '../../errno';
import type { SyscallName } from '../fault-injector';
import { type IrqFdFaultAdapter, Rig, type Tracked, batch, clearMsi, dispose, mask, setMsi, unmask } from './harness';
import { irqFdEventDisposedTests } from './event-disposed';
import { irqFdRetargetTests } from './retarget';
import { runner } from './runner';
import { ERRNOS, T, countCalls, failPair, shapes } from './shapes';

/**
 * One test per operation shape (call inside a `describe`): fails every pair of the shape's system
 * calls, and every single one, on a fresh partition each time.
 */
export function irqFdEveryPairTests(adapter: IrqFdFaultAdapter): void {
  const { it } = runner();
  for (const shape of shapes) {
    it(shape.name, () => {
      const { expect } = runner();
      const calls = countCalls(adapter, shape);
      expect(calls).toBeGreaterThan(0);
      let trials = 0;
      for (let i = 0; i < calls; i++) {
        for (let j = i + 1; j <= calls; j++) {
          // j === calls: only call i fails (the single faults, and a second fault past the end).
          const errno = ERRNOS[(i + j) % ERRNOS.length]!;
          using rig = new Rig(adapter);
          const routes = shape.setup(rig);
          rig.checkAll('setup');
          const mark = rig.sys.mark();
          failPair(rig, i, j, errno);
          const where = `${shape.name}, failing calls ${i + 1} and ${j + 1} with errno ${errno}`;
          shape.op(rig, routes);
          rig.sys.clearFaults();
          const failed = rig.sys.callsSince(mark).filter((r) => r.injected).map((r) => r.label);
          rig.checkAll(`${where} (${failed.join(', ')})`);
          if (failed.length === 1) {
            // One failure: the rollback succeeds, so no route is left apart from what was asked.
            for (const t of rig.live()) expect({ where, route: t.name, fault: t.route.fault?.message }).toEqual({ where, route: t.name, fault: undefined });
          }
          rig.probe(`${where} (${failed.join(', ')})`);
          rig.converge(where);
          trials++;
        }
      }
      expect(trials).toBe((calls * (calls + 1)) / 2);
    });
  }
}

type Action =
  | { readonly kind: 'setMsi'; readonly route: number; readonly k: number }
  | { readonly kind: 'clearMsi' | 'mask' | 'unmask' | 'signal' | 'consume'; readonly route: number }
  | { readonly kind: 'batch'; readonly actions: readonly Action[] }
  | { readonly kind: 'dispose'; readonly route: number; readonly refuseDeassign: boolean };

/**
 * fast-check, loaded when a random sequence runs: it is an optional peer dependency, so importing
 * `@tsvmm/linux-sys/testing` (or running the other fault tests) never needs it.
 * @throws VirtError UNAVAILABLE when fast-check is not installed.
 * @internal
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export function loadFastCheck(load: () => unknown = () => require('fast-check')): typeof FastCheck {
  try {
    return load() as typeof FastCheck;
  } catch (e) {
    const notFound = (e as { code?: unknown } | null)?.code === 'MODULE_NOT_FOUND' && String((e as Error).message).includes("'fast-check'");
    if (!notFound) throw e;
    throw new VirtError('UNAVAILABLE', {
      operation: 'irqFdRandomSequenceTests',
      detail: 'the random sequences of the irqfd fault suite need fast-check, which is not installed',
      hint: 'Install it next to @tsvmm/linux-sys: npm install --save-dev fast-check',
      cause: e,
    });
  }
}

function actionArbitrary(fc: typeof FastCheck): FastCheck.Arbitrary<Action> {
  const single = fc.oneof(
    fc.record({ kind: fc.constant('setMsi' as const), route: fc.nat(2), k: fc.nat(3) }),
    fc.record({ kind: fc.constantFrom('clearMsi' as const, 'mask' as const, 'unmask' as const, 'signal' as const, 'consume' as const), route: fc.nat(2) }),
  );
  return fc.oneof(
    { weight: 3, arbitrary: single },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('batch' as const), actions: fc.array(single, { maxLength: 5 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('dispose' as const), route: fc.nat(2), refuseDeassign: fc.boolean() }) },
  );
}

/**
 * Each route of a random sequence has its own vectors (`T(vectorSet, k)`): the three first routes
 * sets 0-2, each replacement the next unused set, so that an interrupt names its route. Sets up to
 * 22 fit below vector 0xFF; once they are used up, disposal is skipped.
 */
const vectorSets = new WeakMap<Tracked, number>();
const LAST_VECTOR_SET = 22;

function run(rig: Rig, routes: Tracked[], a: Action, inBatch: boolean, irqfdCall: string): void {
  if (a.kind === 'batch') {
    batch(rig, () => a.actions.forEach((x) => run(rig, routes, x, true, irqfdCall)));
    return;
  }
  if (a.kind === 'dispose') {
    // Every route's event.fd is held by "a device" (Rig.hold): a disposal whose deassign the kernel
    // refuses leaves the irqfd assigned. Its replacement is created outside the faults.
    const used = Math.max(...routes.map((t) => vectorSets.get(t)!));
    if (used === LAST_VECTOR_SET) return;
    // The kernel refuses the deassign and its retry (on top of the step's random failures).
    if (a.refuseDeassign) rig.sys.fail(irqfdCall, EINVAL, { times: 2 });
    dispose(routes[a.route]!);
    rig.sys.clearFaults();
    const next = rig.hold(rig.add(`R${used + 1}`));
    vectorSets.set(next, used + 1);
    routes[a.route] = next;
    return;
  }
  const t = routes[a.route]!;
  switch (a.kind) {
    case 'setMsi':
      return setMsi(t, T(vectorSets.get(t)!, a.k));
    case 'clearMsi':
      return clearMsi(t);
    case 'mask':
      return mask(t);
    case 'unmask':
      return unmask(t);
    case 'signal':
      // Inside a batch a route may be about to arm: signal only outside, where delivery is checked at once.
      if (!inBatch) {
        rig.sys.clearFaults();
        rig.signal(t, 'random signal');
      }
      return;
    case 'consume':
      if (!inBatch && !(t.route.msi !== undefined && !t.route.masked)) {
        rig.sys.clearFaults();
        const pending = t.route.consumePending();
        runner().expect({ route: t.name, pending }).toEqual({ route: t.name, pending: t.owed });
        t.owed = false;
      }
      return;
  }
}

/**
 * Two tests (call inside a `describe`): 300 seeded random sequences of operations and batches over
 * three routes, with up to three failed calls per step, once with a GSI for every route and once
 * with 2 GSIs for 3 routes (the overflow relay, and relayed routes moving onto freed GSIs).
 * They need fast-check (an optional peer dependency), loaded when they run.
 * @throws VirtError UNAVAILABLE from each test when fast-check is not installed.
 */
export function irqFdRandomSequenceTests(adapter: IrqFdFaultAdapter): void {
  const { it } = runner();
  for (const [title, gsis] of [
    ['GSIs for every route', undefined],
    ['2 GSIs for 3 routes: the overflow relay and moves onto freed GSIs', 2],
  ] as const) {
    it(`keeps every invariant after each step and converges after each sequence (${title})`, () => {
      // How often the overflow relay delivered a route, and a relayed route moved to the kernel.
      let relayedSteps = 0;
      let moves = 0;
      let lingeringSteps = 0;
      const fc = loadFastCheck();
      const action = actionArbitrary(fc);
      fc.assert(
        fc.property(fc.array(fc.tuple(action, fc.array(fc.nat(40), { maxLength: 3 })), { minLength: 1, maxLength: 25 }), (steps) => {
          using rig = new Rig(adapter, gsis === undefined ? {} : { kernelGsis: gsis });
          const routes = [rig.hold(rig.add('R0')), rig.hold(rig.add('R1')), rig.hold(rig.add('R2'))];
          routes.forEach((t, i) => vectorSets.set(t, i));
          steps.forEach(([a, failAt], n) => {
            // Fail the calls at these indices of this step (several may fail in a row).
            let c = -1;
            const fail = new Set(failAt);
            rig.sys.fail(
              (_call: SyscallName) => {
                c++;
                return fail.has(c);
              },
              ERRNOS[n % ERRNOS.length]!,
              { times: fail.size },
            );
            const relayedBefore = routes.filter((t) => !t.spec.disposed && t.route.mediation === 'emulated' && t.route.msi !== undefined);
            run(rig, routes, a, false, adapter.irqfdCall);
            rig.sys.clearFaults();
            rig.checkAll(`step ${n + 1}: ${JSON.stringify(a)} failing ${[...fail].join(',')}`);
            if (routes.some((t) => t.route.mediation === 'emulated' && t.route.msi !== undefined && !t.route.masked)) relayedSteps++;
            if (rig.irqfd.lingeringCount > 0) lingeringSteps++;
            moves += relayedBefore.filter((t) => t.route.mediation === 'kernel' && t.route.gsi !== undefined).length;
          });
          rig.probe('end of sequence');
          rig.converge('end of sequence');
        }),
        { seed: 0x7a5e, numRuns: 300 },
      );
      const { expect } = runner();
      if (gsis === undefined) expect({ relayedSteps, moves }).toEqual({ relayedSteps: 0, moves: 0 });
      else expect({ relayedSteps: relayedSteps > 15, moves: moves > 5 }).toEqual({ relayedSteps: true, moves: true });
      // Disposals whose deassign the kernel refused twice, leaving an irqfd that a later step retired.
      expect({ lingeringSteps: lingeringSteps > 3 }).toEqual({ lingeringSteps: true });
    });
  }
}

/**
 * Runs `body` as one batch on `rig` with two faults armed, `[call, errno]` each, failing the
 * second call of its ioctl that it sees (the first fault stops looking once it fires), then
 * disarms them and checks that both fired, in that order.
 */
function batchUnderDoubleFault(rig: Rig, faults: ReadonlyArray<readonly [string, number]>, body: () => void): void {
  const { expect } = runner();
  for (const [call, errno] of faults) rig.sys.fail(call, errno, { nth: 2 });
  batch(rig, body);
  rig.sys.clearFaults();
  expect(rig.sys.log.filter((r) => r.injected).map((r) => [r.label, r.result])).toEqual(faults.map(([call, errno]) => [call, -errno]));
}

/**
 * Two tests (call inside a `describe`): the kernel refuses an operation, then refuses its
 * rollback. The route must keep its GSI routed while its irqfd is assigned, report what the kernel
 * does, lose no signal, and converge at the next success.
 */
export function irqFdDoubleFaultRegressionTests(adapter: IrqFdFaultAdapter): void {
  const { it } = runner();
  const X = { vcpu: 0, vector: 0x41 };
  const Y = { vcpu: 1, vector: 0x52 };
  const first = adapter.firstGsi;

  it("B's assign fails (EBUSY), then the rollback's deassign of A fails (EINVAL): A's route stays while A's irqfd is assigned", () => {
    const { expect } = runner();
    using rig = new Rig(adapter);
    const a = rig.add('A');
    const b = rig.add('B');
    // The batch: commit, assign A, assign B (fails), rollback: deassign A (fails).
    batchUnderDoubleFault(
      rig,
      [
        [adapter.irqfdCall, EBUSY],
        [adapter.irqfdCall, EINVAL],
      ],
      () => {
        setMsi(a, X);
        unmask(a);
        setMsi(b, Y);
        unmask(b);
      },
    );
    // The kernel kept A's irqfd assigned, so it kept A's route, and A says so.
    expect(rig.kernel.assignedGsi(a.route)).toBe(first);
    expect(rig.kernel.kernelTable().has(first)).toBe(true);
    expect({ fault: a.route.fault !== undefined }).toEqual({ fault: true });
    expect({ msi: a.route.msi, masked: a.route.masked }).toEqual({ msi: rig.kernel.kernelTable().get(first), masked: false });
    rig.checkAll('after the double fault');
    // A's next signal is delivered, not lost.
    rig.signal(a, 'A signalled after the double fault');
    rig.checkAll('after the signal');
    rig.converge('next operation');
    expect(rig.kernel.assignedGsi(a.route)).toBe(undefined);
    expect(a.route.msi).toBe(undefined);
  });

  it("A armed; B's assign fails (EBUSY), then the rollback's commit fails (ENOMEM): A is not assigned on an unrouted GSI, latches, and converges", () => {
    const { expect } = runner();
    using rig = new Rig(adapter);
    const a = rig.add('A');
    const b = rig.add('B');
    setMsi(a, X);
    unmask(a);
    rig.checkAll('A armed');
    batchUnderDoubleFault(
      rig,
      [
        [adapter.irqfdCall, EBUSY],
        [adapter.routingCall, ENOMEM],
      ],
      () => {
        clearMsi(a);
        setMsi(b, Y);
        unmask(b);
      },
    );
    // The kernel has no route for A's MSI: A's irqfd is not assigned, A reports it, and latches.
    expect(rig.kernel.assignedGsi(a.route)).toBe(undefined);
    expect({ fault: a.route.fault !== undefined }).toEqual({ fault: true });
    expect(a.route.masked).toBe(true);
    expect({ msi: a.spec.msi !== undefined, masked: a.spec.masked, disposed: a.spec.disposed }).toEqual({ msi: true, masked: false, disposed: false });
    rig.checkAll('after the double fault');
    rig.signal(a, 'A signalled after the double fault'); // latches: consumePending reports it below
    rig.checkAll('after the signal');
    rig.converge('next operation'); // delivers the latched signal at arm
    expect(rig.kernel.assignedGsi(a.route)).toBe(a.route.gsi);
    expect(a.route.masked).toBe(false);
  });
}

/**
 * Two tests (call inside a `describe`): a route is disposed while a device holds a copy of its
 * `event.fd`, and the kernel refuses to deassign its irqfd, at the disposal and at later retries.
 * The irqfd stays assigned (the copy keeps the file open), so its GSI must stay routed to the
 * route's MSI and out of every other route's hands until a deassign succeeds; the partition's
 * disposal must still close everything the engine held.
 */
export function irqFdLingeringTests(adapter: IrqFdFaultAdapter): void {
  const { it } = runner();
  const A = T(0, 0);
  const C = T(2, 1);

  it('the deassign is refused at dispose and at the next retry: the GSI stays routed to the disposed route and is not handed out', () => {
    const { expect } = runner();
    using rig = new Rig(adapter);
    const a = rig.hold(rig.add('A'));
    const b = rig.add('B');
    const c = rig.add('C');
    setMsi(a, A);
    unmask(a);
    setMsi(b, T(1, 0));
    const gsi = a.route.gsi!;
    // The deassign, its retry at dispose, and the retry at the next operation.
    rig.sys.fail(adapter.irqfdCall, EINVAL, { times: 3 });
    dispose(a);
    expect(rig.irqfd.lingeringCount).toBe(1);
    rig.checkAll('after the refused disposal');
    setMsi(c, C); // retries the deassign first (refused), then takes a GSI: never A's
    expect({ lingering: rig.irqfd.lingeringCount, cGsi: c.route.gsi === gsi, failed: rig.sys.log.filter((r) => r.injected).length }).toEqual({
      lingering: 1,
      cGsi: false,
      failed: 3,
    });
    rig.checkAll('after an operation whose retry was refused');
    // What the kernel does: a signal on the device's copy still lands on A's own vector.
    rig.sys.inner.write(a.copy!, new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]), 8);
    expect(rig.takeIrr()).toEqual([[A.vcpu, A.vector]]);
    unmask(c); // the retry succeeds: the irqfd goes, then its route, then the GSI is free
    expect(rig.irqfd.lingeringCount).toBe(0);
    expect(rig.kernel.irqfdGsiOf?.(a.copy!)).toBe(undefined);
    rig.checkAll('after the retry succeeded');
    rig.converge('next operation');
    expect(rig.kernel.kernelTable().has(gsi)).toBe(false);
  });

  it('the kernel refuses every deassign: the partition disposal closes the descriptor the engine kept', () => {
    const { expect } = runner();
    using rig = new Rig(adapter);
    const a = rig.hold(rig.add('A'));
    setMsi(a, A);
    unmask(a);
    const before = rig.kernel.openEventFds();
    rig.sys.fail(adapter.irqfdCall, EINVAL, { times: 1000 });
    dispose(a);
    rig.irqfd.batch(() => undefined);
    expect(rig.irqfd.lingeringCount).toBe(1);
    rig.checkAll('lingering');
    // The engine's descriptor stays open, the handed-out number is closed: one fewer than before.
    if (before !== undefined) expect(rig.kernel.openEventFds()).toBe(before - 1);
    rig.kernel[Symbol.dispose]();
    expect(rig.irqfd.lingeringCount).toBe(0);
    // Only the device's copy is left.
    if (before !== undefined) expect(rig.kernel.openEventFds()).toBe(1);
    rig.sys.clearFaults();
  });
}

/** How the suite runs on a kernel. */
export interface IrqFdFaultSuiteOptions {
  /**
   * The overflow relay delivers after `signal()` returns (a real device: its worker thread injects
   * later): the parts that read IRR right after a relayed signal are left out (the seeded random
   * sequences, and the relayed case of the event-disposed tests). Default false (a model's relay
   * delivers inside the signal).
   */
  readonly relayDeliversLater?: boolean;
}

/** The whole suite on `adapter`'s kernel, in `describe` blocks named after it. */
export function defineIrqFdFaultSuite(adapter: IrqFdFaultAdapter, options: IrqFdFaultSuiteOptions = {}): void {
  const { describe } = runner();
  const later = options.relayDeliversLater === true;
  describe(`every pair of system calls of every operation fails (${adapter.name})`, () => irqFdEveryPairTests(adapter));
  if (!later) describe(`random sequences with random kernel failures (${adapter.name}, seeded)`, () => irqFdRandomSequenceTests(adapter));
  describe(`double faults that once broke the ordering rules (${adapter.name})`, () => irqFdDoubleFaultRegressionTests(adapter));
  describe(`disposal while the kernel keeps the irqfd assigned (${adapter.name})`, () => irqFdLingeringTests(adapter));
  describe(`the route's event disposed behind its back (${adapter.name})`, () => irqFdEventDisposedTests(adapter, { relayed: !later }));
  // These settle before reading IRR, so they hold wherever the relay delivers.
  describe(`coalesced retargets (${adapter.name})`, () => irqFdRetargetTests(adapter));
}
