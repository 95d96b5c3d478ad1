/**
 * A KVM partition on the KVM model (every check), or with `real: true` on the real /dev/kvm, where
 * only what the kernel lets user space see is read back (IRR through KVM_GET_LAPIC, eventfd
 * counters through consumePending; the committed table is the engine's record of the last table
 * the kernel accepted, since KVM has no call to read it back, and so is which irqfds are assigned:
 * what the engine reports is then checked by delivery).
 *
 * It is the KVM side of the shared irqfd double-fault suite (`@tsvmm/linux-sys/testing`), and what
 * ./targets builds every partition with.
 */
import { type Syscalls, libcSyscalls } from '@tsvmm/linux-sys';
import { FaultInjector, type IrqFdFaultAdapter, type LinuxFaultKernel, type ModelKernelOptions, irqFdFaultKernel } from '@tsvmm/linux-sys/testing';
import { KvmPartition, type KvmIrqFd, type KvmPartitionOptions } from '../../src';
// The fixed legacy entries (PIC and IOAPIC pins) every KVM routing table starts with count against `routingEntries`.
import { LEGACY_ROUTES } from '../../src/gsi-routing';
import { KvmKernelModel, type ModelRelayPlatform, modelRelayPlatform } from '../../src/testing';
import { HybridSyscalls } from './hybrid-syscalls';

/** KVM_MAX_IRQ_ROUTES of current kernels: what the model's table holds unless a test asks for fewer GSIs. */
const KERNEL_ROUTING_ENTRIES = 4096;

/** How to build one partition: the partition's own options and the shared model options; everything but `vcpus` is optional. */
export interface KvmKernelOptions extends Omit<Partial<KvmPartitionOptions>, 'sys' | 'vcpus'>, ModelKernelOptions<KvmKernelModel> {
  /**
   * GSIs for MSI routes. The engine gets `routingEntries` = 40 legacy entries + this; the model's
   * kernel holds that many too (KVM_CAP_IRQ_ROUTING reports it), a device keeps its own limit.
   */
  readonly kernelGsis?: number;
  /**
   * Model: eventfds and epoll are the process's own (HybridSyscalls), for producers that need a real
   * eventfd (a Linux AIO completion). Kernel irqfds cannot be assigned then. A relay-mode partition
   * (`irqfd: 'relay'`) does not need it: its routes' eventfds are the model's, waited on by the model's relay platform.
   */
  readonly processEvents?: boolean;
}

/** A partition on the KVM model (or the real device), with the model and the relay's platform for tests that look closer. */
export type KvmFaultKernel = LinuxFaultKernel<KvmPartition, KvmKernelModel, KvmIrqFd, ModelRelayPlatform>;

/** The adapter, and a `create` that takes every partition option ({@link KvmKernelOptions}). */
export interface KvmFaultAdapter extends IrqFdFaultAdapter<KvmFaultKernel> {
  create(options: KvmKernelOptions): KvmFaultKernel;
}

/** Every vCPU's IRR, read with KVM_GET_LAPIC and cleared with KVM_SET_LAPIC: `[[vcpu, vector], ...]`. */
export function takeDeliveries(p: KvmPartition): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let v = 0; v < p.vcpuCount; v++) {
    for (const vec of p.readLocalApic(v).irr) out.push([v, vec]);
    p.clearIrr(v);
  }
  return out;
}

export function kvmFaultAdapter(options: { real?: boolean } = {}): KvmFaultAdapter {
  const real = options.real ?? false;
  return {
    name: real ? 'real /dev/kvm' : 'KVM model',
    irqfdCall: 'KVM_IRQFD',
    routingCall: 'KVM_SET_GSI_ROUTING',
    firstGsi: 24,
    create(o: KvmKernelOptions): KvmFaultKernel {
      const { vcpus, kernelGsis, wrap, deferredRelay, processEvents, onModel, ...partitionOptions } = o;
      const routingEntries = kernelGsis === undefined ? partitionOptions.routingEntries : LEGACY_ROUTES.length + kernelGsis;
      const model = real ? undefined : new KvmKernelModel({ apicIds: partitionOptions.apicIds ?? Array.from({ length: vcpus }, (_, i) => i), maxRoutes: kernelGsis === undefined ? KERNEL_ROUTING_ENTRIES : routingEntries! });
      if (model) onModel?.(model);
      const hybrid = model !== undefined && processEvents === true;
      const inner: Syscalls = model === undefined ? libcSyscalls() : hybrid ? new HybridSyscalls(model) : model;
      const sys = wrap ? wrap(inner) : new FaultInjector(inner);
      // The waiter injects on the model directly, not through `sys`: on a device the relay's worker
      // thread makes its KVM_SIGNAL_MSI calls itself, so they are never in the test's call log. A
      // relay-mode irqfd's routes make their eventfds through `sys`, as they do on a device.
      const relay = model === undefined ? undefined : modelRelayPlatform(model, model, { events: sys, ...(deferredRelay ? { deferred: true } : {}) });
      const partition = KvmPartition.create({
        irqfd: 'kernel',
        ...(relay === undefined || hybrid ? {} : { relayPlatform: relay }),
        ...partitionOptions,
        vcpus,
        sys,
        ...(routingEntries === undefined ? {} : { routingEntries }),
      });
      return irqFdFaultKernel({
        sys,
        irqfd: partition.irqfd() as KvmIrqFd,
        partition,
        model,
        relayPlatforms: relay?.platforms ?? [],
        modelReads: (m) => ({
          kernelTable: () => m.msiRoutes(),
          irqfdGsi: (fd) => m.irqfdGsi(fd),
          assignedIrqfds: () => m.vm.irqfds.map((i) => i.gsi),
          bus: () => m.bus,
          hazards: () => m.hazards,
          openEventFds: () => m.openEventFds,
        }),
        // KVM_GET_LAPIC and KVM_SET_LAPIC, which no test fails.
        deviceIrr: () => takeDeliveries(partition),
      });
    },
  };
}
