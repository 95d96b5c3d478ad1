/**
 * The backend conformance suite: KVM's irqfd (the shared engine with KVM's backend), every delivery
 * read back from the local APICs with KVM_GET_LAPIC. On the model, after each case the kernel must
 * have seen no hazard (no irqfd on an unrouted GSI, no route removed under an assigned irqfd) and
 * every descriptor must be closed.
 *
 * The overflow run leaves the engine 4 GSIs for MSI routes (on the model the kernel's table holds
 * only those too, as KVM_CAP_IRQ_ROUTING reports it); the routes beyond them are relayed: on a
 * device by the epoll worker (its own thread: IRR is read after settle()), on the model by a
 * waiter deferred to settle(), so that a signal on a relayed route is really in flight when the
 * suite moves or masks the route.
 */
import { apicObserver, defineIrqFdConformance } from '@tsvmm/virt/conformance';
import type { RelayIrqFd } from '@tsvmm/virt/implement';
import { EIO } from '@tsvmm/linux-sys';
import * as kvm from '../src/abi';
import type { KvmPartition } from '../src';
import { type KvmTarget, describeOnTargets } from './support/targets';

/** GSIs for MSI routes in the overflow run. */
const KERNEL_ROUTES = 4;
/**
 * The x2APIC runs' vCPUs: two low IDs, 255 (the xAPIC broadcast ID, a destination of its own once
 * the broadcast quirk is disabled), 256 (low byte 0, so a truncated destination lands on vCPU 0)
 * and 1000 (bits 14:8 nonzero: the extended destination ID must carry them).
 */
const X2APIC_IDS = [0, 1, 255, 256, 1000];

/**
 * A subject's dispose: disposes `partition`, then (on the model only: what the kernel flagged and what
 * it still holds cannot be read back from a device) fails on any hazard or on descriptors left open
 * beyond the `models` the target's models held before the subject was made.
 */
function disposeChecked(target: KvmTarget, partition: KvmPartition, models: number): () => void {
  return () => {
    partition.dispose();
    if (target.real) return;
    const hazards = target.modelOf(partition).hazards;
    if (hazards.length > 0) throw new Error(`the KVM model saw hazards: ${JSON.stringify(hazards)}`);
    if (target.modelFdCount() !== models) throw new Error(`${target.modelFdCount() - models} fds left open`);
  };
}

describeOnTargets('conformance', (target) => {
  const kernelSubject = (options: { kernelGsis?: number; maxRoutes?: number; x2apic?: boolean; apicIds?: readonly number[]; vcpus?: number }) => {
    const models = target.real ? 0 : target.modelFdCount();
    const partition = target.create({ ...options, deferredRelay: true });
    const sys = target.sysOf(partition);
    const irqfd = partition.irqfd()!;
    return {
      partition,
      observer: apicObserver(partition),
      // Kernel MSI routes the fast path takes inject inside the eventfd write and inside unmask; relayed ones once
      // the relay has caught up. A level route's signal is asserted by the irqfd's work item (irqfd_inject), after
      // the write returns, on the kernel and on the model alike: settle() cannot wait for it, so the level cases
      // poll for what they expect, with a deadline.
      settle: () => irqfd.settle(),
      // A device's epoll worker injects from its own thread: look at IRR only after settle().
      ...(target.real ? { waiterThread: true } : {}),
      failNextCommit: () => void sys.fail(kvm.KVM_SET_GSI_ROUTING, EIO),
      // The guest's EOI: only the model can play it (no guest code runs on a device), so the level cases that need it run there.
      ...(target.real ? {} : { eoi: (vcpu: number, vector: number) => target.modelOf(partition).eoi(partition.apicIds[vcpu]!, vector) }),
      dispose: disposeChecked(target, partition, models),
    };
  };
  // The kernel's own GSIs, more than the overflow cases fill; the run below covers overflow. Route
  // limit: the default, what the process's descriptors allow.
  defineIrqFdConformance({ name: `kvm (kernel irqfd) on the ${target.name}, 2 vCPUs`, supports: { overflow: false }, create: () => kernelSubject({}) });
  defineIrqFdConformance({
    name: `kvm (kernel irqfd) on the ${target.name}, 2 vCPUs, ${KERNEL_ROUTES} GSIs for MSI routes: overflow relayed`,
    supports: { overflow: true },
    // 64 routes keep the exhaustion case fast.
    create: () => kernelSubject({ kernelGsis: KERNEL_ROUTES, maxRoutes: 64 }),
  });
  const x2apic = { x2apic: true, apicIds: X2APIC_IDS, vcpus: X2APIC_IDS.length };
  defineIrqFdConformance({ name: `kvm (kernel irqfd) on the ${target.name}, x2APIC IDs ${X2APIC_IDS.join(', ')}`, supports: { overflow: false, x2apic: true }, create: () => kernelSubject(x2apic) });
  defineIrqFdConformance({
    name: `kvm (kernel irqfd) on the ${target.name}, x2APIC IDs ${X2APIC_IDS.join(', ')}, ${KERNEL_ROUTES} GSIs for MSI routes: overflow relayed`,
    supports: { overflow: true, x2apic: true },
    create: () => kernelSubject({ ...x2apic, kernelGsis: KERNEL_ROUTES, maxRoutes: 64 }),
  });
  relayConformance(target);
});

/**
 * The user-space relay (`irqfd: 'relay'`): on a device the epoll worker injects with KVM_SIGNAL_MSI
 * from its own thread (IRR read after settle()); on the model the model's relay platform runs the
 * same injector, deferred to settle(), so a signal is in flight when the suite masks or moves a route.
 */
function relayConformance(target: KvmTarget): void {
  const relaySubject = (options: { x2apic?: boolean; apicIds?: readonly number[]; vcpus?: number }) => {
    const models = target.real ? 0 : target.modelFdCount();
    const partition = target.create({ ...options, irqfd: 'relay', deferredRelay: true });
    const relay = partition.irqfd() as RelayIrqFd;
    return {
      partition,
      observer: apicObserver(partition),
      settle: () => relay.settle(),
      ...(target.real ? { waiterThread: true } : {}),
      dispose: disposeChecked(target, partition, models),
    };
  };
  defineIrqFdConformance({
    name: `kvm (user-space relay: epoll worker + KVM_SIGNAL_MSI) on the ${target.name}, x2APIC IDs ${X2APIC_IDS.join(', ')}`,
    supports: { x2apic: true },
    create: () => relaySubject({ x2apic: true, apicIds: X2APIC_IDS, vcpus: X2APIC_IDS.length }),
  });
  defineIrqFdConformance({ name: `kvm (user-space relay: epoll worker + KVM_SIGNAL_MSI) on the ${target.name}, 2 vCPUs`, create: () => relaySubject({}) });
}
