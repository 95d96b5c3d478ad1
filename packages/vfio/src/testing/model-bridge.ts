/**
 * The VFIO model joined with another kernel model's eventfds, as one process joins them: a route
 * of a partition on the KVM model hands out an eventfd of the KVM model's table, and vfio-pci must
 * signal exactly that eventfd.
 */
import type { DescriptorBudget, IoctlDef } from '@tsvmm/linux-sys';
import { type ModelEventFd, isEventFd } from '@tsvmm/linux-sys/testing';
import type { VfioSyscalls } from '../sys';
import type { RaiseOutcome, VfioKernelModel } from './vfio-model';

/**
 * The part of another kernel model (`KvmKernelModel` of `@tsvmm/virt-kvm/testing`) the bridge
 * uses: its descriptor table and eventfd writes.
 */
export interface EventfdModel {
  /** The model's descriptor table. */
  readonly files: {
    /** The open file `fd` names (an eventfd is a `ModelEventFd`), or undefined when it is closed. */
    get(fd: number): object | undefined;
  };
  /** write(2) on the model: adds the little-endian u64 in `buf` to an eventfd (KVM injects through its irqfd). */
  write(fd: number, buf: Uint8Array, length: number): number;
}

const SET_IRQS = 0x3b6e;
const DATA_NONE = 1;
const DATA_EVENTFD = 4;

/**
 * A {@link VfioSyscalls} (pass it as `sys` to `VfioDevice.open`) over a {@link VfioKernelModel},
 * for the one process both kernel models stand for: eventfds live in the other model's table (a
 * partition on the KVM model makes them), vfio-pci is the VFIO model. A SET_IRQS that names such
 * an eventfd is given a stand-in eventfd of the VFIO model for the same open file (one per file,
 * whatever number names it), and {@link pump} moves what vfio-pci signalled on a stand-in into the
 * real eventfd with an eventfd write, which is what the kernel's `eventfd_signal` on the shared
 * file amounts to. {@link raiseMsix} and {@link raiseMsi} pump; after driving the VFIO model's
 * device side directly, call {@link pump}.
 */
export class VfioModelBridge implements VfioSyscalls {
  /**
   * The VFIO calls made through the bridge, in order, for tests that assert the sequence:
   * `SET_IRQS MSIX start=0 [7,-1]` (eventfds by the caller's numbers), `SET_IRQS MSIX start=0 none
   * count=0`, `DEVICE_RESET`, `IOMMU_MAP_DMA`... Info queries and region reads and writes are left out.
   */
  readonly vfioLog: string[] = [];
  private readonly standIns = new Map<ModelEventFd, { vfioFd: number; kvmFd: number }>();

  constructor(
    /** The VFIO model: devices, containers, groups, regions. */
    readonly vfio: VfioKernelModel,
    /** The model whose eventfds the VMM hands to SET_IRQS (the KVM model). */
    readonly kvm: EventfdModel,
  ) {}

  /** The device raises MSI-X vector `vector` (see `VfioKernelModel.raiseMsix`), and the signal reaches the shared eventfd. */
  raiseMsix(vector: number, address?: string): RaiseOutcome {
    const r = this.vfio.raiseMsix(vector, address);
    this.pump();
    return r;
  }

  /** The device raises MSI vector `vector`, as {@link raiseMsix}. */
  raiseMsi(vector: number, address?: string): RaiseOutcome {
    const r = this.vfio.raiseMsi(vector, address);
    this.pump();
    return r;
  }

  private standIn(kvmFd: number): number {
    const o = this.kvm.files.get(kvmFd);
    if (!isEventFd(o)) return 0x3fff_ffff; // not an eventfd in this process: vfio answers EBADF
    let s = this.standIns.get(o);
    if (!s) {
      s = { vfioFd: this.vfio.eventfd(0, 0), kvmFd };
      this.standIns.set(o, s);
    }
    return s.vfioFd;
  }

