/**
 * The VFIO model joined with another kernel model's eventfds, as one process joins them: a route
 * of a partition on the KVM model hands out an eventfd of the KVM model's table, and vfio-pci must
 * signal exactly that eventfd.
 */
import type { IoctlDef } from '@tsvmm/linux-sys';
import { ForwardingSyscalls, type ModelEventFd, isEventFd } from '@tsvmm/linux-sys/testing';
import type { VfioSyscalls } from '../sys';
import { describeValue, invalidArgument } from '@tsvmm/virt/implement';
import { type RaiseOutcome, VfioKernelModel, checkIoctlDef } from './vfio-model';

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
  /** read(2) on the model: takes an eventfd's counter (EAGAIN at 0). */
  read(fd: number, buf: Uint8Array, length: number): number;
  /**
   * Runs the injections the kernel leaves to a work item (a resample irqfd's line, a broadcast MSI:
   * `KvmKernelModel.flushWork`), where the model defers them; the bridge's pump is the time in
   * which a real kernel's workqueue runs.
   */
  flushWork?(): number;
}

const SET_IRQS = 0x3b6e;
const DATA_NONE = 1;
const DATA_EVENTFD = 4;
const ACTION_MASK = 8;
const ACTION_UNMASK = 0x10;

/**
 * A {@link VfioSyscalls} (pass it as `sys` to `VfioDevice.open`) over a {@link VfioKernelModel},
 * for the one process both kernel models stand for: eventfds live in the other model's table (a
 * partition on the KVM model makes them), vfio-pci is the VFIO model. A SET_IRQS that names such
 * an eventfd is given a stand-in eventfd of the VFIO model for the same open file (one per file,
 * whatever number names it), and {@link pump} moves what vfio-pci signalled on a stand-in into the
 * real eventfd with an eventfd write, which is what the kernel's `eventfd_signal` on the shared
 * file amounts to. An eventfd handed to INTx ACTION_UNMASK (the resample eventfd vfio-pci watches)
 * is moved the other way: what the other model's side signals on it reaches vfio-pci's virqfd.
 * {@link raiseMsix}, {@link raiseMsi} and {@link assertIntx} pump; after driving the VFIO model's
 * device side directly, or signalling a resample eventfd, call {@link pump}.
 *
 * Eventfds made through the bridge itself (`eventfd`, `dup` of one) are the VFIO model's and pass
 * through SET_IRQS unchanged; their numbers are chosen free in the other model's table too, so a
 * number names one eventfd in the process the two models stand for.
 */
export class VfioModelBridge extends ForwardingSyscalls<VfioKernelModel> implements VfioSyscalls {
  /**
   * The VFIO calls made through the bridge, in order, for tests that assert the sequence:
   * `SET_IRQS MSIX start=0 [7,-1]` (eventfds by the caller's numbers), `SET_IRQS MSIX start=0 none
   * count=0`, `DEVICE_RESET`, `IOMMU_MAP_DMA`... Info queries and region reads and writes are left out.
   */
  readonly vfioLog: string[] = [];
  private readonly standIns = new Map<ModelEventFd, { vfioFd: number; kvmFd: number; toVfio: boolean }>();
  private readonly native = new Set<number>();

  /**
   * @throws VirtError INVALID_ARGUMENT (`@tsvmm/virt`) when `vfio` is not a {@link VfioKernelModel}
   *   or `kvm` lacks what {@link EventfdModel} names (`files.get`, `write`, `read`, and `flushWork`
   *   a function where present), before anything is kept.
   */
  constructor(
    /** The VFIO model: devices, containers, groups, regions. */
    readonly vfio: VfioKernelModel,
    /** The model whose eventfds the VMM hands to SET_IRQS (the KVM model). */
    readonly kvm: EventfdModel,
  ) {
    super(checkBridgeArguments(vfio, kvm));
  }

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

  /** The device asserts INTx (see `VfioKernelModel.assertIntx`), and the signal reaches the shared eventfd. */
  assertIntx(address?: string): RaiseOutcome {
    const r = this.vfio.assertIntx(address);
    this.pump();
    return r;
  }

  private standIn(kvmFd: number, toVfio: boolean): number {
    if (this.native.has(kvmFd)) {
      if (this.kvm.files.get(kvmFd) !== undefined) throw new Error(`VfioModelBridge: fd ${kvmFd} names a file in both models; the test process cannot tell which`);
      return kvmFd;
    }
    const o = this.kvm.files.get(kvmFd);
    if (!isEventFd(o)) return 0x3fff_ffff; // not an eventfd in this process: vfio answers EBADF
    let s = this.standIns.get(o);
    if (!s) {
      s = { vfioFd: this.vfio.eventfd(0, 0), kvmFd, toVfio };
      this.standIns.set(o, s);
    }
    if (toVfio) s.toVfio = true;
    return s.vfioFd;
  }

  /**
   * Moves what the other side signalled on a resample eventfd into vfio-pci's (its virqfd unmasks
   * INTx), then every count vfio-pci added to a stand-in into the real eventfd, then lets the other
   * model's deferred injections run (the kernel's irqfd work items, which a real kernel runs on
   * another CPU shortly after the write).
   */
  pump(): void {
    const buf = new Uint8Array(8);
    for (const [file, s] of this.standIns) {
      if (!s.toVfio || this.kvm.files.get(s.kvmFd) !== file) continue;
      if (this.kvm.read(s.kvmFd, buf, 8) === 8) this.vfio.write(s.vfioFd, buf, 8);
    }
    for (const [file, s] of this.standIns) {
      if (s.toVfio || (this.vfio.eventfdCount(s.vfioFd) ?? 0n) === 0n) continue;
      this.vfio.read(s.vfioFd, buf, 8);
      if (this.kvm.files.get(s.kvmFd) === file) this.kvm.write(s.kvmFd, buf, 8);
    }
    this.kvm.flushWork?.();
  }

