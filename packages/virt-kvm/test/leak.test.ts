/** Nothing is left behind: descriptors, GSIs and kernel routes return to their baseline after many cycles. */
import { irqFdRouteCycleTests } from '@tsvmm/linux-sys/testing';
import { describeOnTargets, linuxIrqFdTarget } from './support/targets';

describeOnTargets('no leaks', (target) => {
  irqFdRouteCycleTests(linuxIrqFdTarget(target), 10_000);

  it('100 partitions created and disposed leave open fds at baseline', async () => {
    const fds = target.openFdCount();
    for (let i = 0; i < 100; i++) {
      // Every tenth a relay with the default platform: on the model too a real epoll worker, on the
      // process's own eventfds; every tenth another a relay on the target's platform (the model's waiter).
      const p = target.create(i % 10 === 0 ? { irqfd: 'relay', processEvents: true } : { irqfd: i % 10 === 5 ? 'relay' : 'auto' });
      const r = p.irqfd()!.newIrqFdRoute();
      r.setMsi(0xfee00000, 0x41);
      r.unmask();
      p.dispose();
      await p.whenClosed();
    }
    expect(target.openFdCount()).toBe(fds);
  });
});
