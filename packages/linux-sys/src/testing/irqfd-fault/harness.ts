/**
 * Drives irqfd routes of the shared engine on a kernel (a backend's kernel model, or a real device)
 * and checks, against the kernel's own state (the table it last accepted, which irqfds it has
 * assigned, what lands in each vCPU's IRR), the invariants that must hold after any sequence of
 * kernel failures:
 *
 * 1. an irqfd is assigned only on a GSI that the committed table routes;
 * 2. no route is removed while its irqfd is assigned (the model records it as a hazard);
 * 3. what a route reports (`msi`, `masked`) is what the kernel does for it;
 * 4. no signal is lost or doubled: delivered once where the route reports armed, else latched
 *    and reported once by `consumePending()`;
 * 5. a route whose `fault` is unset reports what the caller asked; after one operation that
 *    succeeds, every route converges to what was asked;
 * 6. a disposed route whose irqfd the kernel kept assigned (its deassign refused, and a copy of
 *    `event.fd` held elsewhere keeping the file open) keeps its GSI routed to its own MSI, and no
 *    other route gets that GSI, until a later operation's deassign succeeds.
 *
 * What was asked is tracked here, independently of the engine (`Spec`). What differs between
 * backends (how to build a partition, how to read the kernel back) comes from an
 * {@link IrqFdFaultAdapter}.
 */
import { type Disposable, type MsiMessage, encodeMsi, isVirtError } from '@tsvmm/virt';
import type { ApicBus } from '@tsvmm/virt/testing';
import type { EngineRoute, IrqFdEngine } from '../../irqfd';
import type { FaultInjector } from '../fault-injector';
import { runner } from './runner';

/** A vCPU and vector an MSI is sent to. */
export interface Target {
  /** The vCPU index, used as its APIC ID (0-255). */
  readonly vcpu: number;
  /** The interrupt vector, 0-255. */
  readonly vector: number;
}

/** What the caller asked of one route. */
export interface Spec {
  /** The MSI last set successfully, or undefined. */
  msi: MsiMessage | undefined;
  /** Masked as last asked (new routes start masked). */
  masked: boolean;
  /** The route was disposed (or created in a batch that was rolled back). */
  disposed: boolean;
}

/** A route under test, with what was asked of it. */
export interface Tracked {
  /** Names the route in failure messages, e.g. `A`. */
  readonly name: string;
  /** The route under test. */
  readonly route: EngineRoute;
  /** What was asked of it, tracked apart from the engine. */
  readonly spec: Spec;
  /** A signal was sent while the route did not deliver, and nobody has seen it since. */
  owed: boolean;
  /**
   * A copy of `event.fd` held outside the route (as a device given the number would), made with
   * {@link Rig.hold}: it keeps the eventfd's file open whatever the route closes.
   */
  copy?: number;
  /** Every `vcpu:vector` this route was ever given (each route has its own vectors). */
  readonly targets: Set<string>;
}

/** The interrupts in every vCPU's IRR, as `[vcpu, vector]`, and how many were injected onto a vector still pending. */
export interface IrrSnapshot {
  /** Every pending interrupt as `[vcpu, vector]`. */
  readonly irr: Array<[number, number]>;
  /** `[vcpu, count]` for every vCPU on which an interrupt was coalesced (delivered twice). */
  readonly coalesced: Array<[number, number]>;
}

/**
 * One partition on a backend's kernel, wrapped in a {@link FaultInjector}, and how to read the
 * kernel's state back. On a real device, what user space cannot read is answered from the
 * engine's own record and marked by `real: true` (then delivery is what checks it).
 */
