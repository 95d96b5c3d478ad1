/**
 * The backend conformance suite against the KVM model: KVM's irqfd (the shared engine with KVM's
 * backend) behind the system-call seam, every delivery read back from the local APICs with
 * KVM_GET_LAPIC. After each case the model must have seen no hazard (no irqfd on an unrouted GSI,
 * no route removed under an assigned irqfd) and every fd must be closed.
 *
 * The overflow run gives the model a routing table of 44 entries (KVM_CAP_IRQ_ROUTING reports
 * it, as the kernel reports KVM_MAX_IRQ_ROUTES): the 40 legacy entries leave 4 GSIs for MSI
 * routes, and the routes beyond them are relayed by the model waiter, deferred to `settle()` so
 * that a signal on a relayed route is really in flight when the suite moves or masks the route.
 */
import { apicObserver, defineIrqFdConformance } from '@tsvmm/virt/conformance';
import { EIO } from '@tsvmm/linux-sys';
import { FaultInjector } from '@tsvmm/linux-sys/testing';
import * as kvm from '../../src/abi';
import { KvmPartition } from '../../src';
import { LEGACY_ROUTES } from '../../src/gsi-routing';
import { KvmKernelModel, modelRelayPlatform } from '../../src/testing';

/** GSIs for MSI routes in the overflow run. */
const KERNEL_ROUTES = 4;

function subject(kernelRoutes?: number) {
  const model = new KvmKernelModel({ apicIds: [0, 1], ...(kernelRoutes === undefined ? {} : { maxRoutes: LEGACY_ROUTES.length + kernelRoutes }) });
  const sys = new FaultInjector(model);
  // 64 routes keep the exhaustion case fast; each route costs two model fds.
  const partition = KvmPartition.create({ vcpus: 2, sys, irqfd: 'kernel', maxRoutes: 64, overflow: modelRelayPlatform(model, sys, { deferred: true }) });
  const irqfd = partition.irqfd()!;
  return {
    partition,
    observer: apicObserver(partition),
    // Kernel routes inject inside the eventfd write; relayed ones when the deferred waiter runs.
    settle: () => irqfd.settle(),
    failNextCommit: () => void sys.fail(kvm.KVM_SET_GSI_ROUTING, EIO),
    dispose: () => {
      partition.dispose();
      if (model.hazards.length > 0) throw new Error(`the KVM model saw hazards: ${JSON.stringify(model.hazards)}`);
      if (model.openFds !== 0) throw new Error(`${model.openFds} fds left open`);
    },
  };
}

defineIrqFdConformance({ name: 'kvm (kernel model), 2 vCPUs', supports: { overflow: false }, create: () => subject() });
defineIrqFdConformance({
  name: `kvm (kernel model), 2 vCPUs, ${KERNEL_ROUTES} GSIs for MSI routes: overflow relayed by a deferred waiter`,
  supports: { overflow: true },
  create: () => subject(KERNEL_ROUTES),
});
