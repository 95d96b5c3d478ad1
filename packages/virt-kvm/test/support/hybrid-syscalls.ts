/**
 * Real process descriptors for what user space owns (eventfds, epoll sets, the relay's worker
 * thread) beside the KVM model for what the kernel module owns (/dev/kvm, VMs, vCPUs): so that the
 * user-space relay, which needs real epoll, can be created on a machine without /dev/kvm. The
 * model's numbers are offset by {@link MODEL_FD_BASE} so that the two never collide; a model
 * number reaches only the model, a real one only libc.
 */
import { type IoctlDef, type Syscalls, libcSyscalls } from '@tsvmm/linux-sys';
import type { KvmKernelModel } from '../../src/testing';

/** Model descriptors are numbered from here up (real ones of a test process stay far below). */
export const MODEL_FD_BASE = 1 << 20;

export class HybridSyscalls implements Syscalls {
  readonly real: Syscalls = libcSyscalls();

  constructor(readonly model: KvmKernelModel) {}

  private isModel(fd: number): boolean {
    return fd >= MODEL_FD_BASE;
  }

  private fromModel(r: number): number {
    return r < 0 ? r : r + MODEL_FD_BASE;
  }

  open(path: string, flags: number): number {
    return this.fromModel(this.model.open(path, flags));
  }
  close(fd: number): number {
    return this.isModel(fd) ? this.model.close(fd - MODEL_FD_BASE) : this.real.close(fd);
  }
  ioctl(fd: number, request: IoctlDef, arg?: number | Uint8Array): number {
    if (!this.isModel(fd)) return this.real.ioctl(fd, request, arg);
    const r = this.model.ioctl(fd - MODEL_FD_BASE, request, arg);
    // The ioctls that create a file (KVM_CREATE_VM, KVM_CREATE_VCPU) return its number.
    return /CREATE_(VM|VCPU)$/.test(request.name) ? this.fromModel(r) : r;
  }
  read(fd: number, buf: Uint8Array, length: number): number {
    return this.isModel(fd) ? this.model.read(fd - MODEL_FD_BASE, buf, length) : this.real.read(fd, buf, length);
  }
  write(fd: number, buf: Uint8Array, length: number): number {
    return this.isModel(fd) ? this.model.write(fd - MODEL_FD_BASE, buf, length) : this.real.write(fd, buf, length);
  }
  eventfd(initval: number, flags: number): number {
    return this.real.eventfd(initval, flags);
  }
  poll(fds: Uint8Array, nfds: number, timeoutMs: number): number {
    return this.real.poll(fds, nfds, timeoutMs);
  }
  epollCreate(): number {
    return this.real.epollCreate();
  }
  epollCtl(epfd: number, op: number, fd: number, event: Uint8Array | null): number {
    return this.real.epollCtl(epfd, op, fd, event);
  }
  epollWait(epfd: number, events: Uint8Array, maxEvents: number, timeoutMs: number): number {
    return this.real.epollWait(epfd, events, maxEvents, timeoutMs);
  }
  dup(fd: number): number {
    return this.real.dup!(fd);
  }
  sameFile(a: number, b: number): number {
    return this.real.sameFile!(a, b);
  }
}
