/**
 * The demo's real kernel producer: a Linux AIO file read whose completion eventfd is an irqfd
 * route's event, so the kernel completing the read is what raises the guest's interrupt, with no
 * write(2) to the eventfd from user space. On /dev/kvm, KVM's irqfd injects; without it, a
 * `KvmPartition` on the KVM model (`@tsvmm/virt-kvm/testing`) whose eventfds each have a real
 * eventfd beside them (`ProcessEventFds`): the kernel signals the real one and the model injects.
 */
import type { Disposable, IrqFdRoute, LocalApicAccess, Partition } from '@tsvmm/virt';
import type * as LinuxSys from '@tsvmm/linux-sys';
import type * as LinuxSysTesting from '@tsvmm/linux-sys/testing';
import type * as VirtKvmTesting from '@tsvmm/virt-kvm/testing';
import { kvmPackages } from '../bench/sections/kvm-access';

/** A 2-vCPU KVM partition whose route eventfds the real kernel can signal, and a count of user-space eventfd writes. */
export interface FileReadHost extends Disposable {
  /** The partition the read's completion is delivered on. */
  readonly partition: Partition & LocalApicAccess;
  /** `kvm` (real /dev/kvm, kernel irqfd) or `model` (the KVM model). */
  readonly on: 'kvm' | 'model';
  /** Why this host, for people: one sentence. */
  readonly why: string;
  /** The eventfd the kernel should signal for `route`: its event on KVM, the real eventfd beside it on the model. */
  completionFd(route: IrqFdRoute): number;
  /** write(2) calls made through the partition's system calls since it was opened. */
  writes(): number;
  /** The AIO context class (from `@tsvmm/linux-sys`). */
  readonly AioContext: typeof LinuxSys.AioContext;
}

/** Why the scene cannot run here (no Linux system-call layer on this host). */
export interface FileReadUnavailable {
  /** Why, for people: one sentence. */
  readonly unavailable: string;
}

/** `inner` with its write(2) calls counted: the proof that user space wrote no eventfd. */
function countingWrites(inner: LinuxSys.Syscalls): { sys: LinuxSys.Syscalls; writes: () => number } {
  let writes = 0;
  const sys: LinuxSys.Syscalls = {
    open: (p, f) => inner.open(p, f),
    close: (fd) => inner.close(fd),
    ioctl: (fd, r, a) => inner.ioctl(fd, r, a),
    read: (fd, b, l) => inner.read(fd, b, l),
    write: (fd, b, l) => (writes++, inner.write(fd, b, l)),
    eventfd: (i, f) => inner.eventfd(i, f),
    poll: (f, n, t) => inner.poll(f, n, t),
    epollCreate: () => inner.epollCreate(),
    epollCtl: (e, o, fd, ev) => inner.epollCtl(e, o, fd, ev),
    epollWait: (e, ev, m, t) => inner.epollWait(e, ev, m, t),
    ...(inner.dup ? { dup: (fd: number) => inner.dup!(fd) } : {}),
    ...(inner.sameFile ? { sameFile: (a: number, b: number) => inner.sameFile!(a, b) } : {}),
    ...(inner.descriptorBudget ? { descriptorBudget: () => inner.descriptorBudget!() } : {}),
  };
  return { sys, writes: () => writes };
}

/**
 * Real KVM when a partition with kernel irqfd opens on /dev/kvm here, else the KVM model with real
 * eventfds beside its own; or why neither can (the Linux packages do not load on this host).
 */
export function openFileReadHost(): FileReadHost | FileReadUnavailable {
  let pkgs: ReturnType<typeof kvmPackages>;
  try {
    pkgs = kvmPackages();
  } catch (e) {
    return { unavailable: e instanceof Error ? e.message : String(e) };
  }
  const { sys: linuxSys, virtKvm } = pkgs;
  const real = countingWrites(linuxSys.libcSyscalls());
  try {
    const partition = virtKvm.KvmPartition.create({ vcpus: 2, irqfd: 'kernel', sys: real.sys });
    return {
      partition,
      on: 'kvm',
      why: '/dev/kvm opened with kernel irqfd: KVM injects when the kernel signals the completion eventfd',
      completionFd: (r) => r.event.fd!,
      writes: real.writes,
      AioContext: linuxSys.AioContext,
      [Symbol.dispose]: () => partition.dispose(),
    };
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { ProcessEventFds } = require('@tsvmm/linux-sys/testing') as typeof LinuxSysTesting;
    const { KvmKernelModel } = require('@tsvmm/virt-kvm/testing') as typeof VirtKvmTesting;
    /* eslint-enable @typescript-eslint/no-require-imports */
    const bridge = new ProcessEventFds(new KvmKernelModel({ apicIds: [0, 1] }));
    const model = countingWrites(bridge);
    let partition: Partition & LocalApicAccess;
    try {
      partition = virtKvm.KvmPartition.create({ vcpus: 2, irqfd: 'kernel', sys: model.sys });
    } catch (x) {
      bridge.dispose();
      throw x;
    }
    return {
      partition,
      on: 'model',
      why: `real KVM is not usable here (${reason}); the KVM model injects when the kernel signals the real eventfd beside the route's`,
      completionFd: (r) => bridge.processFdOf(r.event.fd!)!,
      writes: model.writes,
      AioContext: linuxSys.AioContext,
      [Symbol.dispose]: () => {
        partition.dispose();
        bridge.dispose();
      },
    };
  }
}
