/**
 * A level-triggered irqfd route with resample that behaves as KVM's does (pci-msi-intx.md §7), on
 * real eventfds (`EventFd` of @tsvmm/linux-sys over any `Syscalls`: libc, or a kernel model):
 * a signal on `event` asserts the line and delivers one interrupt; further signals while it is
 * asserted deliver nothing (the IOAPIC pin's Remote IRR is set); `ack()` is the guest's EOI: the
 * line is deasserted and `resample` signalled, and the owner of the device signals `event` again if
 * it still needs service. The one seam to swap for a backend's `newLevelRoute`.
 */
import { EventFd, type Syscalls } from '@tsvmm/linux-sys';
import { VirtError, invalidArgument } from '@tsvmm/virt';
import type { LevelIrqFdRoute, NewLevelIrqFdRoute } from '../../src';

/** One level route on `gsi`. */
export class TestLevelRoute implements LevelIrqFdRoute {
  readonly event: EventFd;
  readonly resample: EventFd;
  /** Interrupts delivered: each rising edge of the line. */
  deliveries = 0;
  private asserted = false;
  private isDisposed = false;

  constructor(
    readonly gsi: number,
    sys: Syscalls,
    /** Runs before the line is read and after `resample` is signalled: lets a test's kernel models move eventfd counts between them. */
    private readonly settle: () => void,
    private readonly onDispose: (route: TestLevelRoute) => void,
  ) {
    this.event = new EventFd(sys, 'TestLevelRoute');
    try {
      this.resample = new EventFd(sys, 'TestLevelRoute');
    } catch (e) {
      this.event.dispose();
      throw e;
    }
  }

  get disposed(): boolean {
    return this.isDisposed;
  }

  /** The line now (KVM's irqfd_inject holds it asserted from a signal until the EOI). */
  get line(): boolean {
    this.sample();
    return this.asserted;
  }

  private sample(): void {
    if (this.isDisposed) return;
    this.settle();
    if (this.event.consume() > 0 && !this.asserted) {
      this.asserted = true;
      this.deliveries++;
    }
  }

  /**
   * The guest's EOI of the vector delivered for this line: deasserts it and signals `resample`
   * (irqfd_resampler_ack). Returns false, doing nothing, when no interrupt is asserted to acknowledge.
   */
  ack(): boolean {
    this.sample();
    if (!this.asserted) return false;
    this.asserted = false;
    this.resample.signal();
    this.settle();
    return true;
  }

  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    this.asserted = false;
    this.event.dispose();
    this.resample.dispose();
    this.onDispose(this);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** A `newLevelRoute` over {@link TestLevelRoute}s, with the contract's argument and BUSY checks. */
export class TestLevelRoutes {
  /** Every route made, in order. */
  readonly made: TestLevelRoute[] = [];
  private readonly live = new Map<number, TestLevelRoute>();

  constructor(
    private readonly sys: Syscalls,
    private readonly settle: () => void = () => undefined,
  ) {}

  /** The factory to hand to `AssignedPciDevice.create({ intx: { mode: 'irqfd', gsi, newLevelRoute } })`. */
  readonly newLevelRoute: NewLevelIrqFdRoute = (gsi: number) => {
    const op = 'TestLevelRoutes.newLevelRoute';
    if (!Number.isInteger(gsi) || gsi < 0 || gsi > 23) throw invalidArgument(op, `gsi must be an IOAPIC pin 0-23, got ${String(gsi)}`);
    if (this.live.has(gsi)) throw new VirtError('BUSY', { operation: op, detail: `GSI ${gsi} already has a level route`, hint: 'Dispose it first.' });
    const r = new TestLevelRoute(gsi, this.sys, this.settle, (x) => {
      if (this.live.get(x.gsi) === x) this.live.delete(x.gsi);
    });
    this.live.set(gsi, r);
    this.made.push(r);
    return r;
  };

  /** The live route on `gsi`, or undefined. */
  on(gsi: number): TestLevelRoute | undefined {
    return this.live.get(gsi);
  }

  /** Interrupts delivered on `gsi` over every route made for it. */
  deliveries(gsi: number): number {
    return this.made.filter((r) => r.gsi === gsi).reduce((n, r) => n + r.deliveries, 0);
  }
}
