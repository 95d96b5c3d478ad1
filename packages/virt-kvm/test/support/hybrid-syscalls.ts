/**
 * Real process descriptors for what user space owns (eventfds, epoll sets, the relay's worker
 * thread) beside the KVM model for what the kernel module owns (/dev/kvm, VMs, vCPUs): so that the
 * user-space relay, which needs real epoll, can be created on a machine without /dev/kvm. The
 * model's numbers are offset by {@link MODEL_FD_BASE} so that the two never collide; a model
 * number reaches only the model, a real one only libc.
 */
import { type IoctlDef, libcSyscalls } from '@tsvmm/linux-sys';
import type { KvmKernelModel } from '../../src/testing';
import { ForwardingSyscalls } from '@tsvmm/linux-sys/testing';

/** Model descriptors are numbered from here up (real ones of a test process stay far below). */
export const MODEL_FD_BASE = 1 << 20;

export class HybridSyscalls extends ForwardingSyscalls {
  constructor(readonly model: KvmKernelModel) {
    super(libcSyscalls());
  }

  private isModel(fd: number): boolean {
    return fd >= MODEL_FD_BASE;
  }

  private fromModel(r: number): number {
    return r < 0 ? r : r + MODEL_FD_BASE;
  }

  override open(path: string, flags: number): number {
    return this.fromModel(this.model.open(path, flags));
  }
  override close(fd: number): number {
    return this.isModel(fd) ? this.model.close(fd - MODEL_FD_BASE) : this.inner.close(fd);
  }
  override ioctl(fd: number, request: IoctlDef, arg?: number | Uint8Array): number {
    if (!this.isModel(fd)) return this.inner.ioctl(fd, request, arg);
    const r = this.model.ioctl(fd - MODEL_FD_BASE, request, arg);
    // The ioctls that create a file (KVM_CREATE_VM, KVM_CREATE_VCPU) return its number.
    return /CREATE_(VM|VCPU)$/.test(request.name) ? this.fromModel(r) : r;
  }
  override read(fd: number, buf: Uint8Array, length: number): number {
    return this.isModel(fd) ? this.model.read(fd - MODEL_FD_BASE, buf, length) : this.inner.read(fd, buf, length);
  }
  override write(fd: number, buf: Uint8Array, length: number): number {
    return this.isModel(fd) ? this.model.write(fd - MODEL_FD_BASE, buf, length) : this.inner.write(fd, buf, length);
  }
  /** Nothing known: the budget of the model's files and of the process's are not one (the process's limit is not asked). */
  override descriptorBudget(): undefined {
    return undefined;
  }
}
