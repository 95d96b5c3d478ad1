/**
 * Every public entry of a KVM partition's irqfd (the shared Linux engine) rejects wrong argument
 * types with a typed INVALID_ARGUMENT (or INVALID_MSI) and changes nothing: checked on the KVM model.
 */
import { isVirtError } from '@tsvmm/virt';
import { KvmPartition } from '../../src';
import { KvmKernelModel } from '../../src/testing';

const WRONG: unknown[] = [undefined, null, 42, 'fn', {}, [], NaN, 2n];

function typedCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (!isVirtError(e)) throw new Error(`untyped error: ${String(e)}`);
    return e.code;
  }
  return 'returned';
}

test('batch, onEventReplaced and setMsi with wrong types are typed errors with no side effect', () => {
  const model = new KvmKernelModel({ apicIds: [0, 1] });
  using vm = KvmPartition.create({ vcpus: 2, sys: model, irqfd: 'kernel' });
  const irqfd = vm.irqfd()!;
  const route = irqfd.newIrqFdRoute();
  const commits = irqfd.commitCount;
  for (const w of WRONG) {
    expect(typedCode(() => irqfd.batch(w as () => void))).toBe('INVALID_ARGUMENT');
    expect(typedCode(() => route.onEventReplaced(w as () => void))).toBe('INVALID_ARGUMENT');
    expect(['INVALID_ARGUMENT', 'INVALID_MSI']).toContain(typedCode(() => route.setMsi(w as number, w as number)));
  }
  expect(irqfd.commitCount).toBe(commits);
  expect([route.msi, route.masked]).toEqual([undefined, true]);
  expect(typeof route.onEventReplaced(() => undefined)).toBe('function');
});
