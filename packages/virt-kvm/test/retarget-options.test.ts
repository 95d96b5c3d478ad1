/**
 * `retargetWindowMs` as a caller meets it: checked before anything is opened, said in the irqfd's
 * mechanism, off by default. What coalescing does is in the shared suite (double-fault.test.ts).
 */
import { isVirtError } from '@tsvmm/virt';
import { FaultInjector } from '@tsvmm/linux-sys/testing';
import { thrownBy } from '@tsvmm/virt/testing';
import { KvmPartition } from '../src';
import { KvmKernelModel, modelRelayPlatform } from '../src/testing';

test('a bad retargetWindowMs is INVALID_ARGUMENT naming it, before any system call', () => {
  for (const bad of [-1, 1001, 1.5, '20', null]) {
    const model = new KvmKernelModel();
    const sys = new FaultInjector(model);
    const e = thrownBy(() => KvmPartition.create({ vcpus: 2, sys, retargetWindowMs: bad as never }));
    expect({ bad, typed: isVirtError(e), code: (e as { code?: string }).code, names: /retargetWindowMs/.test(String((e as Error).message)) }).toEqual({ bad, typed: true, code: 'INVALID_ARGUMENT', names: true });
    expect(sys.log).toEqual([]);
  }
});

test('the mechanism says when retargets are coalesced, and for how long; off by default', () => {
  const model = new KvmKernelModel();
  using off = KvmPartition.create({ vcpus: 2, sys: model, irqfd: 'kernel', relayPlatform: modelRelayPlatform(model) });
  expect(off.irqfd()!.capabilities.mechanism).not.toMatch(/retarget/);
  const model2 = new KvmKernelModel();
  using on = KvmPartition.create({ vcpus: 2, sys: model2, irqfd: 'kernel', relayPlatform: modelRelayPlatform(model2), retargetWindowMs: 5 });
  expect(on.irqfd()!.capabilities.mechanism).toMatch(/retargets are committed together, at most 5 ms later/);
});
