import { isVirtError } from '@tsvmm/virt';
import { PBA, type Rig, TABLE, msg, rig } from './support/setup';

const X2APIC = { addressHi: 'x2apic-ids' as const, backend: 'test' };

/** MSI-X enabled with vector 0 programmed (0x40) and unmasked, vector 1 programmed (0x41) and masked. */
function enabledWithVector0Unmasked(vectors: number): Rig {
  const r = rig({ vectors });
  r.program(0, 0, 0x40);
  r.unmask(0);
  r.program(1, 0, 0x41);
  r.control(true, false);
  return r;
}

describe('routes kept in step with the guest', () => {
  it('Linux order (program masked, enable, unmask each) programs all routes in one commit at Enable; unmasks cost none', () => {
    const r = rig({ vectors: 4 });
    const { emu, fake } = r;
    fake.calls.length = 0;
    for (let v = 0; v < 4; v++) r.program(v, v & 1, 0x40 + v);
    expect(fake.calls).toEqual([]); // masked, function disabled: routes untouched
    const commits = fake.commits;
    r.control(true, false);
    expect(fake.commits - commits).toBe(1);
    expect(fake.calls.every((c) => c.inBatch)).toBe(true);
    expect(fake.routes.every((x) => x.masked && x.msi !== undefined)).toBe(true); // preloaded, not armed
    for (let v = 0; v < 4; v++) r.unmask(v);
    expect(fake.commits - commits).toBe(1);
    for (let v = 0; v < 4; v++) {
      expect(fake.callsOf('setMsi', v).map((c) => c.args)).toEqual([[msg(v & 1, 0x40 + v).lo, 0, 0x40 + v]]);
      expect(fake.routes[v]!.armed).toBe(true);
      expect(emu.isDelivering(v)).toBe(true);
    }
    fake.routes[2]!.deviceSignal();
    expect(fake.take()).toEqual([{ via: 'route', vector: 2, ...msg(0, 0x42) }]);
  });

  it('Enable on arms every unmasked vector in one batch: 2048 vectors, one commit', () => {
    const r = rig({ vectors: 2048 });
    for (let v = 0; v < 2048; v++) {
      r.program(v, v % 4, 0x20 + (v % 200));
      r.unmask(v);
    }
    const commits = r.fake.commits;
    const batches = r.fake.batches;
    r.control(true, false);
    expect(r.fake.commits - commits).toBe(1);
    expect(r.fake.batches - batches).toBe(1);
    expect(r.fake.routes.every((x) => x.armed)).toBe(true);
    expect(r.fake.calls.filter((c) => c.method === 'setMsi' && !c.inBatch)).toEqual([]);
  });

  it('a change while unmasked is applied to the next message', () => {
    const r = rig({ vectors: 2 });
    r.program(1, 0, 0x30);
    r.control(true, false);
    r.unmask(1);
    r.emu.write32(TABLE.bir, r.at(1, 8), 0x31);
    expect(r.fake.routes[1]!.msi).toEqual({ lo: msg(0, 0x31).lo, hi: 0, data: 0x31 });
    r.fake.routes[1]!.deviceSignal();
    expect(r.fake.take()).toEqual([{ via: 'route', vector: 1, ...msg(0, 0x31) }]);
  });

  it('vector mask masks the route without clearing it; unmask re-arms without reprogramming', () => {
    const r = rig({ vectors: 2 });
    r.program(0, 1, 0x50);
    r.control(true, false);
    r.unmask(0);
    r.fake.calls.length = 0;
    r.mask(0);
    expect(r.fake.calls.map((c) => c.method)).toEqual(['mask']);
    r.unmask(0);
    expect(r.fake.calls.map((c) => c.method)).toEqual(['mask', 'unmask']);
  });

  it('Function Mask masks every vector without touching the Mask bits, and lifting it delivers pending ones once', () => {
    const r = rig({ vectors: 3 });
    for (let v = 0; v < 3; v++) {
      r.program(v, 0, 0x60 + v);
      r.unmask(v);
    }
    r.control(true, false);
    r.control(true, true);
    expect(r.fake.routes.every((x) => x.masked && x.msi !== undefined)).toBe(true);
    for (let v = 0; v < 3; v++) expect(r.emu.read32(TABLE.bir, r.at(v, 12))).toBe(0);
    expect(r.emu.isMasked(0)).toBe(true);
    r.fake.routes[0]!.deviceSignal();
    r.emu.signal(2);
    expect(r.fake.take()).toEqual([]);
    expect(r.emu.read32(PBA.bir, PBA.offset)).toBe(0b101);
    const batches = r.fake.batches;
    r.control(true, false);
    expect(r.fake.batches - batches).toBe(1);
    expect(r.fake.take()).toEqual([
      { via: 'route', vector: 0, ...msg(0, 0x60) },
      { via: 'route', vector: 2, ...msg(0, 0x62) },
    ]);
    expect(r.emu.read32(PBA.bir, PBA.offset)).toBe(0);
  });

  it('Enable off masks every route and removes its message; Enable on again re-arms', () => {
    const r = enabledWithVector0Unmasked(3);
    r.control(false, false);
    expect(r.fake.routes.every((x) => x.masked && x.msi === undefined)).toBe(true);
    r.fake.routes[0]!.deviceSignal();
    expect(r.fake.take()).toEqual([]);
    r.control(true, false);
    expect(r.fake.take()).toEqual([{ via: 'route', vector: 0, ...msg(0, 0x40) }]);
    expect(r.fake.routes[1]!.armed).toBe(false);
  });

  it('a PBA read asks masked vectors only; unmasked routes are never drained', () => {
    const r = rig({ vectors: 4 });
    for (let v = 0; v < 4; v++) r.program(v, 0, 0x40 + v);
    r.unmask(1);
    r.unmask(3);
    r.control(true, false);
    r.fake.calls.length = 0;
    r.emu.read64(PBA.bir, PBA.offset);
    expect(r.fake.calls.map((c) => [c.method, c.vector])).toEqual([
      ['consumePending', 0],
      ['consumePending', 2],
    ]);
    expect(r.fake.violations).toEqual([]);
  });

  it('a device signal latched while masked shows in the PBA, stays set, and is delivered exactly once at unmask', () => {
    const r = rig({ vectors: 2 });
    r.program(1, 1, 0x77);
    r.control(true, false);
    r.fake.routes[1]!.deviceSignal();
    r.fake.routes[1]!.deviceSignal();
    expect(r.readPba(1)).toBe(true);
    expect(r.readPba(1)).toBe(true);
    expect(r.fake.take()).toEqual([]);
    r.unmask(1);
    expect(r.fake.take()).toEqual([{ via: 'route', vector: 1, ...msg(1, 0x77) }]);
    expect(r.readPba(1)).toBe(false);
    r.mask(1);
    r.unmask(1);
    expect(r.fake.take()).toEqual([]);
  });

  it('a masked interrupt both latched in the route and set by the emulator is still delivered once', () => {
    const r = rig({ vectors: 1 });
    r.program(0, 0, 0x40);
    r.control(true, false);
    r.fake.routes[0]!.deviceSignal(); // kernel path
    r.emu.signal(0); // user-space path
    r.unmask(0);
    expect(r.fake.take()).toHaveLength(1);
    // Same, with a PBA read in between (the route's latch moves into the emulator's bit).
    r.mask(0);
    r.fake.routes[0]!.deviceSignal();
    expect(r.readPba(0)).toBe(true);
    r.fake.routes[0]!.deviceSignal();
    r.emu.signal(0);
    r.unmask(0);
    expect(r.fake.take()).toHaveLength(1);
  });

  it('a QWORD address write while unmasked programs both halves in one call', () => {
    const r = rig({ vectors: 1, policy: X2APIC });
    r.program(0, 1, 0x40);
    r.control(true, false);
    r.unmask(0);
    r.fake.calls.length = 0;
    r.emu.write64Halves(TABLE.bir, r.at(0, 0), 0xfee02000, 0x100);
    expect(r.fake.calls.map((c) => [c.method, ...c.args])).toEqual([['setMsi', 0xfee02000, 0x100, 0x40]]);
  });

  it.each([
    ['low then high', [0, 4]],
    ['high then low', [4, 0]],
  ])('two DWORD address writes while unmasked (%s) never program a half-updated route', (_name, order) => {
    const r = rig({ vectors: 1, policy: X2APIC });
    r.program(0, 1, 0x40);
    r.control(true, false);
    r.unmask(0);
    r.fake.calls.length = 0;
    const values: Record<number, number> = { 0: 0xfee05000, 4: 0x300 };
    r.emu.write32(TABLE.bir, r.at(0, order[0]), values[order[0]!]!);
    expect(r.fake.calls).toEqual([]);
    r.fake.routes[0]!.deviceSignal(); // a kernel-path interrupt between the writes goes to the old, complete message
    expect(r.fake.take()).toEqual([{ via: 'route', vector: 0, ...msg(1, 0x40) }]);
    r.emu.write32(TABLE.bir, r.at(0, order[1]), values[order[1]!]!);
    expect(r.fake.calls.map((c) => [c.method, ...c.args])).toEqual([['setMsi', 0xfee05000, 0x300, 0x40]]);
  });

  it('a lone address DWORD write while unmasked applies at the next access, or before the next signal', () => {
    const r = rig({ vectors: 2 });
    r.program(0, 1, 0x40);
    r.control(true, false);
    r.unmask(0);
    r.emu.write32(TABLE.bir, r.at(0, 0), msg(0, 0).lo);
    expect(r.fake.routes[0]!.msi!.lo).toBe(msg(1, 0).lo);
    r.emu.read32(TABLE.bir, r.at(1, 0));
    expect(r.fake.routes[0]!.msi!.lo).toBe(msg(0, 0).lo);
    r.emu.write32(TABLE.bir, r.at(0, 0), msg(1, 0).lo);
    r.emu.signal(0);
    expect(r.fake.take()).toEqual([{ via: 'route', vector: 0, ...msg(1, 0x40) }]);
    // And the data write of the usual lo, hi, data sequence completes the entry too.
    r.emu.write32(TABLE.bir, r.at(0, 0), msg(0, 0).lo);
    r.emu.write32(TABLE.bir, r.at(0, 8), 0x41);
    expect(r.fake.routes[0]!.msi).toEqual({ lo: msg(0, 0).lo, hi: 0, data: 0x41 });
  });

  it('an invalid message keeps the vector from delivering: reported, pending, delivered once fixed', () => {
    const r = rig({ vectors: 1 });
    r.emu.write32(TABLE.bir, r.at(0, 0), 0x1000); // not in the interrupt window
    r.emu.write32(TABLE.bir, r.at(0, 8), 0x40);
    r.control(true, false);
    r.unmask(0);
    expect(r.errors.map((e) => isVirtError(e.error, 'INVALID_MSI'))).toEqual([true]);
    expect(r.emu.isDelivering(0)).toBe(false);
    expect(r.fake.routes[0]!.armed).toBe(false);
    expect(r.emu.signal(0)).toBe(false);
    expect(r.readPba(0)).toBe(true);
    r.emu.write32(TABLE.bir, r.at(0, 0), msg(0, 0).lo);
    r.emu.write32(TABLE.bir, r.at(0, 8), 0x40);
    expect(r.fake.take()).toEqual([{ via: 'route', vector: 0, ...msg(0, 0x40) }]);
    expect(r.readPba(0)).toBe(false);
  });

  it('a masked vector with a message the route refuses is not an error until the guest unmasks it', () => {
    const r = rig({ vectors: 2 });
    r.emu.write32(TABLE.bir, r.at(0, 0), 0xfee00000);
    r.emu.write32(TABLE.bir, r.at(0, 8), 0x3); // vector 3: refused by the route
    r.control(true, false);
    expect(r.errors).toEqual([]);
    expect(r.fake.routes[0]!.msi).toBeUndefined();
    r.unmask(0);
    expect(r.errors.map((e) => isVirtError(e.error, 'INVALID_MSI'))).toEqual([true]);
  });

  it('reset masks and clears every route and drops latched signals', () => {
    const r = enabledWithVector0Unmasked(2);
    r.fake.routes[1]!.deviceSignal();
    r.emu.signal(1);
    r.emu.reset();
    expect(r.fake.routes.every((x) => x.masked && x.msi === undefined && !x.latched)).toBe(true);
    expect(r.emu.read64(PBA.bir, PBA.offset)).toBe(0n);
    expect(r.emu.enabled).toBe(false);
    expect(r.emu.entry(0)).toEqual({ addressLo: 0, addressHi: 0, data: 0, masked: true });
    r.program(1, 0, 0x41);
    r.unmask(1);
    r.control(true, false);
    expect(r.fake.take()).toEqual([]);
  });

  it('clearRoutes detaches: routes masked and cleared, their latches kept as pending, later signals injected', () => {
    const r = rig({ vectors: 2 });
    r.program(0, 0, 0x40);
    r.program(1, 0, 0x41);
    r.unmask(1);
    r.control(true, false);
    r.fake.routes[0]!.deviceSignal();
    r.emu.clearRoutes();
    for (const x of r.fake.routes) x.attached = false;
    expect(r.fake.routes.every((x) => x.masked && x.msi === undefined)).toBe(true);
    expect(r.readPba(0)).toBe(true);
    expect(r.emu.signal(1)).toBe(true);
    expect(r.fake.take()).toEqual([{ via: 'inject', vector: -1, ...msg(0, 0x41) }]);
    r.unmask(0);
    expect(r.fake.take()).toEqual([{ via: 'inject', vector: -1, ...msg(0, 0x40) }]);
    expect(r.fake.violations).toEqual([]);
  });

  it('setRoutes drives routes of unknown state to the guest state, in one batch', () => {
    const r = rig({ vectors: 2, routes: false });
    r.program(0, 0, 0x40);
    r.unmask(0);
    r.control(true, false);
    r.fake.routes[1]!.masked = false; // someone left it unmasked
    r.fake.routes[1]!.msi = { lo: msg(0, 0).lo, hi: 0, data: 0x99 };
    r.emu.setRoutes(r.fake.routes, { batch: r.fake.batch });
    expect(r.fake.batches).toBe(1);
    expect(r.fake.routes[0]!.armed).toBe(true);
    expect(r.fake.routes[1]!.armed).toBe(false);
  });

  it('rejects a wrong routes array before changing anything', () => {
    const r = rig({ vectors: 2, routes: false });
    expect(() => r.emu.setRoutes([])).toThrow(/routes must be an array of 2/);
    expect(() => r.emu.setRoutes([undefined, {} as never])).toThrow(/routes\[1\] has no setMsi/);
    expect(() => r.emu.setRoutes([undefined, undefined], { batch: 3 as never })).toThrow(/batch/);
    expect(() => r.emu.setRoutes([r.fake.routes[0], r.fake.routes[0]])).toThrow(/its own route/);
    expect(r.fake.calls).toEqual([]);
  });
});