  /** Moves every count vfio-pci added to a stand-in into the real eventfd. */
  pump(): void {
    const buf = new Uint8Array(8);
    for (const [file, s] of this.standIns) {
      if ((this.vfio.eventfdCount(s.vfioFd) ?? 0n) === 0n) continue;
      this.vfio.read(s.vfioFd, buf, 8);
      if (this.kvm.files.get(s.kvmFd) === file) this.kvm.write(s.kvmFd, buf, 8);
    }
  }

  /** Whether vfio-pci's trigger of `index` vector `vector` (first device) is the eventfd `kvmFd` names in the other model. */
  isTrigger(kvmFd: number, index: 'msi' | 'msix', vector: number): boolean {
    const o = this.kvm.files.get(kvmFd);
    const s = isEventFd(o) ? this.standIns.get(o) : undefined;
    return s !== undefined && this.vfio.isTrigger(s.vfioFd, index, vector);
  }

  /** Closes the stand-in eventfds (after the device's eventfds were unbound). */
  dispose(): void {
    for (const s of this.standIns.values()) this.vfio.close(s.vfioFd);
    this.standIns.clear();
  }

  ioctl(fd: number, request: IoctlDef, arg?: number | Uint8Array): number {
    let a = arg;
    if (request.request >>> 0 === SET_IRQS && arg instanceof Uint8Array && arg.length >= 20) {
      const v = new DataView(arg.buffer, arg.byteOffset, arg.byteLength);
      const flags = v.getUint32(4, true);
      const index = ['INTX', 'MSI', 'MSIX', 'ERR', 'REQ'][v.getUint32(8, true)] ?? String(v.getUint32(8, true));
      const start = v.getUint32(12, true);
      const count = v.getUint32(16, true);
      if (flags & DATA_EVENTFD) {
        const fds = Array.from({ length: count }, (_, i) => v.getInt32(20 + 4 * i, true));
        this.vfioLog.push(`SET_IRQS ${index} start=${start} [${fds.join(',')}]`);
        a = arg.slice();
        const w = new DataView(a.buffer);
        fds.forEach((f, i) => w.setInt32(20 + 4 * i, f < 0 ? f : this.standIn(f), true));
      } else {
        this.vfioLog.push(`SET_IRQS ${index} start=${start} ${flags & DATA_NONE ? `none count=${count}` : `bool count=${count}`}`);
      }
    } else if (!/GET_INFO|GET_REGION_INFO|GET_IRQ_INFO|GET_STATUS|GET_API_VERSION|CHECK_EXTENSION/.test(request.name)) {
      this.vfioLog.push(request.name.replace(/^VFIO_/, ''));
    }
    return this.vfio.ioctl(fd, request, a);
  }

  open(path: string, flags: number): number {
    return this.vfio.open(path, flags);
  }
  close(fd: number): number {
    return this.vfio.close(fd);
  }
  read(fd: number, buf: Uint8Array, length: number): number {
    return this.vfio.read(fd, buf, length);
  }
  write(fd: number, buf: Uint8Array, length: number): number {
    return this.vfio.write(fd, buf, length);
  }
  eventfd(initval: number, flags: number): number {
    return this.vfio.eventfd(initval, flags);
  }
  poll(): number {
    return this.vfio.poll();
  }
  epollCreate(): number {
    return this.vfio.epollCreate();
  }
  epollCtl(): number {
    return this.vfio.epollCtl();
  }
  epollWait(): number {
    return this.vfio.epollWait();
  }
  dup(fd: number): number {
    return this.vfio.dup(fd);
  }
  sameFile(a: number, b: number): number {
    return this.vfio.sameFile(a, b);
  }
  descriptorBudget(): DescriptorBudget {
    return this.vfio.descriptorBudget();
  }
  pread(fd: number, buf: Uint8Array, length: number, offset: number): number {
    return this.vfio.pread(fd, buf, length, offset);
  }
  pwrite(fd: number, buf: Uint8Array, length: number, offset: number): number {
    return this.vfio.pwrite(fd, buf, length, offset);
  }
}

