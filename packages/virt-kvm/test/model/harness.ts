/**
 * Drives KVM irqfd routes on the KVM model and checks, against the model's real state (the table
 * the kernel last accepted, which irqfds are assigned, what lands in each vCPU's IRR), the
 * invariants that must hold after any sequence of kernel failures:
 *
 * 1. an irqfd is assigned only on a GSI that the committed table routes;
 * 2. no route is removed while its irqfd is assigned (the model records it as a hazard);
 * 3. what a route reports (`msi`, `masked`) is what the kernel does for it;
 * 4. no signal is lost or doubled: delivered once where the route reports armed, else latched
 *    and reported once by `consumePending()`;
 * 5. a route whose `fault` is unset reports what the caller asked; after one operation that
 *    succeeds, every route converges to what was asked.
 *
 * What was asked is tracked here, independently of the engine (`Spec`).
 */
import { type MsiMessage, encodeMsi, isVirtError } from '@tsvmm/virt';
import { FaultInjector } from '@tsvmm/linux-sys/testing';
import { KvmPartition, type KvmIrqFd, type KvmIrqFdRoute } from '../../src';
import { KvmKernelModel, type ModelRelayPlatform, modelRelayPlatform } from '../../src/testing';

export interface Target {
  readonly vcpu: number;
  readonly vector: number;
}

/** What the caller asked of one route. */
export interface Spec {
  msi: MsiMessage | undefined;
  masked: boolean;
  disposed: boolean;
}

export interface Tracked {
  readonly name: string;
  readonly route: KvmIrqFdRoute;
  readonly spec: Spec;
  /** A signal was sent while the route did not deliver, and nobody has seen it since. */
  owed: boolean;
  /** Every `vcpu:vector` this route was ever given (each route has its own vectors). */
  readonly targets: Set<string>;
}

export function msiFor(t: Target): MsiMessage {
  return encodeMsi({ destinationId: t.vcpu, vector: t.vector });
}

export function targetOf(m: MsiMessage): Target {
  return { vcpu: (m.addressLo >>> 12) & 0xff, vector: m.data & 0xff };
}

/**
 * The routes, their specs, and the kernel under them: the KVM model (every check), or with
 * `real: true` the real /dev/kvm, where only what the kernel lets user space see is checked (IRR
 * through KVM_GET_LAPIC, eventfd counters through consumePending; the committed table is the
 * engine's record of the last table the kernel accepted, since KVM has no call to read it back).
 */
export class Rig implements Disposable {
  readonly model: KvmKernelModel;
  readonly sys: FaultInjector;
  readonly partition: KvmPartition;
  readonly irqfd: KvmIrqFd;
  readonly relay: ReturnType<typeof modelRelayPlatform>;
  readonly routes: Tracked[] = [];
  /** On the real /dev/kvm (the model is then unused). */
  readonly real: boolean;

  constructor(options: { routingEntries?: number; maxRoutes?: number; vcpus?: number; real?: boolean } = {}) {
    const vcpus = options.vcpus ?? 2;
    this.real = options.real ?? false;
    this.model = new KvmKernelModel({ apicIds: Array.from({ length: vcpus }, (_, i) => i), maxRoutes: options.routingEntries ?? 4096 });
    this.sys = this.real ? new FaultInjector() : new FaultInjector(this.model);
    this.relay = modelRelayPlatform(this.model);
    this.partition = KvmPartition.create({
      vcpus,
      sys: this.sys,
      irqfd: 'kernel',
      ...(this.real ? {} : { overflow: this.relay }),
      ...(options.routingEntries === undefined ? {} : { routingEntries: options.routingEntries }),
      ...(options.maxRoutes === undefined ? {} : { maxRoutes: options.maxRoutes }),
    });
    this.irqfd = this.partition.irqfd() as KvmIrqFd;
  }

  get platform(): ModelRelayPlatform | undefined {
    return this.relay.platforms[0];
  }

  /** MSI routes of the table the kernel last accepted. */
  private kernelTable(): ReadonlyMap<number, MsiMessage> {
    return this.real ? this.irqfd.table.kernelRoutes() : this.model.msiRoutes();
  }

  /** A new route, tracked (outside any fault). */
  add(name: string): Tracked {
    const t: Tracked = { name, route: this.irqfd.newIrqFdRoute(), spec: { msi: undefined, masked: true, disposed: false }, owed: false, targets: new Set<string>() };
    this.routes.push(t);
    return t;
  }

