/**
 * Running out of descriptors (EMFILE) or memory (ENOMEM) at each system call of creation that
 * makes a descriptor: `MshvPartition.create` (/dev/mshv, the partition, each VP) and
 * `newIrqFdRoute` (eventfd, dup). Each attempt is a typed VirtError naming the call, with the
 * errno kept, and leaves nothing open on the model; what creation returns works. (Every step of
 * create failing with EIO and ENOMEM is in ./partition.test.ts.)
 */
import { EMFILE, ENOMEM } from '@tsvmm/linux-sys';
import { FaultInjector } from '@tsvmm/linux-sys/testing';
import { type VirtError, encodeMsi, isVirtError } from '@tsvmm/virt';
import { MshvPartition } from '../src';
import { MshvKernelModel, modelRelayPlatform } from '../src/testing';
import { thrownBy } from '@tsvmm/virt/testing';

const MAKES_FD = ['open', 'MSHV_CREATE_PARTITION', 'MSHV_CREATE_VP', 'eventfd', 'dup'];
const CALL_IN_MESSAGE: Record<string, RegExp> = { open: /open\(/, eventfd: /eventfd\(\)/, dup: /F_DUPFD_CLOEXEC/ };

function expectTyped(what: string, e: unknown, errno: number, label: string): void {
  expect({ what, typed: isVirtError(e) }).toEqual({ what, typed: true });
  const v = e as VirtError;
  expect({ what, errno: v.errno }).toEqual({ what, errno });
  expect({ what, names: (CALL_IN_MESSAGE[label] ?? new RegExp(label)).test(v.message) }).toEqual({ what, names: true });
}

describe('fd exhaustion at each descriptor-making step (mshv model)', () => {
  it('MshvPartition.create: EMFILE and ENOMEM at open, MSHV_CREATE_PARTITION and every MSHV_CREATE_VP', () => {
    const probeModel = new MshvKernelModel();
    const probe = new FaultInjector(probeModel);
    MshvPartition.create({ vcpus: 3, sys: probe, memory: probeModel }).dispose();
    const steps = probe.log.map((r, step) => ({ step, label: r.label })).filter((s) => MAKES_FD.includes(s.label));
    expect(steps.map((s) => s.label)).toEqual(['open', 'MSHV_CREATE_PARTITION', 'MSHV_CREATE_VP', 'MSHV_CREATE_VP', 'MSHV_CREATE_VP']);
    for (const { step, label } of steps) {
      for (const errno of [EMFILE, ENOMEM]) {
        const model = new MshvKernelModel();
        const sys = new FaultInjector(model).failStep(step, errno);
        const what = `step ${step + 1} (${label}) failing with ${errno}`;
        expectTyped(what, thrownBy(() => MshvPartition.create({ vcpus: 3, sys, memory: model }).dispose()), errno, label);
        expect({ what, fds: model.openFds(), buffers: model.allocatedBuffers }).toEqual({ what, fds: 0, buffers: 0 });
      }
    }
  });

  it('newIrqFdRoute: EMFILE and ENOMEM at eventfd and dup; no descriptor or slot is left behind', () => {
    const model = new MshvKernelModel();
    const sys = new FaultInjector(model);
    using p = MshvPartition.create({ vcpus: 2, sys, memory: model, maxRoutes: 2, relayPlatform: modelRelayPlatform(model) });
    const irqfd = p.irqfd()!;
    const mark = sys.mark();
    irqfd.newIrqFdRoute().dispose();
    const steps = sys
      .callsSince(mark)
      .map((r, i) => ({ step: i, label: r.label }))
      .filter((s) => s.label === 'eventfd' || s.label === 'dup');
    expect(steps.map((s) => s.label)).toEqual(['eventfd', 'dup']);
    const fds = model.openFds();
    for (const { step, label } of steps) {
      for (const errno of [EMFILE, ENOMEM]) {
        const what = `step ${step + 1} (${label}) failing with ${errno}`;
        sys.failStep(step, errno);
        expectTyped(what, thrownBy(() => irqfd.newIrqFdRoute()), errno, label);
        sys.clearFaults();
        expect({ what, fds: model.openFds(), routes: irqfd.routeCount }).toEqual({ what, fds, routes: 0 });
      }
    }
    // Both slots of maxRoutes 2 are still free, and a route delivers.
    const [a] = [irqfd.newIrqFdRoute(), irqfd.newIrqFdRoute()];
    const m = encodeMsi({ destinationId: 1, vector: 0x41 });
    a.setMsi(m.addressLo, m.data);
    a.unmask();
    a.event.signal();
    expect(p.readLocalApic(1).irr).toEqual([0x41]);
    // The partition's maxRoutes reached the engine: two routes are the budget, a third is EXHAUSTED.
    expect(irqfd.capabilities.maxRoutes).toBe(2);
    expect(thrownBy(() => irqfd.newIrqFdRoute())).toMatchObject({ code: 'EXHAUSTED' });
  });
});
