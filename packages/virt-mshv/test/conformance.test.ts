/**
 * The backend conformance suite against the kernel model: mshv's irqfd (the shared engine with
 * mshv's backend) behind the system-call seam, every delivery read back from the VPs' local APICs
 * with MSHV_GET_VP_STATE. After each case the model must have seen no hazard (no signal on an
 * unrouted GSI, no irqfd without a route, no route to a missing VP).
 *
 * The overflow run limits the partition to 4 GSIs (`maxKernelRoutes`): routes beyond them are
 * relayed by the model waiter, deferred to `settle()` so that a signal on a relayed route is
 * really in flight when the suite moves or masks the route.
 */
import { apicObserver, defineIrqFdConformance } from '@tsvmm/virt/conformance';
import { EIO } from '@tsvmm/linux-sys';
import { FaultInjector } from '@tsvmm/linux-sys/testing';
import { MshvKernelModel, modelRelayPlatform } from '../src/testing';
import { MshvPartition, abi } from '../src';

function subject(maxRoutes?: number, maxKernelRoutes?: number) {
  const model = new MshvKernelModel();
  const sys = new FaultInjector(model);
  const partition = MshvPartition.create({
    vcpus: 2,
    sys,
    memory: model,
    overflow: modelRelayPlatform(model, sys, { deferred: true }),
    ...(maxRoutes === undefined ? {} : { maxRoutes }),
    ...(maxKernelRoutes === undefined ? {} : { maxKernelRoutes }),
  });
  const irqfd = partition.irqfd()!;
  return {
    partition,
    observer: apicObserver(partition),
    // The model injects inside the eventfd write and the hypercall; relayed routes when the deferred waiter runs.
    settle: () => irqfd.settle(),
    failNextCommit: () => void sys.fail(abi.MSHV_SET_MSI_ROUTING, EIO),
    dispose: () => {
      partition.dispose();
      if (model.hazards.length > 0) throw new Error(`the mshv kernel model saw hazards: ${JSON.stringify(model.hazards)}`);
      if (model.openFds() !== 0) throw new Error(`${model.openFds()} fds left open`);
      if (model.allocatedBuffers !== 0) throw new Error(`${model.allocatedBuffers} buffers left allocated`);
    },
  };
}

// 4095 GSIs: more than the overflow cases fill; the 4-GSI run below covers overflow.
defineIrqFdConformance({ name: 'mshv (kernel model), 2 VPs', supports: { overflow: false }, create: () => subject() });
defineIrqFdConformance({ name: 'mshv (kernel model), 2 VPs, 64 routes', supports: { overflow: false }, create: () => subject(64) });
defineIrqFdConformance({
  name: 'mshv (kernel model), 2 VPs, 64 routes, 4 GSIs: overflow relayed by a deferred waiter',
  supports: { overflow: true },
  create: () => subject(64, 4),
});
