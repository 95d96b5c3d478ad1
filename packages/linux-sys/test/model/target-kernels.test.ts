/**
 * The bookkeeping behind the KVM and mshv behaviour-test targets: which kernel made each partition,
 * model-only reads refused on a device, and the target every backend builds from its adapter.
 */
import { encodeMsi } from '@tsvmm/virt';
import { ApicBus } from '@tsvmm/virt/testing';
import { FaultInjector, type ModelKernelOptions, linuxTestTarget, modelOnly } from '../../src/testing';

/** A stand-in model: a bus of two software-enabled APICs (IDs 0 and 1) and a descriptor count. */
interface Model {
  readonly bus: ApicBus;
  fds: number;
}
interface Partition {
  readonly vcpus: number;
  readonly pending: Array<[number, number]>;
}
interface Kernel {
  readonly partition: Partition;
  readonly model: Model | undefined;
  readonly sys: FaultInjector;
}

/** A target over an adapter that makes one model per partition (none with `real`); `made` logs each adapter call's options. */
function fakeTarget(real: boolean) {
  const made: Array<ModelKernelOptions<Model>> = [];
  const adapter = {
    name: real ? 'real device' : 'model',
    create(options: ModelKernelOptions<Model>): Kernel {
      made.push(options);
      const model = real ? undefined : { bus: new ApicBus({ apicIds: [0, 1] }), fds: 3 };
      if (model) for (const apic of model.bus.apics) apic.softwareEnabled = true;
      if (model) options.onModel?.(model);
      return { partition: { vcpus: options.vcpus, pending: [[1, 0x41]] }, model, sys: new FaultInjector() };
    },
  };
  const { target, book } = linuxTestTarget<Partition, Model, Kernel, ModelKernelOptions<Model>>({
    adapter,
    real,
    modelFds: (m) => m.fds,
    deliveries: (p) => p.pending.splice(0),
    bus: (m) => m.bus,
  });
  return { target, book, made };
}

describe('linuxTestTarget and modelOnly', () => {
  it('create: 2 vCPUs unless asked, the options passed on, the model counted; sysOf and modelOf are those of the partition', () => {
    const { target, book, made } = fakeTarget(false);
    const a = target.create();
    const b = target.create({ vcpus: 3, deferredRelay: true });
    expect([a.vcpus, b.vcpus]).toEqual([2, 3]);
    expect(made.map((o) => [o.vcpus, o.deferredRelay])).toEqual([
      [2, undefined],
      [3, true],
    ]);
    expect(book.models).toHaveLength(2);
    expect(target.name).toBe('model');
    expect(target.real).toBe(false);
    expect(target.sysOf(a)).toBe(book.kernelOf(a).sys);
    expect(target.sysOf(a)).not.toBe(target.sysOf(b));
    expect(target.modelOf(b)).toBe(book.models[1]);
    expect(book.modelFdCount()).toBe(6);
    expect(() => target.sysOf({ vcpus: 1, pending: [] })).toThrow(/not made by this target/);
  });

  it('takeIrr returns what the partition reads, and fails where the model saw a vector sent again while pending', () => {
    const { target } = fakeTarget(false);
    const p = target.create();
    expect(target.takeIrr(p)).toEqual([[1, 0x41]]);
    const m = encodeMsi({ destinationId: 1, vector: 0x41 });
    target.modelOf(p).bus.deliver(m.addressLo, m.addressHi, m.data);
    target.modelOf(p).bus.deliver(m.addressLo, m.addressHi, m.data);
    expect(() => target.takeIrr(p)).toThrow(/^vCPU 1: 1 interrupt\(s\) injected while the same vector was still pending/);
  });

  it('on a device: no model, so modelOf and every modelOnly read fail saying why; takeIrr reads the partition only', () => {
    const { target, book } = fakeTarget(true);
    const p = target.create();
    expect(book.models).toEqual([]);
    expect(() => target.modelOf(p)).toThrow('a device has no model: read it only where !target.real');
    expect(target.takeIrr(p)).toEqual([[1, 0x41]]);
    expect(() => modelOnly(undefined, 'koffi memory is not counted')).toThrow('koffi memory is not counted: read it only where !target.real');
    expect(modelOnly(0, 'never said')).toBe(0);
  });
});
