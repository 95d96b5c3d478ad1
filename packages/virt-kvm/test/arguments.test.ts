/**
 * Every public entry of a KVM partition's irqfd (the shared Linux engine) rejects wrong argument
 * types with a typed INVALID_ARGUMENT (or INVALID_MSI) and changes nothing.
 */
import { isVirtError } from '@tsvmm/virt';
import { describeOnTargets } from './support/targets';

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

describeOnTargets('irqfd arguments', (target) => {
  it('batch, onEventReplaced and setMsi with wrong types are typed errors with no side effect', () => {
    using vm = target.create();
    const irqfd = vm.irqfd()!;
    const route = irqfd.newIrqFdRoute();
    const commits = irqfd.commitCount;
    const mark = target.sysOf(vm).mark();
    for (const w of WRONG) {
      expect(typedCode(() => irqfd.batch(w as () => void))).toBe('INVALID_ARGUMENT');
      expect(typedCode(() => route.onEventReplaced(w as () => void))).toBe('INVALID_ARGUMENT');
      expect(['INVALID_ARGUMENT', 'INVALID_MSI']).toContain(typedCode(() => route.setMsi(w as number, w as number)));
    }
    expect(target.sysOf(vm).callsSince(mark)).toEqual([]);
    expect(irqfd.commitCount).toBe(commits);
    expect([route.msi, route.masked]).toEqual([undefined, true]);
    expect(typeof route.onEventReplaced(() => undefined)).toBe('function');
  });

  it('a vCPU out of range is INVALID_ARGUMENT naming the method called, before any system call', () => {
    using vm = target.create();
    const mark = target.sysOf(vm).mark();
    const calls: Array<[string, () => unknown]> = [
      ['KvmPartition.readLocalApic', () => vm.readLocalApic(2)],
      ['KvmPartition.clearIrr', () => vm.clearIrr(-1)],
      ['KvmPartition.irrReader', () => vm.irrReader(2, 0x41)],
      ['KvmPartition.vcpuFd', () => vm.vcpuFd(1.5)],
    ];
    for (const [operation, call] of calls) {
      let e: unknown;
      try {
        call();
      } catch (err) {
        e = err;
      }
      expect(isVirtError(e) && { code: e.code, operation: e.operation }).toEqual({ code: 'INVALID_ARGUMENT', operation });
    }
    expect(target.sysOf(vm).callsSince(mark)).toEqual([]);
  });
});
