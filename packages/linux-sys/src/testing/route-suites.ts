/**
 * Route behaviours every Linux irqfd backend (KVM, mshv) must show, one body each, run by each
 * backend on every target (its kernel model, and the real device where there is one). A target
 * supplies partitions and what it can read back; what only a model can read is optional.
 */
import { type Disposable, encodeMsi } from '@tsvmm/virt';
import type { RelayPlatformFactory } from '@tsvmm/virt/implement';
import type { IrqFdEngine } from '../irqfd';
import type { Syscalls } from '../syscalls';
import { runner } from './irqfd-fault/runner';

/** What a kernel model holds for one partition, as {@link LinuxIrqFdPartition.kernelState} reads it. */
export interface ModelKernelState {
  /** MSI entries in the partition's committed routing table. */
  readonly table: number;
  /** Irqfds assigned in the partition. */
  readonly irqfds: number;
  /** Every hazard the model recorded (what would have crashed or corrupted a real host). */
  readonly hazards: readonly unknown[];
}

/** One partition of a {@link LinuxIrqFdTarget}. */
export interface LinuxIrqFdPartition extends Disposable {
  /** Disposes the partition (idempotent). */
  dispose(): void;
  /** The partition's irqfd engine. */
  readonly irqfd: IrqFdEngine;
  /** The partition's system calls, without injected faults: what the user closes the number with. */
  readonly sys: Syscalls;
  /** Every vCPU's pending vectors as `[vcpu, vector]`, cleared; fails where a vector was injected twice. */
  takeIrr(): Array<[number, number]>;
  /** On a kernel model: the counter of the eventfd `fd` names, read without consuming it. Omitted on a device. */
  eventfdCount?(fd: number): bigint | undefined;
  /** On a kernel model: the GSI the eventfd `fd` names is assigned on as an irqfd. Omitted on a device. */
  irqfdGsi?(fd: number): number | undefined;
  /**
   * On a kernel model: what the kernel holds for this partition (MSI entries of its routing table,
   * irqfds assigned) and every hazard the model recorded. Omitted on a device, which cannot be read
   * back (delivery checks it instead).
   */
  kernelState?(): ModelKernelState;
}

/** How many GSIs a partition's engine may use for MSI routes, and the relay its other routes overflow to. */
export interface OverflowOptions {
  /** GSIs for MSI routes; the routes beyond them go through the overflow relay. */
  readonly kernelGsis: number;
  /**
   * The overflow relay's platform. Left out: the target's own (a model's relay platform, a device's
   * default). Given as `undefined`: no `relayPlatform` option, the partition's default (on a model,
   * which has no epoll, an ENOSYS at the first overflow route).
   */
  readonly relayPlatform?: RelayPlatformFactory | undefined;
}

/** What a backend supplies to run the route suites on one target. */
export interface LinuxIrqFdTarget {
  /** The real device rather than a kernel model. */
  readonly real: boolean;
  /**
   * A new partition with `vcpus` vCPUs (APIC IDs 0 up, software-enabled); the test disposes it.
   * With `overflow`, its engine has that many GSIs for MSI routes and that relay for the rest.
   */
  create(vcpus: number, overflow?: OverflowOptions): LinuxIrqFdPartition;
  /** Descriptors open now: the process's, and on a model also every number its kernels hold. */
  openFdCount(): number;
}

/** A partition {@link BackendTestTarget} makes: anything the test can dispose. */
export interface BackendPartition {
  /** Disposes the partition (idempotent). */
  dispose(): void;
}

/** The system calls {@link BackendTestTarget.sysOf} returns. */
export interface InjectedSyscalls {
  /** The system calls below the injected faults. */
  readonly inner: Syscalls;
}

/**
 * What a backend's test target offers (the targets `describeOnTargets` hands out in the KVM and
 * mshv backends' tests): partitions, their system calls, IRR, descriptors, and its model.
 */
