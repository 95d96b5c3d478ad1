/**
 * WhpPartition against the native model: platform refusal, set-up order, the capability probe,
 * the local APIC, requestMsi, failures injected at every call of `create`, HRESULTs for bad
 * parameters and bad handles, the capability report of a WHP without trigger exports, and the
 * handle ledger itself.
 */
import { isVirtError } from '@tsvmm/virt';
import { OptionReads, thrownBy } from '@tsvmm/virt/testing';
import { WhpIrqFd, WhpIrqFdRoute, WhpPartition, probe, whpBackend } from '../src';
import { abi, checkWhpPlatform, whpCalls } from '../src/implement';
import { whpModel } from './support/native-model';
import { fresh, msi, take, whpCallsSince } from './support/whp-calls';

const full = whpModel('full');

/** A fresh 'full' model holding one partition, made with the calls straight: one processor, set up. */
function setUpPartition(): { c: ReturnType<typeof whpCalls>; h: ReturnType<ReturnType<typeof whpCalls>['createPartition']> } {
  full.reset();
  const c = whpCalls(full.library);
  const h = c.createPartition();
  c.setPartitionPropertyU32(h, abi.WHvPartitionPropertyCodeProcessorCount, 1);
  c.setupPartition(h);
  return { c, h };
}

const thrown = thrownBy;

describe('new WhpPartition()', () => {
  test('is INVALID_ARGUMENT naming WhpPartition.create(), with or without arguments', () => {
    const Ctor = WhpPartition as unknown as new (...args: unknown[]) => WhpPartition;
    for (const args of [[], [whpCalls(full.library), 1n, 2, 8, 100]]) {
      const e = thrown(() => new Ctor(...args));
      expect(isVirtError(e, 'INVALID_ARGUMENT')).toBe(true);
      expect((e as Error).message).toContain('the WhpPartition constructor is internal');
      expect((e as Error).message).toContain('WhpPartition.create()');
    }
  });
});

describe('new WhpIrqFd() and new WhpIrqFdRoute()', () => {
  test('are INVALID_ARGUMENT naming what makes them, even with the arguments a partition passes', () => {
    const vm = fresh(full);
    try {
      const irqfd = vm.irqfd();
      const cases: Array<[string, () => unknown, string]> = [
        ['WhpIrqFd', () => new (WhpIrqFd as unknown as new (...a: unknown[]) => unknown)(undefined, (irqfd as WhpIrqFd).host, 8, 100), 'WhpPartition.irqfd()'],
        ['WhpIrqFd', () => new (WhpIrqFd as unknown as new (...a: unknown[]) => unknown)(), 'WhpPartition.irqfd()'],
        ['WhpIrqFdRoute', () => new (WhpIrqFdRoute as unknown as new (...a: unknown[]) => unknown)(undefined, irqfd, undefined), 'WhpIrqFd.newIrqFdRoute()'],
        ['WhpIrqFdRoute', () => new (WhpIrqFdRoute as unknown as new (...a: unknown[]) => unknown)(), 'WhpIrqFd.newIrqFdRoute()'],
      ];
      for (const [name, make, factory] of cases) {
        const e = thrownBy(make);
        expect([name, isVirtError(e, 'INVALID_ARGUMENT')]).toEqual([name, true]);
        expect((e as Error).message).toContain(`the ${name} constructor is internal`);
        expect((e as Error).message).toContain(factory);
      }
      // The factory still works.
      const route = irqfd.newIrqFdRoute();
      route.dispose();
    } finally {
      vm.dispose();
    }
  });
});

