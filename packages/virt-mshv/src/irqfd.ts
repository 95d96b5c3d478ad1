/**
 * The partition's irqfd: the shared Linux irqfd engine of `@tsvmm/linux-sys` driven by
 * {@link mshvIrqFdBackend}.
 */
import type { IrqFd, RawInjector } from '@tsvmm/virt';
import type { Syscalls } from '@tsvmm/linux-sys';
import type { UserMemory } from './memory';

export interface MshvIrqFdHandle {
  readonly irqfd: IrqFd | undefined;
  /** Why irqfd is missing or not kernel-mediated (empty when kernel-mediated). */
  readonly reason: string;
  dispose(): void;
}

export interface MshvIrqFdOptions {
  readonly sys: Syscalls;
  readonly partitionFd: number;
  readonly vcpuCount: number;
  readonly inject: RawInjector;
  readonly memory: UserMemory;
}

export function createMshvIrqFd(_options: MshvIrqFdOptions): MshvIrqFdHandle {
  return {
    irqfd: undefined,
    reason: 'this build of @tsvmm/virt-mshv has no irqfd: the shared Linux irqfd engine it runs on is not part of it',
    dispose: () => undefined,
  };
}