export interface IrqFdFaultKernel extends Disposable {
  /** The system calls of this partition, with faults injected. */
  readonly sys: FaultInjector;
  /** The partition's irqfd engine. */
  readonly irqfd: IrqFdEngine;
  /** On a real device: the kernel state below comes partly from the engine's record. */
  readonly real: boolean;
  /** Slots the overflow relay's platform watches now (0 without a platform). */
  readonly relayWatched: number;
  /** MSI routes of the table the kernel last accepted, by GSI. */
  kernelTable(): ReadonlyMap<number, MsiMessage>;
  /** The GSI the kernel has `route`'s eventfd assigned on as an irqfd. */
  assignedGsi(route: EngineRoute): number | undefined;
  /** What the kernel recorded as having crashed or corrupted a real host (empty on a device). */
  hazards(): readonly unknown[];
  /** Reads every vCPU's IRR and clears it (faults cleared first where reading needs a call). */
  takeIrr(): IrrSnapshot;
  /** Eventfds open in the kernel, or `undefined` where it cannot be counted. */
  openEventFds(): number | undefined;
  /**
   * The GSI the kernel has the eventfd open as `fd` (any number for its file) assigned on, in this
   * partition; omitted where the kernel cannot be read back (then invariant 6 is not checked).
   */
  irqfdGsiOf?(fd: number): number | undefined;
  /** The GSI of every irqfd the kernel has assigned in this partition (omitted as above). */
  assignedIrqfds?(): readonly number[];
  /**
   * After the partition is disposed: what the kernel still holds (every number must be 0, every
   * list empty; `fds` may hold one number per injected kcmp failure, the `event.fd` duplicates that
   * EventFd.dispose leaves open by design), or `undefined` where it cannot be read.
   */
  residue?(): Readonly<Record<string, number | readonly unknown[]>>;
}

/** What a backend supplies to run the shared suite on its kernel. */
export interface IrqFdFaultAdapter<K extends IrqFdFaultKernel = IrqFdFaultKernel> {
  /** Names the kernel in test titles, e.g. `KVM model`. */
  readonly name: string;
  /** The label of the ioctl that assigns and deassigns an irqfd (as the FaultInjector logs it). */
  readonly irqfdCall: string;
  /** The label of the ioctl that replaces the routing table. */
  readonly routingCall: string;
  /** The first GSI the engine hands out. */
  readonly firstGsi: number;
  /**
   * A partition with `vcpus` vCPUs and the irqfd engine on it; with `kernelGsis`, the backend's
   * limits leave the engine that many GSIs (the rest go through the overflow relay); with
   * `retargetWindowMs`, the partition coalesces retargets for that long.
   */
  create(options: { readonly vcpus: number; readonly kernelGsis?: number; readonly retargetWindowMs?: number }): K;
}

/** Reads every vCPU's IRR on an {@link ApicBus} and clears it. */
export function takeApicBusIrr(bus: ApicBus): IrrSnapshot {
  const irr: Array<[number, number]> = [];
  const coalesced = coalescedOn(bus);
  bus.apics.forEach((apic, vcpu) => {
    for (let w = 0; w < 8; w++) for (let b = 0; b < 32; b++) if ((apic.irr[w]! >>> b) & 1) irr.push([vcpu, w * 32 + b]);
    apic.clearIrr();
  });
  return { irr, coalesced };
}

/**
 * `[vcpu, count]` for every local APIC of `bus` that was sent a vector while the same vector was
 * still pending in its IRR. IRR is one bit per vector, so only a model's APICs can count this.
 */
export function coalescedOn(bus: ApicBus): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  bus.apics.forEach((apic, vcpu) => {
    if (apic.coalesced !== 0) out.push([vcpu, apic.coalesced]);
  });
  return out;
}

/** Throws an `Error` naming the first vCPU of `coalesced` (as {@link coalescedOn} returns it): an interrupt was delivered twice. */
export function assertNoCoalesced(coalesced: ReadonlyArray<readonly [number, number]>): void {
  for (const [vcpu, n] of coalesced) throw new Error(`vCPU ${vcpu}: ${n} interrupt(s) injected while the same vector was still pending (delivered twice)`);
}

/** The x86 MSI for `t`: physical destination APIC ID `t.vcpu`, fixed delivery, edge-triggered, vector `t.vector`. */
export function msiFor(t: Target): MsiMessage {
  return encodeMsi({ destinationId: t.vcpu, vector: t.vector });
}

