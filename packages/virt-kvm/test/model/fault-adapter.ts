/**
 * The KVM side of the shared irqfd double-fault suite (`@tsvmm/linux-sys/testing`): a partition on
 * the KVM model (every check), or with `real: true` on the real /dev/kvm, where only what the
 * kernel lets user space see is read back (IRR through KVM_GET_LAPIC, eventfd counters through
 * consumePending; the committed table is the engine's record of the last table the kernel
 * accepted, since KVM has no call to read it back, and so is which irqfds are assigned: what the
 * engine reports is then checked by delivery).
 */
import { FaultInjector, type IrqFdFaultAdapter, type IrqFdFaultKernel, type IrrSnapshot, takeApicBusIrr } from '@tsvmm/linux-sys/testing';
import { KvmPartition, type KvmIrqFd } from '../../src';
// The fixed legacy entries (PIC and IOAPIC pins) every KVM routing table starts with count against `routingEntries`.
import { LEGACY_ROUTES } from '../../src/gsi-routing';
import { KvmKernelModel, type ModelRelayPlatform, modelRelayPlatform } from '../../src/testing';


/** A partition on the KVM model (or the real device), with the model and the relay's platform for tests that look closer. */
export interface KvmFaultKernel extends IrqFdFaultKernel {
  readonly model: KvmKernelModel;
  readonly partition: KvmPartition;
  /** The overflow relay's platform on the model, once the engine has created it. */
  readonly platform: ModelRelayPlatform | undefined;
}

export function kvmFaultAdapter(options: { real?: boolean } = {}): IrqFdFaultAdapter<KvmFaultKernel> {
  const real = options.real ?? false;
  return {
    name: real ? 'real /dev/kvm' : 'KVM model',
    irqfdCall: 'KVM_IRQFD',
    routingCall: 'KVM_SET_GSI_ROUTING',
    firstGsi: 24,
    create({ vcpus, kernelGsis }): KvmFaultKernel {
      const routingEntries = kernelGsis === undefined ? undefined : LEGACY_ROUTES.length + kernelGsis;
      const model = new KvmKernelModel({ apicIds: Array.from({ length: vcpus }, (_, i) => i), maxRoutes: routingEntries ?? 4096 });
      const sys = real ? new FaultInjector() : new FaultInjector(model);
      const relay = modelRelayPlatform(model);
      const partition = KvmPartition.create({
        vcpus,
        sys,
        irqfd: 'kernel',
        ...(real ? {} : { overflow: relay }),
        ...(routingEntries === undefined ? {} : { routingEntries }),
      });
      const irqfd = partition.irqfd() as KvmIrqFd;
      return {
        sys,
        irqfd,
        real,
        model,
        partition,
        get platform() {
          return relay.platforms[0];
        },
        get relayWatched() {
          return relay.platforms[0]?.watchedCount ?? 0;
        },
        kernelTable: () => (real ? irqfd.table.kernelRoutes() : model.msiRoutes()),
        assignedGsi: (route) => (real ? (route.assigned ? route.gsi : undefined) : model.irqfdGsi(route.event.ownFd())),
        hazards: () => model.hazards,
        takeIrr(): IrrSnapshot {
          if (!real) return takeApicBusIrr(model.bus);
          const irr: Array<[number, number]> = [];
          sys.clearFaults();
          for (let v = 0; v < partition.vcpuCount; v++) {
            for (const vec of partition.readLocalApic(v).irr) irr.push([v, vec]);
            partition.clearIrr(v);
          }
          return { irr, coalesced: [] };
        },
        openEventFds: () => (real ? undefined : model.openEventFds),
        ...(real
          ? {}
          : {
              irqfdGsiOf: (fd: number) => model.irqfdGsi(fd),
              assignedIrqfds: () => model.vm.irqfds.map((i) => i.gsi),
            }),
        [Symbol.dispose]: () => partition.dispose(),
      };
    },
  };
}
