/**
 * The one way a Linux backend builds its irqfd: the shared engine on the backend's description,
 * with the overflow relay waiting in an epoll worker that injects with the backend's own worker
 * injector unless the partition's options name another platform. KVM and mshv both build theirs here.
 */
import type { RelayPlatformFactory } from '@tsvmm/virt/implement';
import { epollRelayPlatform } from '../relay/epoll-relay-platform';
import { IrqFdEngine, type IrqFdEngineOptions } from './engine';

/** What {@link createLinuxIrqFd} takes: the engine's options, with the overflow platform defaulted. */
export interface LinuxIrqFdOptions extends Omit<IrqFdEngineOptions, 'overflow'> {
  /**
   * The overflow relay's platform. Default: the epoll worker thread injecting with
   * `backend.workerInjector`, started at the first route that finds no free GSI.
   */
  readonly overflow?: RelayPlatformFactory;
}

/**
 * A partition's irqfd on a Linux hypervisor: an {@link IrqFdEngine} on `options.backend` whose
 * routes beyond the kernel's GSIs are delivered by the overflow relay. The worker's module path is
 * resolved when the first overflow starts it, not before. Throws what the engine's constructor
 * throws (INVALID_ARGUMENT for a bad `maxRoutes`).
 */
export function createLinuxIrqFd(options: LinuxIrqFdOptions): IrqFdEngine {
  const { sys, backend } = options;
  return new IrqFdEngine({ ...options, overflow: options.overflow ?? epollRelayPlatform({ sys, injector: backend.workerInjector }) });
}