/** The target of `m`: destination ID from address bits 19:12, vector from data bits 7:0. */
export function targetOf(m: MsiMessage): Target {
  return { vcpu: (m.addressLo >>> 12) & 0xff, vector: m.data & 0xff };
}

/** The routes, their specs, and the kernel under them. */
export class Rig<K extends IrqFdFaultKernel = IrqFdFaultKernel> implements Disposable {
  /** The partition under test, from the adapter. */
  readonly kernel: K;
  /** The partition's system calls, where a test injects faults. */
  readonly sys: FaultInjector;
  /** The partition's irqfd engine. */
  readonly irqfd: IrqFdEngine;
  /** Every route tracked so far, disposed ones included. */
  readonly routes: Tracked[] = [];

  constructor(adapter: IrqFdFaultAdapter<K>, options: { kernelGsis?: number; vcpus?: number; retargetWindowMs?: number } = {}) {
    this.kernel = adapter.create({
      vcpus: options.vcpus ?? 2,
      ...(options.kernelGsis === undefined ? {} : { kernelGsis: options.kernelGsis }),
      ...(options.retargetWindowMs === undefined ? {} : { retargetWindowMs: options.retargetWindowMs }),
    });
    this.sys = this.kernel.sys;
    this.irqfd = this.kernel.irqfd;
  }

  /** A new route, tracked (outside any fault). */
  add(name: string): Tracked {
    const t: Tracked = { name, route: this.irqfd.newIrqFdRoute(), spec: { msi: undefined, masked: true, disposed: false }, owed: false, targets: new Set<string>() };
    this.routes.push(t);
    return t;
  }

  /** The tracked routes not disposed. */
  live(): Tracked[] {
    return this.routes.filter((t) => !t.spec.disposed);
  }

  /** IRR of every vCPU, cleared: `[[vcpu, vector], ...]`; also checks nothing was injected twice. */
  takeIrr(): Array<[number, number]> {
    const { irr, coalesced } = this.kernel.takeIrr();
    assertNoCoalesced(coalesced);
    return irr;
  }

  /**
   * Gives `t`'s `event.fd` to "a device": a copy of the number made behind the engine's back (not
   * through the fault injector), which keeps the eventfd's open file alive until the rig's disposal.
   */
  hold(t: Tracked): Tracked {
    const fd = this.sys.inner.dup?.(t.route.event.fd) ?? -1;
    if (fd < 0) throw new Error(`${t.name}: could not copy event.fd (${fd})`);
    t.copy = fd;
    return t;
  }

  /**
   * Opens an eventfd behind the engine's back (not through the fault injector), as another part of
   * the process would, e.g. on a number a route just freed. Counted in {@link converge}'s
   * descriptor check and closed with the rig.
   */
  openForeign(): number {
    const fd = this.sys.inner.eventfd(0, 0);
    if (fd < 0) throw new Error(`could not open a foreign eventfd (${fd})`);
    this.foreign.add(fd);
    return fd;
  }

  /** Numbers opened by {@link openForeign}. */
  readonly foreign = new Set<number>();

  /** Copies of `event.fd` held by the rig, open now. */
  private get copies(): number {
    return this.routes.filter((t) => t.copy !== undefined).length;
  }

  /** Reported armed: has an MSI and is unmasked. */
  static reportsArmed(r: EngineRoute): boolean {
    return r.msi !== undefined && !r.masked;
  }

  /** Signals `t` once and checks where it went: a route that reports armed delivers it at once to its MSI's target; otherwise it latches (owed). */
  signal(t: Tracked, where: string): void {
    const { expect } = runner();
    const armed = Rig.reportsArmed(t.route);
    t.route.event.signal();
    const irr = this.takeIrr();
    if (armed) {
      expect({ where, route: t.name, irr }).toEqual({ where, route: t.name, irr: [[targetOf(t.route.msi!).vcpu, targetOf(t.route.msi!).vector]] });
      t.owed = false;
    } else {
      expect({ where, route: t.name, irr }).toEqual({ where, route: t.name, irr: [] });
      t.owed = true;
    }
  }