describe('platform', () => {
  test('off Windows x64, create throws UNSUPPORTED naming the platform (importing worked)', () => {
    if (process.platform === 'win32' && process.arch === 'x64') return; // the real-Windows file covers it
    const e = thrown(() => WhpPartition.create({ vcpus: 2 }));
    expect(isVirtError(e, 'UNSUPPORTED')).toBe(true);
    expect((e as Error).message).toContain(`unsupported on this platform (${process.platform} on ${process.arch})`);
  });

  test('Windows on Arm64 is refused as a different ABI; Windows x64 passes', () => {
    const e = thrown(() => checkWhpPlatform('op', 'win32', 'arm64'));
    expect(isVirtError(e, 'UNSUPPORTED')).toBe(true);
    expect((e as Error).message).toMatch(/Windows on arm64.*x64 ABI only/);
    expect(() => checkWhpPlatform('op', 'win32', 'x64')).not.toThrow();
    expect(() => checkWhpPlatform('op', 'darwin', 'arm64')).toThrow(/darwin on arm64/);
  });

  test('the registry entry: name whp, and a probe that says why not, with a machine-readable code', () => {
    expect(whpBackend.name).toBe('whp');
    const p = whpBackend.probe();
    if (process.platform === 'win32' && process.arch === 'x64') return;
    expect(p).toMatchObject({ backend: 'whp', available: false, code: 'platform' });
    expect(p.reason).toContain('WHP needs Windows on x64');
    // It never throws, whatever it is given: null and non-objects are no options.
    for (const wrong of [null, 5, 'x']) expect(probe(wrong as never)).toMatchObject({ backend: 'whp', available: false, code: 'platform' });
  });

  test('probe through the test seam: available with triggers; without triggers; hypervisor absent', () => {
    full.reset();
    const ok = probe({ library: full.library });
    expect(ok).toMatchObject({ available: true, code: 'ok', capabilities: { irqfd: 'kernel', x2apic: false, maxApicId: 0xfe } });
    expect(ok.x2apicPartition).toEqual({ available: true, maxApicId: 1023, reason: expect.stringMatching(/LocalApicEmulationMode X2Apic.*up to 1023 with 1024 vCPUs/) });
    // What probe promises, create keeps: an x2apic partition with the most VPs reaches that APIC ID.
    const widest = WhpPartition.create({ vcpus: 1024, x2apic: true, library: full.library });
    try {
      expect(widest.capabilities.maxApicId).toBe(ok.x2apicPartition!.maxApicId);
    } finally {
      widest.dispose();
    }
    full.reset();
    const none = whpModel('no-triggers');
    none.reset();
    expect(probe({ library: none.library })).toMatchObject({ available: true, capabilities: { irqfd: 'emulated' } });
    full.configure('hypervisor_present', 0);
    expect(probe({ library: full.library })).toMatchObject({ available: false, code: 'no-device' });
    full.reset();
    full.assertClean();
  });

  test('bad options are refused before any call', () => {
    full.reset();
    const lib = full.library;
    const bad: unknown[] = [undefined, null, 42, {}, { vcpus: 0, library: lib }, { vcpus: 65, library: lib }, { vcpus: 1.5, library: lib },
      { vcpus: 2, maxRoutes: 0, library: lib }, { vcpus: 2, library: { whp: '' } }, { vcpus: 2, library: 'x' }];
    for (const o of bad) expect([o, isVirtError(thrown(() => WhpPartition.create(o as never)), 'INVALID_ARGUMENT')]).toEqual([o, true]);
    expect(full.calls('WHvCreatePartition')).toBe(0);
  });
});

