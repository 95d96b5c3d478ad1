/**
 * The `relayPlatform` option and the relay's limits: a relay-mode partition honours `maxRoutes` (and
 * derives its default from the descriptor budget); a platform factory that throws or returns
 * something else is a typed error, at creation in relay mode and (the shared suite of
 * @tsvmm/linux-sys/testing) at the first overflow route with kernel irqfd, leaving the route as it
 * was and nothing open. One body on the KVM model and on the real /dev/kvm where it exists.
 */
import { type IrqFdRoute, encodeMsi, isVirtError } from '@tsvmm/virt';
import { DESCRIPTOR_RESERVE } from '@tsvmm/linux-sys';
import { thrownBy } from '@tsvmm/virt/testing';
import { REFUSED_RELAY_PLATFORMS, type RefusedRelayPlatform, overflowRelayPlatformTests } from '@tsvmm/linux-sys/testing';
import { KvmPartition } from '../src';
import { KvmKernelModel, modelRelayPlatform } from '../src/testing';
import { LEGACY_ROUTES } from '../src/gsi-routing';
import { describeOnTargets, linuxIrqFdTarget } from './support/targets';

const A = encodeMsi({ destinationId: 1, vector: 0x41 });

/** The partition's default platform on the KVM model, which has no epoll: its ENOSYS says which platform to pass. */
const MODEL_DEFAULT: RefusedRelayPlatform = {
  what: "is the partition's default on the KVM model (no epoll)",
  factory: undefined,
  code: 'SYSCALL',
  errnoName: 'ENOSYS',
  hint: 'relayPlatform: modelRelayPlatform(model) (from @tsvmm/virt-kvm/testing)',
  modelOnly: true,
};

describeOnTargets('relayPlatform and the relay limits', (target) => {
  it("irqfd: 'relay' honours maxRoutes: that many routes, one more is EXHAUSTED, nothing half-built", () => {
    using p = target.create({ irqfd: 'relay', maxRoutes: 2 });
    const irqfd = p.irqfd()!;
    expect([irqfd.capabilities.mediation, irqfd.capabilities.maxRoutes, p.capabilities.maxRoutes]).toEqual(['emulated', 2, 2]);
    const routes: IrqFdRoute[] = [irqfd.newIrqFdRoute(), irqfd.newIrqFdRoute()];
    const open = target.openFdCount();
    const e = thrownBy(() => irqfd.newIrqFdRoute());
    expect(isVirtError(e) && e.code).toBe('EXHAUSTED');
    expect(target.openFdCount()).toBe(open);
    routes[0]!.dispose();
    irqfd.newIrqFdRoute().dispose();
  });

  for (const { what, factory, code } of REFUSED_RELAY_PLATFORMS) {
    it(`a relay platform factory that ${what} is ${code} at creation in relay mode, with nothing left open`, () => {
      const open = target.openFdCount();
      const e = thrownBy(() => target.create({ irqfd: 'relay', relayPlatform: factory }));
      expect(isVirtError(e) && [e.code, e.operation]).toEqual([code, 'RelayIrqFd.create']);
      expect(target.openFdCount()).toBe(open);
    });
  }

  overflowRelayPlatformTests(linuxIrqFdTarget(target), [...REFUSED_RELAY_PLATFORMS, MODEL_DEFAULT]);
});

describe('relay-mode route budget (KVM model: a descriptor limit of its own)', () => {
  it('the default maxRoutes of a relay-mode partition is what the descriptor budget allows, at two per route', () => {
    const model = new KvmKernelModel({ apicIds: [0, 1], maxFds: 200 });
    using p = KvmPartition.create({ vcpus: 2, sys: model, irqfd: 'relay', relayPlatform: modelRelayPlatform(model) });
    const budget = model.descriptorBudget();
    const max = p.irqfd()!.capabilities.maxRoutes;
    // Derived at creation: the partition's own descriptors were open then, as they are now.
    expect(max).toBe(Math.floor((budget.limit - budget.open - DESCRIPTOR_RESERVE) / 2));
    const routes = Array.from({ length: max }, () => p.irqfd()!.newIrqFdRoute());
    expect(routes).toHaveLength(max);
  });

  it('descriptors running out before maxRoutes is EXHAUSTED naming RLIMIT_NOFILE, with nothing left open, as with kernel irqfd', () => {
    const model = new KvmKernelModel({ apicIds: [0, 1], maxFds: 40 });
    using p = KvmPartition.create({ vcpus: 2, sys: model, irqfd: 'relay', relayPlatform: modelRelayPlatform(model), maxRoutes: 100 });
    const irqfd = p.irqfd()!;
    const routes: IrqFdRoute[] = [];
    let e: unknown;
    for (let i = 0; i < 100 && e === undefined; i++) {
      try {
        routes.push(irqfd.newIrqFdRoute());
      } catch (err) {
        e = err;
      }
    }
    expect(isVirtError(e) && [e.code, e.errnoName, e.operation]).toEqual(['EXHAUSTED', 'EMFILE', 'IrqFd.newIrqFdRoute']);
    expect(isVirtError(e) && e.hint).toContain('RLIMIT_NOFILE');
    expect(model.descriptorBudget().open).toBeLessThanOrEqual(40);
    const open = model.descriptorBudget().open;
    routes.pop()!.dispose();
    expect(model.descriptorBudget().open).toBe(open - 2);
    routes.push(irqfd.newIrqFdRoute()); // the freed descriptors make one route again
    expect(model.descriptorBudget().open).toBe(open);
  });

  it.each([
    ['has a VM of its own', true],
    ['has no VM', false],
  ])("a relay platform made for another model (which %s) is INVALID_ARGUMENT at the first overflow route, the route left as it was", (_what, otherHasVm) => {
    const model = new KvmKernelModel({ apicIds: [0, 1], maxRoutes: LEGACY_ROUTES.length + 1 });
    const other = new KvmKernelModel({ apicIds: [0, 1] });
    using otherVm = otherHasVm ? KvmPartition.create({ vcpus: 2, sys: other }) : undefined;
    using p = KvmPartition.create({ vcpus: 2, sys: model, irqfd: 'kernel', routingEntries: LEGACY_ROUTES.length + 1, relayPlatform: modelRelayPlatform(other) });
    const irqfd = p.irqfd()!;
    irqfd.newIrqFdRoute().setMsi(A.addressLo, A.data);
    const r = irqfd.newIrqFdRoute();
    r.setMsi(A.addressLo, A.data);
    const e = thrownBy(() => r.unmask());
    expect(isVirtError(e) && e.code).toBe('INVALID_ARGUMENT');
    expect([r.masked, r.msi?.data, otherVm === undefined || otherVm.vcpuCount === 2]).toEqual([true, A.data, true]);
    expect(model.hazards).toEqual([]);
  });

  it('modelRelayPlatform with events: undefined still makes the routes eventfds on the model', () => {
    const model = new KvmKernelModel({ apicIds: [0, 1] });
    using p = KvmPartition.create({ vcpus: 2, sys: model, irqfd: 'relay', relayPlatform: modelRelayPlatform(model, model, { events: undefined }) });
    const r = p.irqfd()!.newIrqFdRoute();
    r.setMsi(A.addressLo, A.data);
    r.unmask();
    r.event.signal();
    expect(p.readLocalApic(1).irr).toEqual([0x41]);
  });
});