  live(): Tracked[] {
    return this.routes.filter((t) => !t.spec.disposed);
  }

  /** IRR of every vCPU, read from the model and cleared: `[[vcpu, vector], ...]`; also checks nothing was injected twice. */
  takeIrr(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    if (this.real) {
      this.sys.clearFaults();
      for (let v = 0; v < this.partition.vcpuCount; v++) {
        for (const vec of this.partition.readLocalApic(v).irr) out.push([v, vec]);
        this.partition.clearIrr(v);
      }
      return out;
    }
    this.model.bus.apics.forEach((apic, vcpu) => {
      for (let w = 0; w < 8; w++) for (let b = 0; b < 32; b++) if ((apic.irr[w]! >>> b) & 1) out.push([vcpu, w * 32 + b]);
      if (apic.coalesced !== 0) throw new Error(`vCPU ${vcpu}: ${apic.coalesced} interrupt(s) injected while the same vector was still pending (delivered twice)`);
      apic.clearIrr();
    });
    return out;
  }

  /** Reported armed: has an MSI and is unmasked. */
  static reportsArmed(r: KvmIrqFdRoute): boolean {
    return r.msi !== undefined && !r.masked;
  }

  /**
   * Signals every route that owes nothing... no: signals `t` once and checks where it went. A route
   * that reports armed delivers it at once to its MSI's target; otherwise it latches (owed).
   */
  signal(t: Tracked, where: string): void {
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

  /** Invariants 1-3 and 5 (reporting), against the model's state. */
  checkState(where: string): void {
    expect({ where, hazards: this.model.hazards }).toEqual({ where, hazards: [] });
    const table = this.kernelTable();
    const watched = new Set<KvmIrqFdRoute>();
    for (const t of this.routes) {
      const r = t.route;
      const ctx = { where, route: t.name };
      if (t.spec.disposed) {
        expect({ ...ctx, disposed: r.disposed }).toEqual({ ...ctx, disposed: true });
        continue;
      }
      expect({ ...ctx, disposed: r.disposed }).toEqual({ ...ctx, disposed: false });
      const fd = r.event.ownFd();
      // On real KVM which irqfds are assigned cannot be read back: the engine's record stands in
      // (what it reports is then checked by delivery in probe()).
      const gsi = this.real ? (r.assigned ? r.gsi : undefined) : this.model.irqfdGsi(fd);
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
    expect({ where, relayed: this.platform?.watchedCount ?? 0 }).toEqual({ where, relayed: watched.size });
  }

  /** Invariant 4: owed signals of non-delivering routes are reported once by consumePending; a new signal goes where the route says. */
  probe(where: string): void {
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
    const live = this.live();
    const unprovenDups = this.sys.log.filter((c) => c.call === 'kcmp' && c.injected).length;
    if (!this.real) expect({ where, eventfds: this.model.openEventFds, routes: this.irqfd.routeCount }).toEqual({ where, eventfds: 2 * live.length + unprovenDups, routes: live.length });
    const withMsi = live.filter((t) => t.spec.msi !== undefined && t.route.mediation === 'kernel').length;
    expect({ where, gsis: this.irqfd.gsiCount, kernelRoutes: this.kernelTable().size }).toEqual({ where, gsis: withMsi, kernelRoutes: withMsi });
  }

  [Symbol.dispose](): void {
    this.partition.dispose();
  }
}

/** An operation the suites run: applies itself to the routes and, if it returns normally, to the specs. */
export type Op = (rig: Rig) => void;

/** Runs `fn` on the route; on success records `change` in the spec. A failure must be a typed error. */
export function step(t: Tracked, fn: (r: KvmIrqFdRoute) => void, change: (s: Spec) => void): void {
  try {
    fn(t.route);
  } catch (e) {
    if (!isVirtError(e)) throw e;
    return;
  }
  change(t.spec);
}

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
export const clearMsi = (t: Tracked): void => step(t, (r) => r.clearMsi(), (s) => void (s.msi = undefined));
export const mask = (t: Tracked): void => step(t, (r) => r.mask(), (s) => void (s.masked = true));
export const unmask = (t: Tracked): void => step(t, (r) => r.unmask(), (s) => void (s.masked = false));
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

