/** Unknown option keys (a misspelt `irqfd`) are refused before any system call; an async batch fn is refused after its synchronous part commits. */
import { isVirtError } from '@tsvmm/virt';
import { FaultInjector } from '@tsvmm/linux-sys/testing';
import { type KvmIrqFd, KvmPartition, kvmBackend } from '../../src';
import { KvmKernelModel, modelRelayPlatform } from '../../src/testing';
import { thrownBy } from '@tsvmm/virt/testing';

describe('KvmPartition.create options', () => {
  it("a misspelt key ('irqdf') is INVALID_ARGUMENT naming it, before any system call", () => {
    const sys = new FaultInjector(new KvmKernelModel());
    for (const open of [(o: never) => KvmPartition.create(o), (o: never) => kvmBackend.open(o)]) {
      const e = thrownBy(() => open({ vcpus: 2, irqdf: 'relay', sys } as never));
      expect(isVirtError(e, 'INVALID_ARGUMENT')).toBe(true);
      expect((e as Error).message).toMatch(/unknown key 'irqdf'/);
    }
    expect(sys.log).toEqual([]);
  });
});

describe('batch with an async fn (KVM engine)', () => {
  it('commits what ran before the first await, then throws INVALID_ARGUMENT; the rest runs outside', async () => {
    const model = new KvmKernelModel();
    using p = KvmPartition.create({ vcpus: 2, irqfd: 'kernel', sys: model, overflow: modelRelayPlatform(model) });
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
    expect(model.msiRoutes().get(r.gsi!)).toEqual({ addressLo: 0xfee00000, addressHi: 0, data: 0x41 });
    expect(r.masked).toBe(false);
    await new Promise((res) => setTimeout(res, 0));
    expect(r.masked).toBe(true);
  });
});
