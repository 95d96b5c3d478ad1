/**
 * The raw system calls of a route that `routes.setup_2048.per_route` is held against, on the KVM
 * model (no /dev/kvm needed): per route an eventfd, its duplicate and KVM_IRQFD, on GSIs the table
 * routes; afterwards every irqfd deassigned, every descriptor closed and the routes removed, also
 * when a call fails half way. The model records hazards (an irqfd on an unrouted GSI, a route
 * removed under an assigned irqfd): there must be none.
 */
import { EINVAL, EMFILE } from '@tsvmm/linux-sys';
import { FaultInjector } from '@tsvmm/linux-sys/testing';
import { isVirtError } from '@tsvmm/virt';
import { thrownBy } from '@tsvmm/virt/testing';
import { KvmPartition } from '@tsvmm/virt-kvm';
import { FIRST_MSI_GSI } from '@tsvmm/virt-kvm/implement';
import { KvmKernelModel } from '@tsvmm/virt-kvm/testing';
import { createProgress } from '../src/bench/progress';
import { perRouteMetrics, rawRouteSetup, rawRouteSyscalls, routesSection } from '../src/bench/sections/routes';
import { memoryIo } from '../src/cli/io';

const ROUTES = 64;

function modelPartition(): { model: KvmKernelModel; sys: FaultInjector; partition: KvmPartition } {
  const model = new KvmKernelModel();
  const sys = new FaultInjector(model);
  return { model, sys, partition: KvmPartition.create({ vcpus: 2, irqfd: 'kernel', sys }) };
}

/** Nothing of the raw measurement is left: descriptors, irqfds, routes; and no hazard on the way. */
function expectClean(model: KvmKernelModel, openBefore: number): void {
  expect(model.hazards).toEqual([]);
  expect(model.vm.irqfds).toEqual([]);
  expect(model.msiRoutes().size).toBe(0);
  expect(model.openFds).toBe(openBefore);
}

describe('the raw system calls of a route', () => {
  it('are eventfd, its duplicate and KVM_IRQFD per route, on routed GSIs, and leave nothing behind', () => {
    const { model, sys, partition } = modelPartition();
    try {
      const before = model.openFds;
      const mark = sys.mark();
      const ms = rawRouteSetup(partition.irqfd()!, sys, partition.vmFd, ROUTES, [0, 1]);
      expect(Number.isFinite(ms) && ms >= 0).toBe(true);
      const labels = sys.callsSince(mark).map((c) => c.label);
      // The routes' GSIs are routed first (one commit), then the timed calls, route by route.
      const timed = labels.indexOf('KVM_SET_GSI_ROUTING') + 1;
      expect(timed).toBeGreaterThan(0);
      expect(labels.slice(timed, timed + 3 * ROUTES)).toEqual(Array.from({ length: ROUTES }, () => ['eventfd', 'dup', 'KVM_IRQFD']).flat());
      // Then every irqfd deassigned before any descriptor is closed or any route removed.
      expect(labels.slice(timed + 3 * ROUTES, timed + 4 * ROUTES)).toEqual(Array(ROUTES).fill('KVM_IRQFD'));
      expectClean(model, before);
    } finally {
      partition.dispose();
    }
  });

  it('on a GSI the table does not route would be flagged by the model, so the hazard check above can fail', () => {
    const { model, sys, partition } = modelPartition();
    try {
      rawRouteSyscalls(sys, partition.vmFd, [FIRST_MSI_GSI + 100]);
      expect(model.hazards).toEqual([expect.stringMatching(new RegExp(`assigned as an irqfd on GSI ${FIRST_MSI_GSI + 100}, which the committed table does not route`))]);
    } finally {
      partition.dispose();
    }
  });

  it.each([
    ['KVM_IRQFD', EINVAL, 10, /ioctl\(KVM_IRQFD, assign eventfd \d+ to GSI \d+\)/],
    // The routes' own eventfds come first: the raw ones start after ROUTES of them.
    ['eventfd', EMFILE, ROUTES + 5, /eventfd\(\)/],
  ] as const)('release everything when %s fails half way, and throw that failure', (call, errno, nth, message) => {
    const { model, sys, partition } = modelPartition();
    try {
      const before = model.openFds;
      sys.fail(call, errno, { nth });
      const thrown = thrownBy(() => rawRouteSetup(partition.irqfd()!, sys, partition.vmFd, ROUTES, [0, 1]));
      expect(isVirtError(thrown)).toBe(true);
      expect((thrown as Error).message).toMatch(message);
      expectClean(model, before);
    } finally {
      partition.dispose();
    }
  });
});

describe('routes.setup_2048.per_route', () => {
  it('is the batched setup per route against the raw system calls per route, in µs, with their ratio', () => {
    // 2048 routes: 20.48 ms is 10 µs a route.
    const [perRoute, syscalls] = perRouteMetrics([20.48, 10.24, 30.72], [5.12, 5.12, 10.24], undefined);
    expect(perRoute).toMatchObject({
      name: 'routes.setup_2048.per_route',
      unit: 'µs',
      value: 10,
      baseline: 2.5,
      ratio: 4,
      count: 3,
      baselineName: 'routes.setup_2048.syscalls_per_route',
      baselineCount: 3,
    });
    expect(syscalls).toMatchObject({ name: 'routes.setup_2048.syscalls_per_route', unit: 'µs', value: 2.5, baseline: null, ratio: null });
  });

  it('is failed, with the reason, when the raw system calls could not be made; the setup figures are not its to fail', () => {
    const metrics = perRouteMetrics([20.48], [], 'ioctl(KVM_IRQFD) failed (EINVAL 22)');
    expect(metrics.map((m) => [m.name, m.value, m.failed])).toEqual([
      ['routes.setup_2048.per_route', null, 'the raw system calls of a route: ioctl(KVM_IRQFD) failed (EINVAL 22)'],
      ['routes.setup_2048.syscalls_per_route', null, 'the raw system calls of a route: ioctl(KVM_IRQFD) failed (EINVAL 22)'],
    ]);
  });

  it('is not measured without KVM, with the reason, like the rest of the section', async () => {
    const io = memoryIo();
    const out = await routesSection.run({ quick: true, progress: createProgress(io, 3, false), kvmUnavailable: 'KVM is not available: no /dev/kvm here', kvm: undefined });
    const byName = new Map(out.metrics.map((m) => [m.name, m]));
    for (const name of ['routes.setup_2048.per_route', 'routes.setup_2048.syscalls_per_route']) {
      expect(byName.get(name)).toMatchObject({ unit: 'µs', value: null, skipped: 'KVM is not available: no /dev/kvm here' });
    }
    expect(byName.get('routes.setup_2048.batched')).toMatchObject({ unit: 'ms' });
    expect(byName.get('routes.program_2048.commits')).toMatchObject({ unit: 'commits' });
  });
});