export interface BackendTestTarget<P extends BackendPartition, M> {
  /** The real device rather than the kernel model. */
  readonly real: boolean;
  /** A partition with `vcpus` vCPUs, and with {@link OverflowOptions} where given. */
  create(options: { vcpus: number } & Partial<OverflowOptions>): P;
  /** The system calls of `p`; `inner` is below the injected faults. */
  sysOf(p: P): InjectedSyscalls;
  /** Every vCPU's pending vectors as `[vcpu, vector]`, cleared. */
  takeIrr(p: P): Array<[number, number]>;
  /** Descriptors open now (the process's, and on the model every number its kernels hold). */
  openFdCount(): number;
  /** The kernel model under `p` (called on the model only). */
  modelOf(p: P): M;
}

/** How {@link linuxIrqFdTarget} reads a backend's partition and kernel model. */
export interface BackendReads<P, M> {
  /** The partition's irqfd engine. */
  irqfd(p: P): IrqFdEngine;
  /** The counter of the eventfd `fd` names in `model`, read without consuming it. */
  eventfdCount(model: M, fd: number): bigint | undefined;
  /** The GSI the eventfd `fd` names is assigned on in `p`'s VM or partition. */
  irqfdGsi(model: M, p: P, fd: number): number | undefined;
  /** What `model` holds for `p`. */
  kernelState(model: M, p: P): ModelKernelState;
}

/**
 * A backend's test target as the route suites take it: the model's read-backs only where
 * `target.real` is false.
 */
export function linuxIrqFdTarget<P extends BackendPartition, M>(target: BackendTestTarget<P, M>, reads: BackendReads<P, M>): LinuxIrqFdTarget {
  return {
    real: target.real,
    openFdCount: () => target.openFdCount(),
    create(vcpus, overflow) {
      const p = target.create({ vcpus, ...overflow });
      const model = target.real ? undefined : target.modelOf(p);
      return {
        irqfd: reads.irqfd(p),
        sys: target.sysOf(p).inner,
        takeIrr: () => target.takeIrr(p),
        ...(model !== undefined && {
          eventfdCount: (fd: number) => reads.eventfdCount(model, fd),
          irqfdGsi: (fd: number) => reads.irqfdGsi(model, p, fd),
          kernelState: () => reads.kernelState(model, p),
        }),
        dispose: () => p.dispose(),
        [Symbol.dispose]: () => p.dispose(),
      };
    },
  };
}

/** A fixed, physical, edge MSI to APIC ID 0, as `setMsi` takes it. */
function msi(vector: number): [number, number] {
  const m = encodeMsi({ destinationId: 0, vector });
  return [m.addressLo, m.data];
}

/**
 * A user closing `route.event.fd` reaches nothing beyond the route it belongs to. `event.fd` is a
 * duplicate of the route's own eventfd (one open file, two numbers), so a user may close it and
 * another route's eventfd may then take the number; the first route must keep signalling, masking,
 * unmasking and disposing through its own number, and never touch the second route's eventfd.
 * One test (call inside a `describe` that names the target); uses the test runner's globals.
 */
