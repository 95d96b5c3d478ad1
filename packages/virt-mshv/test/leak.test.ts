import { encodeMsi } from '@tsvmm/virt';
import { MshvKernelModel } from '../src/testing';
import { MshvPartition } from '../src';

test('5,000 create/program/mask/unmask/dispose route cycles leave eventfds, GSIs and kernel routes at baseline', () => {
  const model = new MshvKernelModel();
  using p = MshvPartition.create({ vcpus: 2, sys: model, memory: model });
  const irqfd = p.irqfd()!;
  const kernel = model.partitionOf(p.partitionFd)!;
  const fds = model.openFds();
  const commits = irqfd.commitCount;
  for (let i = 0; i < 5000; i++) {
    const r = irqfd.newIrqFdRoute();
    const m = encodeMsi({ destinationId: i % 2, vector: 16 + (i % 240) });
    r.setMsi(m.addressLo, m.data);
    r.unmask();
    r.mask();
    if (i % 500 === 0) r.event.signal(); // latched, then delivered by unmask
    r.unmask();
    if (i % 500 === 0) {
      expect(p.readLocalApic(i % 2).irr).toEqual([16 + (i % 240)]);
      p.clearIrr(i % 2);
    }
    r.dispose();
  }
  expect(model.openFds()).toBe(fds);
  expect(irqfd.gsiCount).toBe(0);
  expect(irqfd.routeCount).toBe(0);
  expect(kernel.routes.size).toBe(0);
  expect(kernel.irqfds).toHaveLength(0);
  expect(irqfd.commitCount - commits).toBe(10_000); // one to add each route, one to remove it
  expect(model.hazards).toEqual([]);
});
