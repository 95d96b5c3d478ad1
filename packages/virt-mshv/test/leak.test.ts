/** Nothing is left behind: descriptors, buffers, GSIs and kernel routes return to their baseline after many cycles. */
import type { MshvIrqFd } from '../src';
import { describeOnTargets, msiTo } from './support/targets';

describeOnTargets('no leaks', (target) => {
  it('5,000 create/program/mask/unmask/dispose route cycles leave descriptors, GSIs and kernel routes at baseline', () => {
    using p = target.create();
    const irqfd = p.irqfd() as MshvIrqFd;
    const fds = target.openFdCount();
    const commits = irqfd.commitCount;
    for (let i = 0; i < 5000; i++) {
      const r = irqfd.newIrqFdRoute();
      const m = msiTo(i % 2, 16 + (i % 240));
      r.setMsi(m.address, m.data);
      r.unmask();
      r.mask();
      if (i % 500 === 0) r.event.signal(); // latched, then delivered by unmask
      r.unmask();
      if (i % 500 === 0) expect(target.takeIrr(p)).toEqual([[i % 2, 16 + (i % 240)]]);
      r.dispose();
    }
    expect(target.openFdCount()).toBe(fds);
    expect(irqfd.gsiCount).toBe(0);
    expect(irqfd.routeCount).toBe(0);
    expect(irqfd.table.kernelRoutes().size).toBe(0);
    expect(irqfd.commitCount - commits).toBe(10_000); // one to add each route, one to remove it
    // The kernel's own table and irqfds can be read back on the model only.
    if (!target.real) {
      const model = target.modelOf(p);
      const kernel = model.partitionOf(p.partitionFd)!;
      expect({ table: kernel.routes.size, irqfds: kernel.irqfds.length, hazards: model.hazards }).toEqual({ table: 0, irqfds: 0, hazards: [] });
    }
  });

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
