/** Nothing is left behind: descriptors, buffers, GSIs and kernel routes return to their baseline after many cycles. */
import { irqFdRouteCycleTests } from '@tsvmm/linux-sys/testing';
import { describeOnTargets, linuxIrqFdTarget } from './support/targets';

describeOnTargets('no leaks', (target) => {
  irqFdRouteCycleTests(linuxIrqFdTarget(target), 5000);

  it('100 partitions of 1-4 VPs, each with a delivering route and a requestMsi, created and disposed, leave descriptors and buffers at baseline', async () => {
    const fds = target.openFdCount();
    const buffers = target.real ? 0 : target.modelBuffers();
    for (let i = 0; i < 100; i++) {
      const p = target.create({ vcpus: 1 + (i % 4) });
      const r = p.irqfd()!.newIrqFdRoute();
      r.setMsi(0xfee00000, 0x41);
      r.unmask();
      r.event.signal();
      expect(p.requestMsi(0xfee00000, 0x41)).toBe(true);
      p.dispose();
      await p.whenClosed();
    }
    expect(target.openFdCount()).toBe(fds);
    // The pinned buffers (VP state page, hypercall input) are counted by the model's memory; koffi's are not.
    if (!target.real) expect(target.modelBuffers()).toBe(buffers);
  });
});
