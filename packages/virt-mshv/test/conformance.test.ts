/**
 * The backend conformance suite: mshv's irqfd (the shared engine with mshv's backend), every
 * delivery read back from the VPs (IRR through MSHV_GET_VP_STATE; on a device also the vectors
 * queued in each VP's register page). On the model, after each case the kernel must have seen no
 * hazard (no signal on an unrouted GSI, no irqfd without a route, no route to a missing VP) and
 * hold no descriptor and no buffer.
 *
 * The overflow run limits the partition to 4 GSIs (`maxKernelRoutes`); the routes beyond them are
 * relayed: on a device by the epoll worker (its own thread: IRR is read after settle()), on the
 * model by a waiter deferred to settle(), so that a signal on a relayed route is really in flight
 * when the suite moves or masks the route.
 */
import { defineIrqFdConformance } from '@tsvmm/virt/conformance';
import { EIO } from '@tsvmm/linux-sys';
import { abi } from '../src/implement';
import { describeOnTargets } from './support/targets';

/** GSIs in the overflow run. */
const KERNEL_ROUTES = 4;

describeOnTargets('conformance', (target) => {
  const subject = (options: { maxRoutes?: number; kernelGsis?: number; x2apic?: boolean }) => {
    const partition = target.create({ ...options, deferredRelay: true });
    const sys = target.sysOf(partition);
    const irqfd = partition.irqfd()!;
    return {
      partition,
      observer: target.observer(partition),
      // Kernel routes inject inside the eventfd write and the hypercall; relayed ones once the relay has caught up.
      settle: () => irqfd.settle(),
      // A device's epoll worker injects from its own thread: look at IRR only after settle().
      ...(target.real ? { waiterThread: true } : {}),
      failNextCommit: () => void sys.fail(abi.MSHV_SET_MSI_ROUTING, EIO),
      dispose: () => {
        partition.dispose();
        // What the kernel flagged and what it still holds can be read back on the model only.
        if (target.real) return;
        const model = target.modelOf(partition);
        if (model.hazards.length > 0) throw new Error(`the mshv kernel model saw hazards: ${JSON.stringify(model.hazards)}`);
        if (model.openFds() !== 0) throw new Error(`${model.openFds()} fds left open`);
        if (model.allocatedBuffers !== 0) throw new Error(`${model.allocatedBuffers} buffers left allocated`);
      },
    };
  };
  // 4095 GSIs: more than the overflow cases fill; the run with 4 GSIs covers overflow.
  defineIrqFdConformance({ name: `mshv on the ${target.name}, 2 VPs`, supports: { overflow: false }, create: () => subject({}) });
  defineIrqFdConformance({ name: `mshv on the ${target.name}, 2 VPs, 64 routes`, supports: { overflow: false }, create: () => subject({ maxRoutes: 64 }) });
  // x2APIC-capable, yet no APIC ID above 255 (x2apic false): the limits case holds it to 0xFE.
  defineIrqFdConformance({ name: `mshv on the ${target.name}, 2 VPs, x2APIC-capable partition`, supports: { overflow: false }, create: () => subject({ x2apic: true }) });
  defineIrqFdConformance({
    name: `mshv on the ${target.name}, 2 VPs, 64 routes, ${KERNEL_ROUTES} GSIs: overflow relayed`,
    supports: { overflow: true },
    create: () => subject({ maxRoutes: 64, kernelGsis: KERNEL_ROUTES }),
  });
});