  /**
   * After an operation: owed signals of routes that now report armed must have landed (at arm).
   * An owed signal may also land for a route that no longer reports armed: a transaction armed it
   * (and delivered what had latched), then failed and was rolled back; a delivery cannot be taken
   * back, so it counts as delivered (once: `consumePending` must not report it again). Any other
   * interrupt is spurious or doubled.
   */
  collectArmed(where: string): void {
    const { expect } = runner();
    const irr = this.takeIrr();
    const seen = new Set<Tracked>();
    for (const [vcpu, vector] of irr) {
      const owner = this.routes.find((t) => t.targets.has(`${vcpu}:${vector}`));
      expect({ where, interrupt: [vcpu, vector], owner: owner?.name, owed: owner?.owed }).toEqual({ where, interrupt: [vcpu, vector], owner: owner?.name ?? 'a route', owed: true });
      expect({ where, route: owner!.name, twice: seen.has(owner!) }).toEqual({ where, route: owner!.name, twice: false });
      seen.add(owner!);
      owner!.owed = false;
    }
    for (const t of this.live()) {
      if (t.owed && Rig.reportsArmed(t.route)) expect({ where, route: t.name, lost: true }).toEqual({ where, route: t.name, lost: false });
    }
  }

  /** Invariants 1-3 and 5 (reporting), against the kernel's state. */
  checkState(where: string): void {
    const { expect } = runner();
    expect({ where, hazards: this.kernel.hazards() }).toEqual({ where, hazards: [] });
    const table = this.kernel.kernelTable();
    const watched = new Set<EngineRoute>();
    for (const t of this.routes) {
      const r = t.route;
      const ctx = { where, route: t.name };
      if (t.spec.disposed) {
        expect({ ...ctx, disposed: r.disposed }).toEqual({ ...ctx, disposed: true });
        this.checkDisposed(t, where);
        continue;
      }
      expect({ ...ctx, disposed: r.disposed }).toEqual({ ...ctx, disposed: false });
      const gsi = this.kernel.assignedGsi(r);
      // 1: assigned only on a routed GSI (2 is the model's hazard list).
      if (gsi !== undefined) expect({ ...ctx, gsi, routed: table.has(gsi) }).toEqual({ ...ctx, gsi, routed: true });
      // 3: what it reports is what the kernel does.
      const relayed = r.mediation === 'emulated' && Rig.reportsArmed(r);
      if (relayed) watched.add(r);
      const kernelArmed = gsi !== undefined;
      if (Rig.reportsArmed(r) && !relayed) {
        expect({ ...ctx, assignedOn: gsi, kernelMsi: gsi === undefined ? undefined : table.get(gsi) }).toEqual({ ...ctx, assignedOn: r.gsi, kernelMsi: r.msi });
      } else if (!Rig.reportsArmed(r)) {
        expect({ ...ctx, assigned: kernelArmed }).toEqual({ ...ctx, assigned: false });
        if (r.gsi !== undefined && r.fault !== undefined) expect({ ...ctx, msi: table.get(r.gsi) }).toEqual({ ...ctx, msi: r.msi });
      }
      // 5: without a fault, it reports the request.
      if (r.fault === undefined) {
        expect({ ...ctx, msi: r.msi, masked: r.masked }).toEqual({ ...ctx, msi: t.spec.msi, masked: t.spec.masked });
      }
    }
    expect({ where, relayed: this.kernel.relayWatched }).toEqual({ where, relayed: watched.size });
    const all = this.kernel.assignedIrqfds?.();
    if (all !== undefined) {
      // 1 and 6 for every irqfd the kernel has, the routes' and the lingering ones: routed, one per GSI.
      for (const gsi of all) expect({ where, irqfdOn: gsi, routed: table.has(gsi) }).toEqual({ where, irqfdOn: gsi, routed: true });
      const twice = all.filter((g, i) => all.indexOf(g) !== i);
      expect({ where, gsisWithTwoIrqfds: twice }).toEqual({ where, gsisWithTwoIrqfds: [] });
    }
  }

