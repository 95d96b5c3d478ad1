/**
 * The partition's irqfd: the shared Linux irqfd engine (`IrqFdEngine` of `@tsvmm/linux-sys`:
 * transactions and `batch`, the whole-table commit, mask = deassign, rollback, GSIs taken at a
 * route's first MSI, the overflow relay) driven by mshv's description of itself,
 * {@link mshvIrqFdBackend}. The engine's invariants are the ones mshv needs most: an irqfd is
 * assigned only on a GSI the committed table routes, and a route is removed only after its irqfd
 * is deassigned (a signal on an unrouted GSI injects vector 0 on APIC 0).
 */
import type { RawInjector, RelayPlatformFactory } from '@tsvmm/virt';
import { type EngineRoute, EpollRelayPlatform, IrqFdEngine, type Syscalls } from '@tsvmm/linux-sys';
import { mshvIrqFdBackend } from './irqfd-backend';

/** The mshv irqfd: the shared engine on mshv. */
export class MshvIrqFd extends IrqFdEngine {}

/** An mshv irqfd route (the engine's route). */
export type MshvIrqFdRoute = EngineRoute;

export interface MshvIrqFdHandle {
  readonly irqfd: MshvIrqFd | undefined;
  /** Why irqfd is missing or not kernel-mediated (empty when kernel-mediated). */
  readonly reason: string;
  dispose(): void;
  /** Resolves once the overflow relay's worker (if it was started) has exited. */
  whenClosed(): Promise<void>;
}

export interface MshvIrqFdOptions {
  readonly sys: Syscalls;
  readonly partitionFd: number;
  readonly vcpuCount: number;
  /** HvCallAssertVirtualInterrupt on this partition, on the calling thread. */
  readonly inject: RawInjector;
  /** Most routes at once (default: the engine's). */
  readonly maxRoutes?: number;
  /** GSIs to use (default 4095: GSIs 1-4095). */
  readonly maxKernelRoutes?: number;
  /** The overflow relay's platform. Default: the epoll worker injecting by hypercall. */
  readonly overflow?: RelayPlatformFactory;
  /** Coalesce retargets for this many milliseconds (default 0: off); see the engine's `retargetWindowMs`. */
  readonly retargetWindowMs?: number;
}

export function createMshvIrqFd(options: MshvIrqFdOptions): MshvIrqFdHandle {
  const { sys } = options;
  const backend = mshvIrqFdBackend(options);
  // The worker's module path is resolved when the first overflow starts it, not before.
  const overflow: RelayPlatformFactory = options.overflow ?? ((table) => new EpollRelayPlatform(table, { sys, injector: backend.workerInjector }));
  const irqfd = new MshvIrqFd({
    backend,
    sys,
    owner: 'the mshv partition',
    overflow,
    ...(options.maxRoutes === undefined ? {} : { maxRoutes: options.maxRoutes }),
    ...(options.retargetWindowMs === undefined ? {} : { retargetWindowMs: options.retargetWindowMs }),
  });
  return {
    irqfd,
    reason: '',
    dispose: () => irqfd.disposeAll(),
    whenClosed: () => {
      const p = irqfd.overflow.relayPlatform;
      return p instanceof EpollRelayPlatform ? p.whenExited() : Promise.resolve();
    },
  };
}
