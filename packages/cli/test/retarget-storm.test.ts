/**
 * The retarget storm the bench measures, on the KVM model (no /dev/kvm needed): with coalesced
 * retargets a guest moving N vectors one by one costs one commit, without them N; after the storm
 * every checked route delivers once, on its new target. A backend that delivers to the old target
 * fails the measurement.
 */
import { KvmPartition } from '@tsvmm/virt-kvm';
import { KvmKernelModel, modelRelayPlatform } from '@tsvmm/virt-kvm/testing';
import { MeasurementFailed } from '../src/bench/section';
import { STORM_WINDOW_MS, retargetStorm } from '../src/bench/sections/retarget';

function partition(windowMs: number): KvmPartition {
  const model = new KvmKernelModel({ apicIds: [0, 1] });
  return KvmPartition.create({ vcpus: 2, sys: model, irqfd: 'kernel', relayPlatform: modelRelayPlatform(model), ...(windowMs > 0 ? { retargetWindowMs: windowMs } : {}) });
}

test.each([64, 512])('a storm of %i retargets: one commit coalesced, one per retarget without; every checked signal on its new target', async (n) => {
  using coalesced = partition(STORM_WINDOW_MS);
  using each = partition(0);
  const a = await retargetStorm(coalesced.irqfd()!, coalesced, n, [0, 1], () => coalesced.irqfd()!.settle());
  const b = await retargetStorm(each.irqfd()!, each, n, [0, 1], () => each.irqfd()!.settle());
  expect({ coalesced: a.commits, each: b.commits }).toEqual({ coalesced: 1, each: n });
  expect(a.commits).toBeLessThanOrEqual(n / 10);
});

test('a signal that lands on the old target fails the measurement', async () => {
  using p = partition(0);
  const irqfd = p.irqfd()!;
  // A broken backend: setMsi is ignored once a route has a message, so the storm changes nothing.
  const real = irqfd.newIrqFdRoute.bind(irqfd);
  irqfd.newIrqFdRoute = () => {
    const r = real();
    const set = r.setMsi.bind(r);
    let first = true;
    r.setMsi = (address, data) => {
      if (first) set(address, data);
      first = false;
    };
    return r;
  };
  await expect(retargetStorm(irqfd, p, 8, [0, 1], () => irqfd.settle())).rejects.toBeInstanceOf(MeasurementFailed);
});