  /**
   * Invariant 6 for a disposed route whose file a copy keeps open: while the kernel still has its
   * irqfd assigned, the GSI is routed to one of the route's own MSIs (a signal on the copy lands
   * where the route sent it, never on another route's vector) and no live route holds the GSI.
   */
  private checkDisposed(t: Tracked, where: string): void {
    const { expect } = runner();
    if (t.copy === undefined || this.kernel.irqfdGsiOf === undefined) return;
    const gsi = this.kernel.irqfdGsiOf(t.copy);
    if (gsi === undefined) return;
    const ctx = { where, route: t.name, lingeringOn: gsi };
    const m = this.kernel.kernelTable().get(gsi);
    const target = m === undefined ? undefined : `${targetOf(m).vcpu}:${targetOf(m).vector}`;
    expect({ ...ctx, routedToItsOwnMsi: target !== undefined && t.targets.has(target) }).toEqual({ ...ctx, routedToItsOwnMsi: true });
    const holders = this.live()
      .filter((o) => o.route.gsi === gsi)
      .map((o) => o.name);
    expect({ ...ctx, alsoHeldBy: holders }).toEqual({ ...ctx, alsoHeldBy: [] });
    expect({ ...ctx, engineKnowsIt: this.irqfd.lingeringCount > 0 }).toEqual({ ...ctx, engineKnowsIt: true });
  }

  /** Invariant 4: owed signals of non-delivering routes are reported once by consumePending; a new signal goes where the route says. */
  probe(where: string): void {
    const { expect } = runner();
    for (const t of this.live()) {
      const r = t.route;
      if (!Rig.reportsArmed(r)) {
        expect({ where, route: t.name, pending: r.consumePending() }).toEqual({ where, route: t.name, pending: t.owed });
        expect({ where, route: t.name, again: r.consumePending() }).toEqual({ where, route: t.name, again: false });
        t.owed = false;
      } else {
        expect({ where, route: t.name, pending: r.consumePending() }).toEqual({ where, route: t.name, pending: false });
      }
      this.signal(t, `${where}, probe`);
    }
  }

  /** Everything the suite checks after an operation, failed or not. */
  checkAll(where: string): void {
    this.collectArmed(where);
    this.checkState(where);
  }

  /** One operation that succeeds converges every route to what was asked. */
  converge(where: string): void {
    const { expect } = runner();
    this.sys.clearFaults();
    this.irqfd.batch(() => undefined);
    this.collectArmed(`${where}, after converging`);
    for (const t of this.live()) expect({ where, route: t.name, fault: t.route.fault?.message }).toEqual({ where, route: t.name, fault: undefined });
    this.checkState(`${where}, after converging`);
    this.probe(`${where}, after converging`);
    // Resources: one eventfd per live route, open as two numbers (the EventFd's own descriptor and the
    // duplicate it hands out as `event.fd`; the model counts numbers), GSIs only for routes with an MSI.
    // A dispose whose kcmp failed cannot prove `event.fd` still names its file and leaves that one
    // number open by design (EventFd.dispose): each injected kcmp failure accounts for exactly one.
    // The rig's own copies of `event.fd` (Rig.hold) and foreign eventfds (Rig.openForeign) count
    // once each. Lingering irqfds are gone.
    const live = this.live();
    const unprovenDups = this.unprovenDups();
    const eventfds = this.kernel.openEventFds();
    if (eventfds !== undefined) {
      expect({ where, eventfds, routes: this.irqfd.routeCount }).toEqual({ where, eventfds: 2 * live.length + unprovenDups + this.copies + this.foreign.size, routes: live.length });
    }
    expect({ where, lingering: this.irqfd.lingeringCount }).toEqual({ where, lingering: 0 });
    if (this.kernel.irqfdGsiOf !== undefined) {
      for (const t of this.routes) {
        if (t.spec.disposed && t.copy !== undefined) expect({ where, route: t.name, stillAssignedOn: this.kernel.irqfdGsiOf(t.copy) }).toEqual({ where, route: t.name, stillAssignedOn: undefined });
      }
    }
    const withMsi = live.filter((t) => t.spec.msi !== undefined && t.route.mediation === 'kernel').length;
    expect({ where, gsis: this.irqfd.gsiCount, kernelRoutes: this.kernel.kernelTable().size }).toEqual({ where, gsis: withMsi, kernelRoutes: withMsi });
  }

