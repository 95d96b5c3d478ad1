/**
 * The backend conformance suite against the kernel model: mshv's irqfd (the shared engine with
 * mshv's backend) behind the system-call seam, every delivery read back from the VPs' local APICs
 * with MSHV_GET_VP_STATE. After each case the model must have seen no hazard (no signal on an
 * unrouted GSI, no irqfd without a route, no route to a missing VP).
 */
import { apicObserver, defineIrqFdConformance } from '@tsvmm/virt/conformance';
import { EIO } from '@tsvmm/linux-sys';
import { FaultInjector } from '@tsvmm/linux-sys/testing';
import { MshvKernelModel } from '../src/testing';
import { MshvPartition, abi } from '../src';

function subject(maxRoutes?: number) {
  const model = new MshvKernelModel();
  const sys = new FaultInjector(model);
  const partition = MshvPartition.create({ vcpus: 2, sys, memory: model, ...(maxRoutes === undefined ? {} : { maxRoutes }) });
  return {
    partition,
    observer: apicObserver(partition),
    // The model injects inside the eventfd write and the hypercall: nothing is in flight.
    settle: () => Promise.resolve(),
    failNextCommit: () => void sys.fail(abi.MSHV_SET_MSI_ROUTING, EIO),
    dispose: () => {
      partition.dispose();
      if (model.hazards.length > 0) throw new Error(`the mshv kernel model saw hazards: ${JSON.stringify(model.hazards)}`);
      if (model.openFds() !== 0) throw new Error(`${model.openFds()} fds left open`);
      if (model.allocatedBuffers !== 0) throw new Error(`${model.allocatedBuffers} buffers left allocated`);
    },
  };
}

defineIrqFdConformance({ name: 'mshv (kernel model), 2 VPs', create: () => subject() });
defineIrqFdConformance({ name: 'mshv (kernel model), 2 VPs, 64 routes', create: () => subject(64) });
