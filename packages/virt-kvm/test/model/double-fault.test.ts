/**
 * Every pair of system calls of every operation and batch shape, failed together, on the KVM
 * model; then seeded random sequences with random failures. After each operation the invariants
 * are checked against the model's real state (see ./harness), and after one operation that
 * succeeds every route must have converged to what was asked.
 */
import fc from 'fast-check';
import type { SyscallName } from '@tsvmm/linux-sys/testing';
import { Rig, type Tracked, batch, clearMsi, mask, setMsi, unmask } from './harness';
import { ERRNOS, T, countCalls, failPair, shapes } from './shapes';

describe('every pair of system calls of every operation fails (KVM model)', () => {
  for (const shape of shapes) {
    it(shape.name, () => {
      const calls = countCalls(shape);
      expect(calls).toBeGreaterThan(0);
      let trials = 0;
      for (let i = 0; i < calls; i++) {
        for (let j = i + 1; j <= calls; j++) {
          // j === calls: only call i fails (the single faults, and a second fault past the end).
          const errno = ERRNOS[(i + j) % ERRNOS.length]!;
          using rig = new Rig();
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
});

type Action =
  | { readonly kind: 'setMsi'; readonly route: number; readonly k: number }
  | { readonly kind: 'clearMsi' | 'mask' | 'unmask' | 'signal' | 'consume'; readonly route: number }
  | { readonly kind: 'batch'; readonly actions: readonly Action[] };

const single = fc.oneof(
  fc.record({ kind: fc.constant('setMsi' as const), route: fc.nat(2), k: fc.nat(3) }),
  fc.record({ kind: fc.constantFrom('clearMsi' as const, 'mask' as const, 'unmask' as const, 'signal' as const, 'consume' as const), route: fc.nat(2) }),
);
const action: fc.Arbitrary<Action> = fc.oneof({ weight: 3, arbitrary: single }, { weight: 1, arbitrary: fc.record({ kind: fc.constant('batch' as const), actions: fc.array(single, { maxLength: 5 }) }) });

function run(rig: Rig, routes: Tracked[], a: Action, inBatch: boolean): void {
  if (a.kind === 'batch') {
    batch(rig, () => a.actions.forEach((x) => run(rig, routes, x, true)));
    return;
  }
  const t = routes[a.route]!;
  switch (a.kind) {
    case 'setMsi':
      return setMsi(t, T(a.route, a.k));
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
        expect({ route: t.name, pending }).toEqual({ route: t.name, pending: t.owed });
        t.owed = false;
      }
      return;
  }
}

describe('random sequences with random kernel failures (KVM model, seeded)', () => {
  for (const [title, gsis] of [
    ['GSIs for every route', undefined],
    ['2 GSIs for 3 routes: the overflow relay and moves onto freed GSIs', 2],
  ] as const) {
    it(`keeps every invariant after each step and converges after each sequence (${title})`, () => {
      // How often the overflow relay delivered a route, and a relayed route moved to the kernel.
      let relayedSteps = 0;
      let moves = 0;
      fc.assert(
        fc.property(fc.array(fc.tuple(action, fc.array(fc.nat(40), { maxLength: 3 })), { minLength: 1, maxLength: 25 }), (steps) => {
          using rig = new Rig(gsis === undefined ? {} : { routingEntries: 40 + gsis });
          const routes = [rig.add('R0'), rig.add('R1'), rig.add('R2')];
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
            run(rig, routes, a, false);
            rig.sys.clearFaults();
            rig.checkAll(`step ${n + 1}: ${JSON.stringify(a)} failing ${[...fail].join(',')}`);
            if (routes.some((t) => t.route.mediation === 'emulated' && t.route.msi !== undefined && !t.route.masked)) relayedSteps++;
            moves += relayedBefore.filter((t) => t.route.mediation === 'kernel' && t.route.gsi !== undefined).length;
          });
          rig.probe('end of sequence');
          rig.converge('end of sequence');
        }),
        { seed: 0x7a5e, numRuns: 300 },
      );
      if (gsis === undefined) expect({ relayedSteps, moves }).toEqual({ relayedSteps: 0, moves: 0 });
      else expect({ relayedSteps: relayedSteps > 30, moves: moves > 5 }).toEqual({ relayedSteps: true, moves: true });
    });
  }
});
