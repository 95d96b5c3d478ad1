/**
 * An mshv partition on the mshv kernel model (every check), or with `real: true` on the real
 * /dev/mshv, where only what the kernel lets user space see is read back: IRR through
 * MSHV_GET_VP_STATE plus the vectors queued in each VP's register page (./register-page), and
 * eventfd counters through consumePending. mshv has no call to read the committed table or the
 * assigned irqfds back, so on a device they are the engine's record, checked by delivery.
 *
 * It is the mshv side of the shared irqfd double-fault suite (`@tsvmm/linux-sys/testing`), and what
 * ./targets builds every partition with.
 */
import { type Syscalls, libcSyscalls } from '@tsvmm/linux-sys';
import { FaultInjector, type IrqFdFaultAdapter, type LinuxFaultKernel, type ModelKernelOptions, irqFdFaultKernel } from '@tsvmm/linux-sys/testing';
import type { MsiMessage } from '@tsvmm/virt';
import { type MshvIrqFd, MshvPartition, type MshvPartitionOptions } from '../../src';
import { MshvKernelModel, type ModelRelayPlatform, modelRelayPlatform } from '../../src/testing';
import { takeQueuedVectors } from './register-page';

/** How to build one partition: the partition's own options and the shared model options; everything but `vcpus` is optional. */
export interface MshvKernelOptions extends Omit<Partial<MshvPartitionOptions>, 'sys' | 'vcpus' | 'memory' | 'maxKernelRoutes'>, ModelKernelOptions<MshvKernelModel> {
  /** GSIs the engine may use (`maxKernelRoutes`); routes beyond them go through the overflow relay. */
  readonly kernelGsis?: number;
  /**
   * The overflow relay's platform. Left out: on the model, the model's relay platform (its calls in
   * `relaySys`); on a device, the default. Given, even as `undefined` (the partition's default: on
   * the model, which has no epoll, ENOSYS), it is passed as it is.
   */
  readonly relayPlatform?: MshvPartitionOptions['relayPlatform'];
}

/** A partition on the mshv model (or the real device), with what tests that look closer need. */
export interface MshvFaultKernel extends LinuxFaultKernel<MshvPartition, MshvKernelModel, MshvIrqFd, ModelRelayPlatform> {
  /**
   * Model: the overflow relay's own system calls. They are kept out of `sys` because on a device
   * the relay's worker thread makes its hypercalls itself, so they never reach the test's log.
   */
  readonly relaySys: FaultInjector | undefined;
}

/** The adapter, and a `create` that takes every partition option ({@link MshvKernelOptions}). */
export interface MshvFaultAdapter extends IrqFdFaultAdapter<MshvFaultKernel> {
  create(options: MshvKernelOptions): MshvFaultKernel;
}

/**
 * VP `vcpu`'s pending vectors, cleared: IRR read with MSHV_GET_VP_STATE (through the backend's own
 * decoding of the hypervisor's LAPIC format), and on a device also the register page's queue.
 */
export function takeVcpuDeliveries(p: MshvPartition, vcpu: number, real: boolean): number[] {
  const irr = p.readLocalApic(vcpu).irr;
  // Clearing costs an MSHV_SET_VP_STATE: only when there is something to clear, so that call logs stay those of the operation.
  if (irr.length > 0) p.clearIrr(vcpu);
  const queued = real ? takeQueuedVectors(p.vpFd(vcpu)) : [];
  return [...new Set([...irr, ...queued])].sort((a, b) => a - b);
}

/** Every VP's pending vectors, cleared ({@link takeVcpuDeliveries}): `[[vcpu, vector], ...]`. */
export function takeDeliveries(p: MshvPartition, real: boolean): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let v = 0; v < p.vcpuCount; v++) for (const vec of takeVcpuDeliveries(p, v, real)) out.push([v, vec]);
  return out;
}

export function mshvFaultAdapter(options: { real?: boolean } = {}): MshvFaultAdapter {
  const real = options.real ?? false;
  return {
    name: real ? 'real /dev/mshv' : 'mshv model',
    irqfdCall: 'MSHV_IRQFD',
    routingCall: 'MSHV_SET_MSI_ROUTING',
    firstGsi: 1, // GSI 0 reads as every hole of mshv's routing array, so the engine never hands it out
    create(o: MshvKernelOptions): MshvFaultKernel {
      const { vcpus, kernelGsis, wrap, deferredRelay, onModel, ...partitionOptions } = o;
      const model = real ? undefined : new MshvKernelModel();
      if (model) onModel?.(model);
      const inner: Syscalls = model ?? libcSyscalls();
      const sys = wrap ? wrap(inner) : new FaultInjector(inner);
      const relaySys = model === undefined ? undefined : new FaultInjector(model);
      const relay = model === undefined ? undefined : modelRelayPlatform(model, relaySys, deferredRelay ? { deferred: true } : {});
      // A device takes the defaults: libc, koffi memory, and the epoll worker for overflow.
      const partition = MshvPartition.create({
        ...(model === undefined ? {} : { memory: model, relayPlatform: relay }),
        // A test's own relayPlatform, even undefined, replaces the model's.
        ...partitionOptions,
        vcpus,
        sys,
        ...(kernelGsis === undefined ? {} : { maxKernelRoutes: kernelGsis }),
      });
      const kernel = irqFdFaultKernel({
        sys,
        irqfd: partition.irqfd() as MshvIrqFd,
        partition,
        model,
        relayPlatforms: relay?.platforms ?? [],
        modelReads: (m) => {
          const inPartition = () => m.partitionOf(partition.partitionFd)!;
          return {
            kernelTable() {
              const out = new Map<number, MsiMessage>();
              for (const [gsi, e] of inPartition().routes) out.set(gsi, { addressLo: e.addressLo, addressHi: e.addressHi, data: e.data });
              return out;
            },
            irqfdGsi: (fd) => m.irqfdGsi(partition.partitionFd, fd),
            assignedIrqfds: () => inPartition().irqfds.map((i) => i.gsi),
            bus: () => inPartition().bus,
            hazards: () => m.hazards,
            openEventFds: () => m.openFds('eventfd'),
            residue: () => ({ hazards: m.hazards, fds: m.openFds(), buffers: m.allocatedBuffers }),
          };
        },
        // A LAPIC read (MSHV_GET_VP_STATE) matches none of the faults the suite arms.
        deviceIrr: () => takeDeliveries(partition, true),
      });
      return Object.assign(kernel, { relaySys });
    },
  };
}
