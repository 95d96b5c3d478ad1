/**
 * `KvmPartition.guestEoi()`: the guest's EOI as `GuestEoiAccess` of `@tsvmm/virt`, offered only
 * where the partition runs on the KVM kernel model (no guest code runs here, and a real kernel has
 * no entry point for an EOI without it). On the model: the EOI of a level vector acknowledges the
 * IOAPIC pin (remote IRR cleared, the level route deasserted and its resample event signalled);
 * on the real /dev/kvm: absent.
 */
import { type IoApicPinState, type IoApicRedirection, isVirtError, newLevelRoute } from '@tsvmm/virt';
import { thrownBy } from '@tsvmm/virt/testing';
import { FaultInjector, ForwardingSyscalls } from '@tsvmm/linux-sys/testing';
import { KvmPartition } from '../src';
import { KvmKernelModel } from '../src/testing';
import { describeOnTargets } from './support/targets';

const GSI = 5;
const ENTRY: IoApicRedirection = { vector: 0x61, deliveryMode: 'fixed', destinationMode: 'physical', destination: 9, trigger: 'level', masked: false };

/** Reads pin {@link GSI} until `done` holds, at most 100 reads (the model's deferred work runs by the second). */
function pollPin(p: KvmPartition, done: (pin: IoApicPinState) => boolean): IoApicPinState {
  let pin = p.readIoApic().pins[GSI]!;
  for (let i = 1; i < 100 && !done(pin); i++) pin = p.readIoApic().pins[GSI]!;
  return pin;
}

describeOnTargets('KvmPartition.guestEoi', (target) => {
  it('on the model: the same GuestEoiAccess each call; a level vector\'s EOI clears remote IRR, deasserts the line and signals the resample event once; a spurious one is false. On a real kernel: undefined', () => {
    if (target.real) {
      using p = KvmPartition.create({ vcpus: 2, sys: target.newSyscalls(), irqfd: 'kernel' });
      expect(p.guestEoi()).toBeUndefined();
      return;
    }
    // APIC IDs other than the vCPU indexes: eoi(vcpu) must reach the vCPU's own local APIC.
    using p = KvmPartition.create({ vcpus: 2, apicIds: [4, 9], sys: new KvmKernelModel({ apicIds: [4, 9] }), irqfd: 'kernel' });
    const access = p.guestEoi()!;
    expect(access).toBeDefined();
    expect(p.guestEoi()).toBe(access);
    using route = newLevelRoute(p.irqfd()!, GSI);
    p.writeRedirection(GSI, ENTRY);
    route.event.signal();
    // KVM asserts a resample irqfd's line from its work item: poll, bounded, as on a real kernel.
    expect(pollPin(p, (pin) => pin.remoteIrr)).toMatchObject({ asserted: true, remoteIrr: true });
    expect(p.readLocalApic(1).irr).toEqual([0x61]);
    expect(access.eoi(0, 0x61)).toBe(false); // vCPU 0 (APIC ID 4) has nothing to EOI
    expect(p.readIoApic().pins[GSI]).toMatchObject({ asserted: true, remoteIrr: true });
    expect(access.eoi(1, 0x61)).toBe(true);
    expect(p.readIoApic().pins[GSI]).toMatchObject({ asserted: false, remoteIrr: false });
    expect(p.readLocalApic(1).irr).toEqual([]);
    expect(route.resample.consume()).toBe(1);
    expect(access.eoi(1, 0x61)).toBe(false); // spurious: nothing requested or in service
    expect(route.resample.consume()).toBe(0);
  });

  (target.real ? it.skip : it)('on the model: a bad vCPU or vector is INVALID_ARGUMENT with nothing done; after dispose DISPOSED (model only: a real kernel offers no EOI access)', () => {
    const p = KvmPartition.create({ vcpus: 2, sys: new KvmKernelModel(), irqfd: 'kernel' });
    const access = p.guestEoi()!;
    using route = newLevelRoute(p.irqfd()!, GSI);
    p.writeRedirection(GSI, { ...ENTRY, destination: 1 });
    route.event.signal();
    expect(pollPin(p, (pin) => pin.remoteIrr).remoteIrr).toBe(true);
    for (const [vcpu, vector] of [[2, 0x61], [-1, 0x61], [0.5, 0x61], [1, 256], [1, -1], [1, Number.NaN], ['1', 0x61]] as const) {
      expect(isVirtError(thrownBy(() => access.eoi(vcpu as number, vector)), 'INVALID_ARGUMENT')).toBe(true);
    }
    expect(p.readIoApic().pins[GSI]!.remoteIrr).toBe(true);
    route.dispose();
    p.dispose();
    expect(isVirtError(thrownBy(() => access.eoi(1, 0x61)), 'DISPOSED')).toBe(true);
  });

  (target.real ? it.skip : it)('found through a Proxy of the model and through a FaultInjector of it, which forwards the model-only members it does not intercept; hidden by a wrapper that forwards system calls only (model only: a real kernel offers no EOI access)', () => {
    const model = new KvmKernelModel();
    using viaProxy = KvmPartition.create({ vcpus: 2, sys: new Proxy(model, {}), irqfd: 'kernel' });
    expect(viaProxy.guestEoi()).toBeDefined();
    using callsOnly = KvmPartition.create({ vcpus: 2, sys: new ForwardingSyscalls(new KvmKernelModel()), irqfd: 'kernel' });
    expect(callsOnly.guestEoi()).toBeUndefined();
    // Through a FaultInjector the EOI reaches the model: the level route is acknowledged.
    const injector = new FaultInjector(new KvmKernelModel());
    using p = KvmPartition.create({ vcpus: 2, sys: injector, irqfd: 'kernel' });
    const access = p.guestEoi()!;
    expect(access).toBeDefined();
    using route = newLevelRoute(p.irqfd()!, GSI);
    p.writeRedirection(GSI, { ...ENTRY, destination: 1 });
    route.event.signal();
    expect(pollPin(p, (pin) => pin.remoteIrr)).toMatchObject({ asserted: true, remoteIrr: true });
    expect(access.eoi(1, 0x61)).toBe(true);
    expect(p.readIoApic().pins[GSI]).toMatchObject({ asserted: false, remoteIrr: false });
    expect(route.resample.consume()).toBe(1);
  });
});
