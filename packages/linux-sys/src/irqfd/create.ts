/**
 * The one way a Linux backend builds its irqfd: the shared engine on the backend's description,
 * with the overflow relay waiting in an epoll worker that injects with the backend's own worker
 * injector unless the partition's options name another platform. KVM and mshv both build theirs here.
 */
import { VirtError } from '@tsvmm/virt';
import type { LevelRouteProvider, RelayPlatformFactory } from '@tsvmm/virt/implement';
import { ENOSYS } from '../errno';
import { epollRelayPlatform } from '../relay/epoll-relay-platform';
import type { InjectorSpec } from '../relay/protocol';
import type { Syscalls } from '../syscalls';
import type { IrqFdBackend } from './backend';
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
 * routes beyond the kernel's GSIs are delivered by the overflow relay. Its worker thread starts
 * (from source text, with koffi's resolved path) at the first overflow, not before. Throws what the engine's constructor
 * throws (INVALID_ARGUMENT for a bad `maxRoutes`).
 */
export function createLinuxIrqFd(options: LinuxIrqFdOptions): IrqFdEngine {
  const { sys, backend } = options;
  return new IrqFdEngine({ ...options, overflow: options.overflow ?? defaultRelayPlatform(sys, backend.workerInjector) });
}

/**
 * The relay platform a Linux partition uses unless its options name another: the epoll worker
 * thread on `sys`, injecting with `injector` (see `epollRelayPlatform`; its errors are the
 * platform's). Where `sys` is a kernel model (it has `relayPlatformAdvice()`, as `ModelKernel` of
 * `@tsvmm/linux-sys/testing` does), which has no epoll, the ENOSYS error's hint is the model's
 * advice: which relay platform to pass instead. On real system calls this is `epollRelayPlatform`.
 */
export function defaultRelayPlatform(sys: Syscalls, injector: InjectorSpec): RelayPlatformFactory {
  const factory = epollRelayPlatform({ sys, injector });
  const advice = (sys as { relayPlatformAdvice?: unknown }).relayPlatformAdvice;
  if (typeof advice !== 'function') return factory;
  return (table) => {
    try {
      return factory(table);
    } catch (e) {
      if (!(e instanceof VirtError) || e.errno !== ENOSYS) throw e;
      throw new VirtError(e.code, {
        operation: e.operation,
        detail: `${e.detail}: the kernel model has no epoll for the relay's worker thread`,
        hint: String((advice as () => unknown).call(sys)),
        errno: e.errno,
        ...(e.errnoName === undefined ? {} : { errnoName: e.errnoName }),
        cause: e,
      });
    }
  };
}

/**
 * The irqfd options a Linux partition's `create` reads from its caller (each once, already
 * checked) and hands on unchanged; undefined where the caller gave none (the engine's default).
 */
export interface PartitionIrqFdSettings {
  /** Most routes at once (the engine's `maxRoutes`; default: derived from the descriptor budget). */
  readonly maxRoutes: number | undefined;
  /** The user-space relay's platform, here the overflow relay's (default: the epoll worker with the backend's worker injector). */
  readonly relayPlatform: RelayPlatformFactory | undefined;
  /** Coalesce retargets for this many milliseconds (the engine's `retargetWindowMs`; default 0: off). */
  readonly retargetWindowMs: number | undefined;
}

/**
 * A partition's kernel irqfd, as KVM and mshv both set it up: {@link createLinuxIrqFd} on
 * `backend`, its eventfds made with `sys` (the calls the partition was made with), named `owner`
 * in DISPOSED errors, with the caller's `settings` and, where the backend has
 * level-triggered routes (KVM's resample irqfds), `levelRoutes`. Throws what
 * {@link createLinuxIrqFd} throws.
 */
export function createPartitionIrqFd(backend: IrqFdBackend, sys: Syscalls, owner: string, settings: PartitionIrqFdSettings, levelRoutes?: LevelRouteProvider): IrqFdEngine {
  return createLinuxIrqFd({
    backend,
    sys,
    owner,
    maxRoutes: settings.maxRoutes,
    overflow: settings.relayPlatform,
    retargetWindowMs: settings.retargetWindowMs,
    levelRoutes,
  });
}
