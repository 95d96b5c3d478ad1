/**
 * The constructor of KvmPartition is internal (only `create` validates options and opens the VM),
 * and an injected `sys` must be a whole Syscalls: both refused with INVALID_ARGUMENT, before any
 * system call.
 */
import { isVirtError } from '@tsvmm/virt';
import { thrownBy } from '@tsvmm/virt/testing';
import { EngineRoute, type Syscalls } from '@tsvmm/linux-sys';
import { KvmPartition } from '../src';
import { describeOnTargets } from './support/targets';

const thrown = thrownBy;

const CALLS = ['open', 'close', 'ioctl', 'read', 'write', 'eventfd', 'poll', 'epollCreate', 'epollCtl', 'epollWait'] as const;

/** A Syscalls that forwards to `inner` and records every call by name. */
function recording(inner: Syscalls, log: string[]): Record<string, unknown> {
  const sys: Record<string, unknown> = {};
  for (const name of CALLS) {
    sys[name] = (...args: unknown[]) => {
      log.push(name);
      return (inner[name] as (...a: unknown[]) => number).apply(inner, args);
    };
  }
  return sys;
}

describeOnTargets('new EngineRoute()', (target) => {
  test("is INVALID_ARGUMENT naming IrqFdEngine.newIrqFdRoute(), even with a live route's event", () => {
    const vm = target.create({ vcpus: 1 });
    try {
      const irqfd = vm.irqfd();
      if (!irqfd) throw new Error('a KVM partition has an irqfd');
      const route = irqfd.newIrqFdRoute();
      const Ctor = EngineRoute as unknown as new (...args: unknown[]) => unknown;
      for (const args of [[], [undefined, {}, 0, route.event]]) {
        const e = thrown(() => new Ctor(...args));
        expect(isVirtError(e, 'INVALID_ARGUMENT')).toBe(true);
        expect((e as Error).message).toContain('the EngineRoute constructor is internal');
        expect((e as Error).message).toContain('IrqFdEngine.newIrqFdRoute()');
      }
      route.dispose();
    } finally {
      vm.dispose();
    }
  });
});

describeOnTargets('new KvmPartition()', (target) => {
  const Ctor = KvmPartition as unknown as new (...args: unknown[]) => KvmPartition;

  test('without arguments: INVALID_ARGUMENT naming KvmPartition.create(), not a TypeError', () => {
    const e = thrown(() => new Ctor());
    expect(isVirtError(e, 'INVALID_ARGUMENT')).toBe(true);
    expect((e as Error).message).toContain('KvmPartition.create()');
  });

  test('with the arguments create passes, but no token: INVALID_ARGUMENT, and nothing is called', () => {
    const log: string[] = [];
    const sys = recording(target.newSyscalls(), log);
    const e = thrown(() => new Ctor(sys, 3, 4, [5], { irqfd: true, irqRouting: 1024, signalMsi: true, maxVcpus: 8 }, { mode: 'auto', vcpus: 1, sys }, 64));
    expect(isVirtError(e, 'INVALID_ARGUMENT')).toBe(true);
    expect((e as Error).message).toContain('the KvmPartition constructor is internal');
    expect(log).toEqual([]);
  });

  test('create still makes one', () => {
    using vm = target.create();
    expect(vm).toBeInstanceOf(KvmPartition);
    expect(vm.vcpuCount).toBe(2);
  });
});

describeOnTargets('KvmPartition.create({ sys })', (target) => {
  test('sys: {} is INVALID_ARGUMENT naming the missing system calls, not "sys.open is not a function"', () => {
    const e = thrown(() => KvmPartition.create({ vcpus: 2, sys: {} as Syscalls }));
    expect(isVirtError(e, 'INVALID_ARGUMENT')).toBe(true);
    expect((e as Error).message).toMatch(/sys must have the functions open \(undefined\), close \(undefined\)/);
  });

  test.each([null, 42, 'sys', () => 0])('sys: %p is INVALID_ARGUMENT', (sys) => {
    expect(isVirtError(thrown(() => KvmPartition.create({ vcpus: 1, sys: sys as unknown as Syscalls })), 'INVALID_ARGUMENT')).toBe(true);
  });

  test.each(CALLS)('a sys without %s is refused before any system call', (missing) => {
    const log: string[] = [];
    const sys = recording(target.newSyscalls(), log);
    delete sys[missing];
    const e = thrown(() => KvmPartition.create({ vcpus: 2, sys: sys as unknown as Syscalls }));
    expect(isVirtError(e, 'INVALID_ARGUMENT')).toBe(true);
    expect((e as Error).message).toContain(`${missing} (undefined)`);
    expect(log).toEqual([]);
  });

  test('an optional call that is present but not a function (dup: 5) is refused', () => {
    const log: string[] = [];
    const sys = { ...recording(target.newSyscalls(), log), dup: 5 };
    const e = thrown(() => KvmPartition.create({ vcpus: 1, sys: sys as unknown as Syscalls }));
    expect(isVirtError(e, 'INVALID_ARGUMENT')).toBe(true);
    expect((e as Error).message).toContain('dup (5 (0x5))');
    expect(log).toEqual([]);
  });

  test('a whole Syscalls as a plain object (no dup, no sameFile) works', () => {
    const log: string[] = [];
    using vm = KvmPartition.create({ vcpus: 2, sys: recording(target.newSyscalls(), log) as unknown as Syscalls });
    expect(vm.vcpuCount).toBe(2);
    expect(log[0]).toBe('open');
  });
});