describe('create', () => {
  test('reads each option exactly once', () => {
    full.reset();
    const reads = new OptionReads();
    const p = WhpPartition.create(reads.watch({ vcpus: 2, maxRoutes: 8, library: reads.watch({ ...full.library }, { prefix: 'library.' }) }));
    p.dispose();
    expect(reads.counts).toEqual({ apicIds: 1, inFlightWaitMs: 1, library: 1, 'library.kernel32': 1, 'library.whp': 1, maxRoutes: 1, vcpus: 1, x2apic: 1 });
    full.assertClean();
  });

  test('sets ProcessorCount and the xAPIC mode before setup, creates each VP and enables its APIC', () => {
    full.reset();
    const since = whpCallsSince(full);
    const p = fresh(full, 3);
    expect(since()).toEqual({
      WHvGetCapability: 2,
      WHvCreatePartition: 1,
      WHvSetPartitionProperty: 2,
      WHvSetupPartition: 1,
      WHvCreateVirtualProcessor: 3,
      WHvGetVirtualProcessorState: 3,
      WHvSetVirtualProcessorState: 3,
    });
    expect([0, 1, 2].map((v) => p.readLocalApic(v))).toEqual([0, 1, 2].map((v) => ({ apicId: v, irr: [], isr: [], softwareEnabled: true })));
    expect(p.capabilities).toEqual({ backend: 'whp', irqfd: 'kernel', irqfdReason: '', maxRoutes: 1024, resample: false, x2apic: false, maxApicId: 0xfe, maxVcpus: 64 });
    expect(Object.isFrozen(p.capabilities)).toBe(true);
    expect(p.exports).toEqual({ WHvCreateTrigger: true, WHvUpdateTriggerParameters: true, WHvDeleteTrigger: true });
    expect(p.irqfd()?.capabilities).toMatchObject({ mediation: 'kernel', stableEvent: false, routingTable: false });
    p.dispose();
    p.dispose();
    full.assertClean();
  });

  const steps: Array<[string, number]> = [
    ['WHvGetCapability', 1],
    ['WHvGetCapability', 2],
    ['WHvCreatePartition', 1],
    ['WHvSetPartitionProperty', 1],
    ['WHvSetPartitionProperty', 2],
    ['WHvSetupPartition', 1],
    ['WHvCreateVirtualProcessor', 1],
    ['WHvCreateVirtualProcessor', 2],
    ['WHvGetVirtualProcessorState', 2],
    ['WHvSetVirtualProcessorState', 2],
  ];
  test.each(steps)('%s call %i fails → a typed HRESULT error and nothing left alive', (fn, nth) => {
    full.reset();
    full.fail(fn, nth, 0x80370304 | 0);
    const e = thrown(() => fresh(full, 2));
    expect(e).toMatchObject({ code: 'HRESULT', hresult: abi.WHV_E_INVALID_PARTITION_CONFIG, operation: fn });
    expect((e as Error).message).toContain('WHV_E_INVALID_PARTITION_CONFIG');
    full.assertClean();
  });

  test('hypervisor absent → UNAVAILABLE', () => {
    full.reset();
    full.configure('hypervisor_present', 0);
    expect(thrown(() => fresh(full))).toMatchObject({ code: 'UNAVAILABLE' });
    full.assertClean();
  });
});

