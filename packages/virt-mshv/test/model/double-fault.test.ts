/**
 * Double faults on the mshv kernel model (the kernel refuses an operation, then refuses its
 * rollback), the scenarios the shared engine's KVM suite pins, here with mshv's ioctls and GSIs;
 * then seeded random sequences of operations with one or two failures in a row at any call. After
 * every step: no hazard (no irqfd on an unrouted GSI, no route removed under its irqfd, no signal
 * on an unrouted GSI), each route reports what the kernel does, no signal lost or doubled; after
 * one successful operation every route converges to what was asked.
 */
import { EBADF, EBUSY, EINVAL, EIO, ENOMEM } from '@tsvmm/linux-sys';
import { Rig, type Target, type Tracked, batch, clearMsi, dispose, mask, setMsi, unmask } from './harness';

const X = { vcpu: 0, vector: 0x41 };
const Y = { vcpu: 1, vector: 0x52 };

describe('double faults (mshv model)', () => {
  it("B's assign fails (EBUSY), then the rollback's deassign of A fails (EINVAL): A's route stays while A's irqfd is assigned", () => {
    using rig = new Rig();
    const a = rig.add('A');
    const b = rig.add('B');
    rig.sys.fail('MSHV_IRQFD', EBUSY, { nth: 2 }).fail('MSHV_IRQFD', EINVAL, { nth: 2 });
    batch(rig, () => {
      setMsi(a, X);
      unmask(a);
      setMsi(b, Y);
      unmask(b);
    });
    rig.sys.clearFaults();
    expect(rig.sys.log.filter((r) => r.injected).map((r) => [r.label, r.result])).toEqual([
      ['MSHV_IRQFD', -EBUSY],
      ['MSHV_IRQFD', -EINVAL],
    ]);
    const gsi = rig.irqfdGsi(a.route.event.ownFd());
    expect(gsi).toBe(1); // GSIs start at 1 on mshv
    expect(rig.msiRoutes().has(1)).toBe(true);
    expect(a.route.fault).toBeDefined();
    expect({ msi: a.route.msi, masked: a.route.masked }).toEqual({ msi: rig.msiRoutes().get(1), masked: false });
    rig.checkAll('after the double fault');
    rig.signal(a, 'A signalled after the double fault');
    rig.checkAll('after the signal');
    rig.converge('next operation');
    expect(rig.irqfdGsi(a.route.event.ownFd())).toBeUndefined();
    expect(a.route.msi).toBeUndefined();
  });

  it("A armed; B's assign fails (EBUSY), then the rollback's commit fails (ENOMEM): A is not assigned on an unrouted GSI, latches, and converges", () => {
    using rig = new Rig();
    const a = rig.add('A');
    const b = rig.add('B');
    setMsi(a, X);
    unmask(a);
    rig.checkAll('A armed');
    rig.sys.fail('MSHV_IRQFD', EBUSY, { nth: 2 }).fail('MSHV_SET_MSI_ROUTING', ENOMEM, { nth: 2 });
    batch(rig, () => {
      clearMsi(a);
      setMsi(b, Y);
      unmask(b);
    });
    rig.sys.clearFaults();
    expect(rig.sys.log.filter((r) => r.injected).map((r) => [r.label, r.result])).toEqual([
      ['MSHV_IRQFD', -EBUSY],
      ['MSHV_SET_MSI_ROUTING', -ENOMEM],
    ]);
    expect(rig.irqfdGsi(a.route.event.ownFd())).toBeUndefined();
    expect(a.route.fault).toBeDefined();
    expect(a.route.masked).toBe(true);
    rig.checkAll('after the double fault');
    rig.signal(a, 'A signalled after the double fault');
    rig.checkAll('after the signal');
    rig.converge('next operation');
    expect(rig.irqfdGsi(a.route.event.ownFd())).toBe(a.route.gsi);
    expect(a.route.masked).toBe(false);
  });
});

/** A small deterministic PRNG (mulberry32), so a failing seed can be replayed. */
function rng(seed: number): () => number {
  let t = seed >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let x = Math.imul(t ^ (t >>> 15), 1 | t);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const CALLS = ['MSHV_IRQFD', 'MSHV_SET_MSI_ROUTING', 'MSHV_ROOT_HVCALL', 'eventfd', 'read'] as const;
const ERRNOS = [EIO, ENOMEM, EINVAL, EBUSY, EBADF];

describe('random operations with single and double faults (mshv model)', () => {
  const seeds = process.env.TSVMM_FUZZ_SEEDS ? Number(process.env.TSVMM_FUZZ_SEEDS) : 8;
  for (let seed = 1; seed <= seeds; seed++) {
    it(`seed ${seed}: 150 steps keep every invariant and converge`, () => {
      const r = rng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
      const target = (): Target => ({ vcpu: Math.floor(r() * 2), vector: 0x30 + Math.floor(r() * 8) });
      using rig = new Rig({ maxRoutes: 12 });
      for (let i = 0; i < 4; i++) rig.add(`R${i}`);
      let created = 0;
      for (let stepNo = 0; stepNo < 150; stepNo++) {
        const where = `seed ${seed}, step ${stepNo}`;
        if (r() < 0.35) {
          // one failure, or two in a row (the operation and its rollback)
          const call = pick(CALLS);
          rig.sys.fail(call, pick(ERRNOS), { nth: 1 + Math.floor(r() * 3) });
          if (r() < 0.5) rig.sys.fail(pick(CALLS), pick(ERRNOS), { nth: 1 + Math.floor(r() * 2) });
        }
        const live = rig.live();
        const t: Tracked | undefined = live.length > 0 ? pick(live) : undefined;
        const op = Math.floor(r() * 8);
        try {
          if (t === undefined || op === 0) {
            if (rig.routes.length < 40) {
              try {
                rig.add(`N${created++}`);
              } catch {
                // EXHAUSTED or an injected eventfd failure: nothing was created
              }
            }
          } else if (op === 1) setMsi(t, target());
          else if (op === 2) clearMsi(t);
          else if (op === 3) mask(t);
          else if (op === 4) unmask(t);
          else if (op === 5) rig.signal(t, where);
          else if (op === 6 && r() < 0.4) dispose(t);
          else {
            const others = rig.live().slice(0, 3);
            batch(rig, () => {
              for (const o of others) {
                const k = Math.floor(r() * 4);
                if (k === 0) setMsi(o, target());
                else if (k === 1) unmask(o);
                else if (k === 2) mask(o);
                else clearMsi(o);
              }
            });
          }
        } finally {
          rig.sys.clearFaults();
        }
        rig.checkAll(where);
      }
      rig.converge(`seed ${seed}, end`);
    });
  }
});