describe('user-space signal path', () => {
  it('delivers through the route event when unmasked, sets the pending bit when masked', () => {
    const r = rig({ vectors: 2 });
    r.program(0, 1, 0x40);
    r.control(true, false);
    expect(r.emu.signal(0)).toBe(false);
    expect(r.fake.take()).toEqual([]);
    expect(r.emu.isPendingHeld(0)).toBe(true);
    r.unmask(0);
    expect(r.fake.take()).toEqual([{ via: 'route', vector: 0, ...msg(1, 0x40) }]);
    expect(r.emu.signal(0)).toBe(true);
    expect(r.fake.callsOf('signal', 0)).toHaveLength(2);
    expect(r.fake.take()).toHaveLength(1);
  });

  it('uses requestMsi for a vector with no route', () => {
    const r = rig({ vectors: 2, routes: (v) => v === 0 });
    r.program(1, 1, 0x41);
    r.control(true, false);
    r.emu.signal(1);
    expect(r.fake.take()).toEqual([]);
    r.unmask(1);
    expect(r.fake.take()).toEqual([{ via: 'inject', vector: -1, ...msg(1, 0x41) }]);
    r.emu.signal(1);
    expect(r.fake.take()).toEqual([{ via: 'inject', vector: -1, ...msg(1, 0x41) }]);
  });

  it('a route-less vector with an invalid message or without requestMsi keeps its interrupt pending', () => {
    const r = rig({ vectors: 2, routes: false });
    r.emu.write32(TABLE.bir, r.at(0, 0), 0xfee00000);
    r.emu.write32(TABLE.bir, r.at(0, 8), 0x5); // vector 5 is reserved for exceptions
    r.unmask(0);
    r.control(true, false);
    expect(r.emu.signal(0)).toBe(false);
    expect(r.readPba(0)).toBe(true);
    expect(r.fake.take()).toEqual([]);
    const n = rig({ vectors: 1, routes: false, inject: false });
    n.program(0, 0, 0x40);
    n.unmask(0);
    n.control(true, false);
    expect(n.emu.signal(0)).toBe(false);
    expect(n.readPba(0)).toBe(true);
  });

  it('ignores vectors that do not exist', () => {
    const r = rig({ vectors: 2 });
    r.control(true, false);
    for (const v of [-1, 2, 2048, 0.5, NaN, Infinity]) expect(r.emu.signal(v)).toBe(false);
    expect(r.emu.read64(PBA.bir, PBA.offset)).toBe(0n);
    expect(r.fake.calls.filter((c) => c.method === 'signal')).toEqual([]);
  });
});