export function irqFdEventNumberTests(target: LinuxIrqFdTarget): void {
  const { it } = runner();
  it("a user closes route.event.fd and another route takes the number: a's signal reaches a only; a masks, unmasks and disposes without touching b", () => {
    const { expect } = runner();
    const fds = target.openFdCount();
    const p = target.create(1);
    try {
      const inner = p.sys;
      const irqfd = p.irqfd;
      const a = irqfd.newIrqFdRoute();
      a.setMsi(...msi(0x41));
      a.unmask();
      expect(a.event.fd === a.event.ownFd()).toBe(false);
      expect(inner.sameFile!(a.event.fd, a.event.ownFd())).toBe(1);

      const number = a.event.fd;
      expect(inner.close(number)).toBe(0);
      const b = irqfd.newIrqFdRoute();
      expect(b.event.ownFd()).toBe(number); // the scenario: b's eventfd took the number a handed out
      expect(inner.sameFile!(number, a.event.ownFd())).toBe(0);
      b.setMsi(...msi(0x52));

      // A model reads b's counter without consuming it; consumePending reads it on every target.
      a.event.signal();
      expect(p.takeIrr()).toEqual([[0, 0x41]]);
      if (p.eventfdCount) expect(p.eventfdCount(b.event.ownFd())).toBe(0n);
      expect(b.consumePending()).toBe(false);

      a.mask();
      a.event.signal(); // latched in a while masked
      expect(p.takeIrr()).toEqual([]);
      if (p.eventfdCount) expect(p.eventfdCount(b.event.ownFd())).toBe(0n);
      expect(b.consumePending()).toBe(false);
      a.unmask(); // the latched signal is delivered at unmask
      expect(p.takeIrr()).toEqual([[0, 0x41]]);
      a.event.signal();
      expect(p.takeIrr()).toEqual([[0, 0x41]]);

      a.dispose();
      expect(inner.sameFile!(number, b.event.ownFd())).toBe(1); // b's eventfd is still open
      if (p.eventfdCount) expect(p.eventfdCount(number)).toBe(0n);
      expect(b.consumePending()).toBe(false);
      b.unmask();
      expect(b.fault).toBe(undefined);
      b.event.signal();
      expect(p.takeIrr()).toEqual([[0, 0x52]]);
      // Which GSI b's eventfd is assigned on can be read back on a model only.
      if (p.irqfdGsi) expect(p.irqfdGsi(b.event.ownFd())).toBe(b.gsi);
      b.dispose();
    } finally {
      p.dispose();
    }
    expect(target.openFdCount()).toBe(fds);
  });
}

/**
 * Nothing is left behind by route cycles: `cycles` routes, each created, programmed (to vCPU `i % 2`),
 * masked, unmasked, masked again, signalled while masked every `cycles / 10`th time (then delivered
 * by unmask, exactly once), and disposed, leave the process's and the model's descriptors, the GSIs,
 * the engine's routes and the kernel's table and irqfds at their baseline, with exactly one
 * routing-table commit to add each route and one to remove it. One test (call inside a `describe`
 * that names the target); uses the test runner's globals.
 */
export function irqFdRouteCycleTests(target: LinuxIrqFdTarget, cycles: number): void {
  const { it } = runner();
  const every = Math.max(1, Math.floor(cycles / 10));
  it(`${cycles.toLocaleString('en-US')} create/program/mask/unmask/dispose route cycles leave descriptors, GSIs and kernel routes at baseline`, () => {
    const { expect } = runner();
    const p = target.create(2);
    try {
      const irqfd = p.irqfd;
      const fds = target.openFdCount();
      const gsis = irqfd.gsiCount;
      expect(gsis).toBe(0);
      const commits = irqfd.commitCount;
      for (let i = 0; i < cycles; i++) {
        const r = irqfd.newIrqFdRoute();
        const m = encodeMsi({ destinationId: i % 2, vector: 16 + (i % 240) });
        r.setMsi(m.addressLo, m.data);
        r.mask();
        r.unmask();
        r.mask();
        if (i % every === 0) r.event.signal(); // latched, then delivered by unmask
        r.unmask();
        if (i % every === 0) expect(p.takeIrr()).toEqual([[i % 2, 16 + (i % 240)]]);
        r.dispose();
      }
      expect(target.openFdCount()).toBe(fds);
      expect(irqfd.gsiCount).toBe(gsis);
      expect(irqfd.routeCount).toBe(0);
      expect(irqfd.table.kernelRoutes().size).toBe(0);
      expect(irqfd.commitCount - commits).toBe(2 * cycles); // one to add each route, one to remove it
      // The kernel's own table and irqfds can be read back on a model only.
      if (p.kernelState) expect(p.kernelState()).toEqual({ table: 0, irqfds: 0, hazards: [] });
    } finally {
      p.dispose();
    }
  });
}