  /** Whether vfio-pci's trigger of `index` vector `vector` (first device) is the eventfd `kvmFd` names in the other model. */
  isTrigger(kvmFd: number, index: 'intx' | 'msi' | 'msix', vector: number): boolean {
    const o = this.kvm.files.get(kvmFd);
    const s = isEventFd(o) ? this.standIns.get(o) : undefined;
    return s !== undefined && this.vfio.isTrigger(s.vfioFd, index, vector);
  }

  /** Closes the stand-in eventfds (after the device's eventfds were unbound). */
  dispose(): void {
    for (const s of this.standIns.values()) this.vfio.close(s.vfioFd);
    this.standIns.clear();
  }

  /** @throws VirtError INVALID_ARGUMENT (`@tsvmm/virt`) when `request` is not an ioctl definition (`IoctlDef` of `@tsvmm/linux-sys`). */
  override ioctl(fd: number, request: IoctlDef, arg?: number | Uint8Array): number {
    checkIoctlDef('VfioModelBridge.ioctl', request);
    let a = arg;
    if (request.request >>> 0 === SET_IRQS && arg instanceof Uint8Array && arg.length >= 20) {
      const v = new DataView(arg.buffer, arg.byteOffset, arg.byteLength);
      const flags = v.getUint32(4, true);
      const index = ['INTX', 'MSI', 'MSIX', 'ERR', 'REQ'][v.getUint32(8, true)] ?? String(v.getUint32(8, true));
      const start = v.getUint32(12, true);
      const count = v.getUint32(16, true);
      // ACTION_TRIGGER is the common case and is left unnamed; MASK and UNMASK are named.
      const action = flags & ACTION_MASK ? 'mask ' : flags & ACTION_UNMASK ? 'unmask ' : '';
      if (flags & DATA_EVENTFD) {
        const fds = Array.from({ length: count }, (_, i) => v.getInt32(20 + 4 * i, true));
        this.vfioLog.push(`SET_IRQS ${index} ${action}start=${start} [${fds.join(',')}]`);
        a = arg.slice();
        const w = new DataView(a.buffer);
        fds.forEach((f, i) => w.setInt32(20 + 4 * i, f < 0 ? f : this.standIn(f, action === 'unmask '), true));
      } else {
        this.vfioLog.push(`SET_IRQS ${index} ${action}start=${start} ${flags & DATA_NONE ? `none count=${count}` : `bool count=${count}`}`);
      }
    } else if (!/GET_INFO|GET_REGION_INFO|GET_IRQ_INFO|GET_STATUS|GET_API_VERSION|CHECK_EXTENSION/.test(request.name)) {
      this.vfioLog.push(request.name.replace(/^VFIO_/, ''));
    }
    return this.vfio.ioctl(fd, request, a);
  }

  override close(fd: number): number {
    this.native.delete(fd);
    return this.vfio.close(fd);
  }
  override eventfd(initval: number, flags: number): number {
    return this.nativeNumber(() => this.vfio.eventfd(initval, flags));
  }

  /** A new VFIO-model number that is free in the other model's table as well. */
  private nativeNumber(make: () => number): number {
    const burnt: number[] = [];
    let fd = make();
    while (fd >= 0 && this.kvm.files.get(fd) !== undefined) {
      burnt.push(fd);
      fd = make();
    }
    for (const b of burnt) this.vfio.close(b);
    if (fd >= 0) this.native.add(fd);
    return fd;
  }
  override dup(fd: number): number {
    return this.native.has(fd) ? this.nativeNumber(() => this.vfio.dup(fd)) : this.vfio.dup(fd);
  }
  pread(fd: number, buf: Uint8Array, length: number, offset: number): number {
    return this.vfio.pread(fd, buf, length, offset);
  }
  pwrite(fd: number, buf: Uint8Array, length: number, offset: number): number {
    return this.vfio.pwrite(fd, buf, length, offset);
  }
}

/** `vfio`, once both of the bridge's models are what it needs: a bridge over anything else would fail on its first call, far from the cause. */
function checkBridgeArguments(vfio: unknown, kvm: unknown): VfioKernelModel {
  const op = 'new VfioModelBridge';
  if (!(vfio instanceof VfioKernelModel)) throw invalidArgument(op, `vfio must be a VfioKernelModel, got ${describeValue(vfio)}`);
  const k = kvm as Partial<Record<keyof EventfdModel, unknown>> | null;
  const files = typeof k === 'object' && k !== null ? (k.files as { get?: unknown } | null | undefined) : undefined;
  const usable =
    typeof k === 'object' &&
    k !== null &&
    typeof files === 'object' &&
    files !== null &&
    typeof files.get === 'function' &&
    typeof k.write === 'function' &&
    typeof k.read === 'function' &&
    (k.flushWork === undefined || typeof k.flushWork === 'function');
  if (!usable) throw invalidArgument(op, `kvm must be a kernel model with files.get, write and read (a KvmKernelModel of @tsvmm/virt-kvm/testing), got ${describeValue(kvm)}`);
  return vfio;
}