  /** Disposes the partition; where the kernel can tell, it must then hold nothing and have seen no hazard. */
  [Symbol.dispose](): void {
    for (const t of this.routes) if (t.copy !== undefined) this.sys.inner.close(t.copy);
    for (const fd of this.foreign) this.sys.inner.close(fd);
    this.kernel[Symbol.dispose]();
    const residue = this.kernel.residue?.();
    if (residue === undefined) return;
    // Nothing is left but the handed-out numbers left open by design: one per injected kcmp failure.
    const empty = Object.fromEntries(Object.entries(residue).map(([k, v]) => [k, typeof v === 'number' ? (k === 'fds' ? this.unprovenDups() : 0) : []]));
    runner().expect(residue).toEqual(empty);
  }

  /**
   * Disposals whose kcmp was failed by the test: each leaves `event.fd` (the number handed out)
   * open by design, since EventFd.dispose cannot prove it still names its file.
   */
  private unprovenDups(): number {
    return this.sys.log.filter((c) => c.call === 'kcmp' && c.injected).length;
  }
}

/** Runs `fn` on the route; on success records `change` in the spec. A failure must be a typed error. */
export function step(t: Tracked, fn: (r: EngineRoute) => void, change: (s: Spec) => void): void {
  try {
    fn(t.route);
  } catch (e) {
    if (!isVirtError(e)) throw e;
    return;
  }
  change(t.spec);
}

/** `route.setMsi` to `target` through {@link step}; `target` is recorded as one of the route's vectors. */
export const setMsi = (t: Tracked, target: Target): void => {
  t.targets.add(`${target.vcpu}:${target.vector}`);
  step(
    t,
    (r) => {
      const m = msiFor(target);
      r.setMsi(m.addressLo, m.data);
    },
    (s) => void (s.msi = msiFor(target)),
  );
};
/** `route.clearMsi()` through {@link step}. */
export const clearMsi = (t: Tracked): void => step(t, (r) => r.clearMsi(), (s) => void (s.msi = undefined));
/** `route.mask()` through {@link step}. */
export const mask = (t: Tracked): void => step(t, (r) => r.mask(), (s) => void (s.masked = true));
/** `route.unmask()` through {@link step}. */
export const unmask = (t: Tracked): void => step(t, (r) => r.unmask(), (s) => void (s.masked = false));
/** `route.dispose()` (which never throws), recorded as disposed. */
export const dispose = (t: Tracked): void => {
  t.route.dispose();
  t.spec.disposed = true;
};

/**
 * A batch over tracked routes: calls inside it record their own success; if the batch's commit
 * fails, every route it touched is asked back to its state before the batch (routes created in
 * it are disposed), which is the contract.
 */
export function batch(rig: Rig, body: (created: (name: string) => Tracked | undefined) => void): void {
  const before = rig.routes.map((t) => ({ t, spec: { ...t.spec } }));
  const created: Tracked[] = [];
  try {
    rig.irqfd.batch(() =>
      body((name) => {
        try {
          const t: Tracked = { name, route: rig.irqfd.newIrqFdRoute(), spec: { msi: undefined, masked: true, disposed: false }, owed: false, targets: new Set<string>() };
          created.push(t);
          rig.routes.push(t);
          return t;
        } catch (e) {
          if (!isVirtError(e)) throw e;
          return undefined;
        }
      }),
    );
  } catch (e) {
    if (!isVirtError(e)) throw e;
    for (const { t, spec } of before) if (!t.spec.disposed) Object.assign(t.spec, spec);
    for (const t of created) t.spec.disposed = true;
  }
}