describe('failures never reach the guest', () => {
  it('a throwing route is reported, the vector keeps its interrupt pending, resync recovers', () => {
    const r = rig({ vectors: 1 });
    r.program(0, 0, 0x40);
    r.control(true, false);
    r.emu.signal(0);
    r.fake.fail('unmask');
    expect(() => r.unmask(0)).not.toThrow();
    expect(r.errors).toHaveLength(1);
    expect(r.emu.isDelivering(0)).toBe(false);
    expect(r.fake.take()).toEqual([]);
    expect(r.readPba(0)).toBe(true);
    r.emu.resync();
    expect(r.fake.take()).toHaveLength(1);
    expect(r.emu.isDelivering(0)).toBe(true);
  });

  it.each(['mask', 'clearMsi', 'consumePending', 'signal', 'setMsi'] as const)('a failing %s never throws', (method) => {
    const r = rig({ vectors: 2 });
    r.fake.fail(method, 100);
    r.program(0, 0, 0x40);
    r.program(1, 0, 0x41);
    r.unmask(0);
    expect(() => {
      r.control(true, false);
      r.emu.signal(0);
      r.emu.signal(1);
      r.emu.read64(PBA.bir, PBA.offset);
      r.mask(0);
      r.unmask(1);
      r.control(false, false);
      r.emu.save();
      r.emu.reset();
      r.emu.clearRoutes();
    }).not.toThrow();
    expect(r.errors.length).toBeGreaterThan(0);
  });

  it('a failed batch commit is retried once at once, re-driving every route', () => {
    const r = rig({ vectors: 3 });
    for (let v = 0; v < 3; v++) {
      r.program(v, 0, 0x40 + v);
      r.unmask(v);
    }
    r.fake.fail('batch');
    r.control(true, false);
    expect(r.errors.map((e) => e.operation)).toEqual(['MsixBatch']);
    expect(r.fake.batches).toBe(3); // setRoutes, the failed one, the retry
    expect(r.fake.routes.every((x) => x.armed)).toBe(true);
    for (let v = 0; v < 3; v++) expect(r.emu.isDelivering(v)).toBe(true);
  });

  it('when the retry fails too, routes are unknown until resync()', () => {
    const r = rig({ vectors: 3 });
    for (let v = 0; v < 3; v++) {
      r.program(v, 0, 0x40 + v);
      r.unmask(v);
    }
    r.fake.fail('batch', 2);
    r.control(true, false);
    expect(r.errors.map((e) => e.operation)).toEqual(['MsixBatch', 'MsixBatch (retry)']);
    // Roll the fake back as a backend would.
    for (const x of r.fake.routes) {
      x.masked = true;
      x.msi = undefined;
    }
    for (let v = 0; v < 3; v++) expect(r.emu.isDelivering(v)).toBe(false);
    r.fake.calls.length = 0;
    r.emu.read64(PBA.bir, PBA.offset); // unknown routes are not asked
    expect(r.fake.calls).toEqual([]);
    r.emu.signal(1); // held as pending, not lost
    r.emu.resync();
    expect(r.fake.routes.every((x) => x.armed)).toBe(true);
    expect(r.fake.take()).toEqual([{ via: 'route', vector: 1, ...msg(0, 0x41) }]);
  });

  it('an onError handler that throws is contained', () => {
    const r = rig({ vectors: 1 });
    const emu = r.emu;
    (emu as unknown as { onError: () => void }).onError = () => {
      throw new Error('handler bug');
    };
    r.fake.fail('setMsi', 2); // the preload at Enable (silent while masked), then the unmask
    r.program(0, 0, 0x40);
    r.control(true, false);
    expect(emu.errorCount).toBe(0);
    expect(() => r.unmask(0)).not.toThrow();
    expect(emu.errorCount).toBe(1);
  });
});
