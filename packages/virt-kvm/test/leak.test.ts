/** Nothing is left behind: descriptors, GSIs and kernel routes return to their baseline after many cycles. */
import type { KvmIrqFd } from '../src';
import { describeOnTargets, msiTo } from './support/targets';

describeOnTargets('no leaks', (target) => {
  it('10,000 create/program/mask/unmask/dispose cycles leave open fds and allocated GSIs at baseline', () => {
    using p = target.create();
    const irqfd = p.irqfd() as KvmIrqFd;
    const fds = target.openFdCount();
    const gsis = irqfd.gsiCount;
    const commits = irqfd.commitCount;
    for (let i = 0; i < 10_000; i++) {
      const r = irqfd.newIrqFdRoute();
      const m = msiTo(i % 2, 16 + (i % 240));
      r.setMsi(m.address, m.data);
      r.mask();
      r.unmask();
      r.mask();
      if (i % 1000 === 0) r.event.signal(); // latched, then delivered by unmask
      r.unmask();
      if (i % 1000 === 0) expect(target.takeIrr(p)).toEqual([[i % 2, 16 + (i % 240)]]);
      r.dispose();
    }
    expect(target.openFdCount()).toBe(fds);
    expect(irqfd.gsiCount).toBe(gsis);
    expect(irqfd.routeCount).toBe(0);
    expect(irqfd.table.kernelRoutes().size).toBe(0);
    expect(irqfd.commitCount - commits).toBe(20_000); // one to add each route, one to remove it
    // The kernel's own table and irqfds can be read back on the model only.
    if (!target.real) {
      const model = target.modelOf(p);
      expect({ table: model.msiRoutes().size, irqfds: model.vm.irqfds.length, hazards: model.hazards }).toEqual({ table: 0, irqfds: 0, hazards: [] });
    }
  });

  it('100 partitions created and disposed leave open fds at baseline', async () => {
    const fds = target.openFdCount();
    for (let i = 0; i < 100; i++) {
      // The model serves the relay's eventfds and epoll from the process (a relay needs real epoll).
      const p = target.create({ irqfd: i % 10 === 0 ? 'relay' : 'auto' });
      const r = p.irqfd()!.newIrqFdRoute();
      r.setMsi(0xfee00000, 0x41);
      r.unmask();
      p.dispose();
      await p.whenClosed();
    }
    expect(target.openFdCount()).toBe(fds);
  });
});