describe('requestMsi and the local APIC', () => {
  test('requestMsi lands on the named VP only; clearIrr clears; calls after dispose throw DISPOSED', () => {
    full.reset();
    const p = fresh(full, 2);
    const m = msi(1, 0x77);
    expect(p.requestMsi(m.address, m.data)).toBe(true);
    expect([take(p, 0), take(p, 1)]).toEqual([[], [0x77]]);
    expect(take(p, 1)).toEqual([]);
    expect(() => p.readLocalApic(2)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    p.dispose();
    expect(() => p.requestMsi(m.address, m.data)).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
    expect(() => p.readLocalApic(0)).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
    full.assertClean();
  });
});

describe('HRESULTs for bad parameters and bad handles (the calls, straight)', () => {
  test('property after setup is E_INVALIDARG; unknown property; bad partition, trigger and VP', () => {
    full.reset();
    const c = whpCalls(full.library);
    const h = c.createPartition();
    c.setPartitionPropertyU32(h, abi.WHvPartitionPropertyCodeProcessorCount, 1);
    expect(thrown(() => c.setPartitionPropertyU32(h, 0x4242, 1))).toMatchObject({ hresult: abi.WHV_E_UNKNOWN_PROPERTY });
    c.setupPartition(h);
    expect(thrown(() => c.setPartitionPropertyU32(h, abi.WHvPartitionPropertyCodeProcessorCount, 2))).toMatchObject({ code: 'HRESULT', hresult: abi.E_INVALIDARG });
    expect(thrown(() => c.createVirtualProcessor(h, 1))).toMatchObject({ hresult: abi.ERROR_HV_INVALID_VP_INDEX });
    expect(thrown(() => c.getLapicPage(h, 0))).toMatchObject({ hresult: abi.WHV_E_VP_DOES_NOT_EXIST });
    expect(thrown(() => c.deleteTrigger(h, 0x1234n))).toMatchObject({ hresult: abi.E_HANDLE });
    expect(thrown(() => c.setupPartition(h + 16n))).toMatchObject({ hresult: abi.E_HANDLE });
    expect(thrown(() => c.getCapability(7, 8))).toMatchObject({ hresult: abi.WHV_E_UNKNOWN_CAPABILITY });
    expect(thrown(() => c.getCapability(1, 4))).toMatchObject({ hresult: abi.WHV_E_INSUFFICIENT_BUFFER });
    // A trigger of another type, or a reserved word set, is E_INVALIDARG.
    const params = new Uint8Array(32);
    params[0] = 1;
    expect(thrown(() => c.createTrigger(h, params))).toMatchObject({ hresult: abi.E_INVALIDARG });
    params[0] = 0;
    params[4] = 1;
    expect(thrown(() => c.createTrigger(h, params))).toMatchObject({ hresult: abi.E_INVALIDARG });
    c.deletePartition(h);
    expect(thrown(() => c.deletePartition(h))).toMatchObject({ hresult: abi.E_HANDLE });
    full.assertClean();
  });

  test('a deleted partition deletes its triggers but closes none of their events', () => {
    const { c, h } = setUpPartition();
    const t = c.createTrigger(h, new Uint8Array(32).fill(0).map((_, i) => (i === 20 ? 0x41 : 0)));
    c.deletePartition(h);
    expect(full.ledger('live_triggers')).toBe(0);
    expect(full.eventState(t.event)).toBe(0); // still open
    c.closeHandle(t.event);
    full.assertClean();
  });

  test('a trigger is reached only through its own live partition: another partition, or a deleted one, is E_HANDLE to update and delete, and the trigger lives on', () => {
    const { c, h } = setUpPartition();
    const params = new Uint8Array(32).map((_, i) => (i === 20 ? 0x41 : 0));
    const t = c.createTrigger(h, params);
    const other = c.createPartition();
    const gone = c.createPartition();
    c.deletePartition(gone);
    for (const wrong of [other, gone]) {
      expect(thrown(() => c.updateTriggerParameters(wrong, params, t.trigger))).toMatchObject({ hresult: abi.E_HANDLE });
      expect(thrown(() => c.deleteTrigger(wrong, t.trigger))).toMatchObject({ hresult: abi.E_HANDLE });
    }
    expect(full.ledger('live_triggers')).toBe(1);
    c.updateTriggerParameters(h, params, t.trigger);
    c.deleteTrigger(h, t.trigger);
    expect(full.ledger('live_triggers')).toBe(0);
    c.closeHandle(t.event);
    c.deletePartition(other);
    c.deletePartition(h);
    full.assertClean();
  });
});

describe('the handle ledger fails a test on any handle closed twice, never, or before its trigger', () => {
  test('closed twice', () => {
    full.reset();
    const c = whpCalls(full.library);
    const e = c.createEvent(false);
    c.closeHandle(e);
    expect(() => c.closeHandle(e)).toThrow(expect.objectContaining({ code: 'SYSCALL', operation: 'CloseHandle' }));
    expect(() => full.assertClean()).toThrow(/"close_errors":1/);
    full.reset();
  });

  test('never closed', () => {
    full.reset();
    whpCalls(full.library).createEvent(false);
    expect(() => full.assertClean()).toThrow(/"open_events":1/);
    full.reset();
  });

  test('closed while its trigger is alive, and a partition never deleted', () => {
    const { c, h } = setUpPartition();
    const params = new Uint8Array(32);
    params[20] = 0x41;
    const t = c.createTrigger(h, params);
    c.closeHandle(t.event);
    expect(() => full.assertClean()).toThrow(/"order_violations":1.*"live_partitions":1,"live_triggers":1/);
    full.reset();
  });

  test('used after close: each SetEvent, ResetEvent or wait on a closed handle counts once', () => {
    full.reset();
    const c = whpCalls(full.library);
    const open = c.createEvent(false);
    const closed = c.createEvent(false);
    c.closeHandle(closed);
    c.setEvent(open);
    expect(full.ledger('bad_handle_uses')).toBe(0);
    expect(() => c.setEvent(closed)).toThrow(expect.objectContaining({ code: 'SYSCALL', operation: 'SetEvent' }));
    expect(full.ledger('bad_handle_uses')).toBe(1);
    expect(() => c.resetEvent(closed)).toThrow(expect.objectContaining({ code: 'SYSCALL', operation: 'ResetEvent' }));
    expect(full.ledger('bad_handle_uses')).toBe(2);
    // The open handle comes first and is signalled: the wait takes it and never looks at the closed one.
    expect(c.waitAny([open, closed], 0)).toBe(0);
    expect(full.ledger('bad_handle_uses')).toBe(2);
    expect(() => c.waitAny([open, closed], 0)).toThrow(expect.objectContaining({ code: 'SYSCALL', operation: 'WaitForMultipleObjects' }));
    expect(full.ledger('bad_handle_uses')).toBe(3);
    c.closeHandle(open);
    expect(() => full.assertClean()).toThrow(/"bad_handle_uses":3/);
    full.reset();
  });
});

describe('a WHP without trigger exports (Windows before 10 20H2)', () => {
  const none = whpModel('no-triggers');

  test('loads, reports the missing exports as capabilities, and offers the user-space relay, reported as emulated', () => {
    none.reset();
    const p = fresh(none, 2);
    expect(p.exports).toEqual({ WHvCreateTrigger: false, WHvUpdateTriggerParameters: false, WHvDeleteTrigger: false });
    expect(p.capabilities).toMatchObject({ irqfd: 'emulated', maxRoutes: 1024 });
    expect(p.capabilities.irqfdReason).toContain('does not export WHvCreateTrigger, WHvUpdateTriggerParameters, WHvDeleteTrigger');
    expect(p.irqfd().capabilities).toMatchObject({ mediation: 'emulated', stableEvent: true });
    expect(p.irqfd().capabilities.mechanism).toContain('WaitForMultipleObjects');
    const m = msi(0, 0x30);
    p.requestMsi(m.address, m.data);
    expect(take(p, 0)).toEqual([0x30]);
    p.dispose();
    none.assertClean();
  });

  test('without only the update export, the reason says setMsi re-creates', () => {
    const nu = whpModel('no-update');
    nu.reset();
    const p = fresh(nu, 2);
    expect(p.capabilities.irqfdReason).toContain('WHvUpdateTriggerParameters is not exported');
    expect(p.irqfd().capabilities.mechanism).toContain('re-creates');
    p.dispose();
    nu.assertClean();
  });

  test('the calls report the missing export as UNSUPPORTED with ERROR_PROC_NOT_FOUND, not a load failure', () => {
    const c = whpCalls(none.library);
    expect(c.missing).toEqual(['WHvCreateTrigger', 'WHvUpdateTriggerParameters', 'WHvDeleteTrigger']);
    expect(thrown(() => c.deleteTrigger(1n, 1n))).toMatchObject({ code: 'UNSUPPORTED', hresult: abi.HRESULT_PROC_NOT_FOUND });
  });
});

describe('CreateTrigger before setup (an undocumented behaviour)', () => {
  test('the backend creates triggers only after setup, so it works whichever way WHP decides', () => {
    full.reset();
    full.configure('create_trigger_needs_setup', 1);
    const c = whpCalls(full.library);
    const h = c.createPartition();
    const params = new Uint8Array(32);
    params[20] = 0x41;
    expect(thrown(() => c.createTrigger(h, params))).toMatchObject({ hresult: abi.WHV_E_INVALID_PARTITION_CONFIG });
    c.deletePartition(h);
    full.assertClean();
  });
});
