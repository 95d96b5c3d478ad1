/** Unknown option keys (a misspelt `irqfd`) are refused before any system call; an async batch fn is refused after its synchronous part commits. */
import { isVirtError } from '@tsvmm/virt';
import { FaultInjector } from '@tsvmm/linux-sys/testing';
import { thrownBy } from '@tsvmm/virt/testing';
import { type KvmIrqFd, KvmPartition, kvmBackend } from '../src';
import { describeOnTargets } from './support/targets';

describeOnTargets('KvmPartition.create options', (target) => {
  it("a misspelt key ('irqdf') is INVALID_ARGUMENT naming it, before any system call", () => {
    const sys = new FaultInjector(target.newSyscalls());
    for (const open of [(o: never) => KvmPartition.create(o), (o: never) => kvmBackend.open(o)]) {
      const e = thrownBy(() => open({ vcpus: 2, irqdf: 'relay', sys } as never));
      expect(isVirtError(e, 'INVALID_ARGUMENT')).toBe(true);
      expect((e as Error).message).toMatch(/unknown key 'irqdf'/);
    }
    expect(sys.log).toEqual([]);
  });
});

describeOnTargets('batch with an async fn (KVM engine)', (target) => {
  it('commits what ran before the first await, then throws INVALID_ARGUMENT; the rest runs outside', async () => {
    using p = target.create();
    const irqfd = p.irqfd() as KvmIrqFd;
    const r = irqfd.newIrqFdRoute();
    const commits = irqfd.commitCount;
    const e = thrownBy(() =>
      irqfd.batch(async () => {
        r.setMsi(0xfee00000, 0x41);
        r.unmask();
        await Promise.resolve();
        r.mask();
      }),
    );
    expect(isVirtError(e, 'INVALID_ARGUMENT')).toBe(true);
    expect(irqfd.commitCount).toBe(commits + 1);
    const committed = { addressLo: 0xfee00000, addressHi: 0, data: 0x41 };
    expect(irqfd.table.kernelRoutes().get(r.gsi!)).toEqual(committed);
    // The kernel's own table can be read back on the model only.
    if (!target.real) expect(target.modelOf(p).msiRoutes().get(r.gsi!)).toEqual(committed);
    expect(r.masked).toBe(false);
    await new Promise((res) => setTimeout(res, 0));
    expect(r.masked).toBe(true);
  });
});
