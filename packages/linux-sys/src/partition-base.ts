/**
 * What a partition on a Linux hypervisor device (KVM, mshv) owns the same way whatever the
 * backend: one descriptor per vCPU, the DISPOSED check that comes before every use of them, and a
 * teardown that runs once, never throws, and closes the vCPUs before the descriptor they belong to.
 */
import { checkInteger, disposedError } from '@tsvmm/virt/implement';
import type { Syscalls } from './syscalls';

/**
 * The lifetime a KVM or mshv partition shares: its vCPU descriptors (owned: closed by
 * {@link LinuxPartitionBase.dispose} and nowhere else) and its disposal. A backend's partition
 * extends it and says what its irqfd is ({@link LinuxPartitionBase.disposeIrqFd}) and what it
 * owns beyond the vCPUs ({@link LinuxPartitionBase.releaseOwned}).
 */
export abstract class LinuxPartitionBase {
  /** The system calls the partition was made with: every descriptor it owns is closed through them. */
  protected readonly sys: Syscalls;
  private readonly vcpuFds: readonly number[];
  private readonly owner: string;
  private isDisposed = false;

  /**
   * `vcpuFds` are the partition's vCPU descriptors in vCPU order, owned from here on; `owner`
   * names the partition in DISPOSED errors (e.g. `the KVM partition`).
   */
  protected constructor(sys: Syscalls, vcpuFds: readonly number[], owner: string) {
    this.sys = sys;
    this.vcpuFds = Object.freeze([...vcpuFds]);
    this.owner = owner;
  }

  /** True once {@link LinuxPartitionBase.dispose} has run. */
  get disposed(): boolean {
    return this.isDisposed;
  }

  /**
   * Releases the partition, once: the irqfd first (its routes' eventfds, and any relay worker, which
   * uses the partition's descriptors), then each vCPU descriptor, then what the backend owns beyond
   * them. Idempotent; never throws.
   */
  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    try {
      this.disposeIrqFd();
    } catch {
      // disposal never throws; the descriptors below are closed regardless
    }
    for (const fd of this.vcpuFds) this.sys.close(fd);
    this.releaseOwned();
  }

  /** {@link LinuxPartitionBase.dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Disposes the partition's irqfd, if it has one (called once, by dispose; what it throws is ignored). */
  protected abstract disposeIrqFd(): void;

  /** Closes and frees what the partition owns beyond its vCPU descriptors (called once, by dispose, after them). Must not throw. */
  protected abstract releaseOwned(): void;

  /** Throws DISPOSED naming `op` once the partition is disposed. */
  protected live(op: string): void {
    if (this.isDisposed) throw disposedError(op, this.owner);
  }

  /** vCPU `vcpu`'s descriptor for `op`: DISPOSED after dispose; INVALID_ARGUMENT unless `vcpu` is an integer from 0 to the vCPU count - 1. */
  protected vcpuFdFor(op: string, vcpu: number): number {
    this.live(op);
    return this.vcpuFds[checkInteger(op, 'vcpu', vcpu, 0, this.vcpuFds.length - 1)]!;
  }
}
