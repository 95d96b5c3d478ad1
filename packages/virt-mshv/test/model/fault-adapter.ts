/**
 * The mshv side of the shared irqfd double-fault suite (`@tsvmm/linux-sys/testing`): a partition
 * on the mshv kernel model, read back through the model (the table the kernel last accepted, the
 * irqfds it has assigned, each vCPU's IRR), and after disposal nothing left open and no hazard.
 */
import { FaultInjector, type IrqFdFaultAdapter, type IrqFdFaultKernel, takeApicBusIrr } from '@tsvmm/linux-sys/testing';
import type { MsiMessage } from '@tsvmm/virt';
import { MshvPartition } from '../../src';
import { MshvKernelModel, modelRelayPlatform } from '../../src/testing';

export const mshvFaultAdapter: IrqFdFaultAdapter = {
  name: 'mshv model',
  irqfdCall: 'MSHV_IRQFD',
  routingCall: 'MSHV_SET_MSI_ROUTING',
  firstGsi: 1, // GSIs start at 1 on mshv
  create({ vcpus, kernelGsis }): IrqFdFaultKernel {
    const model = new MshvKernelModel();
    const sys = new FaultInjector(model);
    const relay = modelRelayPlatform(model);
    const partition = MshvPartition.create({
      vcpus,
      sys,
      memory: model,
      overflow: relay,
      ...(kernelGsis === undefined ? {} : { maxKernelRoutes: kernelGsis }),
    });
    const irqfd = partition.irqfd()!;
    const kernel = () => model.partitionOf(partition.partitionFd)!;
    return {
      sys,
      irqfd,
      real: false,
      get relayWatched() {
        return relay.platforms[0]?.watchedCount ?? 0;
      },
      kernelTable() {
        const out = new Map<number, MsiMessage>();
        for (const [gsi, e] of kernel().routes) out.set(gsi, { addressLo: e.addressLo, addressHi: e.addressHi, data: e.data });
        return out;
      },
      assignedGsi: (route) => model.irqfdGsi(partition.partitionFd, route.event.ownFd()),
      hazards: () => model.hazards,
      takeIrr: () => takeApicBusIrr(kernel().bus),
      openEventFds: () => model.openFds('eventfd'),
      irqfdGsiOf: (fd) => model.irqfdGsi(partition.partitionFd, fd),
      assignedIrqfds: () => kernel().irqfds.map((i) => i.gsi),
      residue: () => ({ hazards: model.hazards, fds: model.openFds(), buffers: model.allocatedBuffers }),
      [Symbol.dispose]: () => partition.dispose(),
    };
  },
};
