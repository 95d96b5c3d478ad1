/**
 * The overflow relay's mshv injector is data (`mshvRelayInjector`): MSHV_ROOT_HVCALL whose argument
 * points at the HvCallAssertVirtualInterrupt input. These tests run the spec through the builder
 * and the encoder the epoll worker runs (`ioctlSpecInjector`, `encodeMsiFields`) and let the kernel
 * model decode the bytes with its own offsets, so a wrong field is a wrong interrupt, not a match.
 */
import { type IoctlInjectorSpec, checkInjectorSpec, syscallSpecInjector } from '@tsvmm/linux-sys';
import { FaultInjector } from '@tsvmm/linux-sys/testing';
import { type DeliveryMode, type MsiMessage, encodeMsi } from '@tsvmm/virt';
import { encodeMsiFields } from '@tsvmm/virt/implement';
import { MshvPartition } from '../src';
import { abi, encodeAssertVirtualInterrupt, mshvIrqFdBackend, mshvRelayInjector } from '../src/implement';
import { msiToInterrupt } from '../src/msi-policy';
import { MshvKernelModel, modelRelayPlatform } from '../src/testing';

/** MSIs the model turns back into the same message (no redirection hint, no level-assert bit). */
const MESSAGES: MsiMessage[] = (['fixed', 'lowest-priority', 'nmi', 'init'] as DeliveryMode[]).flatMap((deliveryMode, i) =>
  (['physical', 'logical'] as const).flatMap((destinationMode) =>
    (['edge', 'level'] as const).map((triggerMode) => encodeMsi({ destinationId: i % 2, vector: 0x20 + 0x31 * i + (triggerMode === 'level' ? 7 : 0), deliveryMode, destinationMode, triggerMode })),
  ),
);

/** What the model's APIC bus was handed for each message injected through `spec`. */
function deliveredThrough(spec: IoctlInjectorSpec): { model: MshvKernelModel; out: Array<MsiMessage | string> } {
  const model = new MshvKernelModel();
  const p = MshvPartition.create({ vcpus: 2, sys: model, memory: model });
  const bus = model.partitionOf(p.partitionFd)!.bus;
  const seen: MsiMessage[] = [];
  const deliver = bus.deliver.bind(bus);
  bus.deliver = (addressLo, addressHi, data) => {
    seen.push({ addressLo, addressHi, data });
    return deliver(addressLo, addressHi, data);
  };
  const injector = syscallSpecInjector(checkInjectorSpec('test', { ...spec, fd: p.partitionFd }) as IoctlInjectorSpec, model, model);
  const out = MESSAGES.map((m) => {
    seen.length = 0;
    try {
      injector.inject(m.addressLo, m.addressHi, m.data);
    } catch (e) {
      return (e as Error).message;
    }
    return seen.length === 1 ? seen[0]! : `${seen.length} deliveries`;
  });
  injector.free();
  p.dispose();
  return { model, out };
}

describe('mshvRelayInjector', () => {
  it('is MSHV_ROOT_HVCALL with struct mshv_root_hvcall (code 0x0094, in_sz 32, status 0) pointing at the 32-byte input, retrying EAGAIN', () => {
    const spec = mshvRelayInjector(9);
    // docs/interfaces/mshv.md, "ioctls" and "Layouts": MSHV_ROOT_HVCALL = 0xC020B807, a 32-byte argument with in_ptr @16.
    expect(spec).toMatchObject({ kind: 'ioctl', fd: 9, request: 0xc020b807, name: 'MSHV_ROOT_HVCALL', size: 32, delivered: 'non-negative' });
    expect(spec.input).toMatchObject({ size: 32, align: 8, pointer: 16 });
    expect(spec.retry).toEqual({ errno: 11, attempts: 8 });
    const arg = new Uint8Array(32);
    encodeMsiFields(new DataView(arg.buffer), spec.fields, 0xfee01000, 0, 0x41);
    const v = new DataView(arg.buffer);
    // code @0, reps @2, in_sz @4, out_sz @6, status @8 (docs/interfaces/mshv.md, "Layouts", "Injecting from user space").
    expect([v.getUint16(0, true), v.getUint16(2, true), v.getUint16(4, true), v.getUint16(6, true), v.getUint16(8, true)]).toEqual([0x94, 0, 32, 0, 0]);
  });

  it('the backend hands the relay worker this spec (data, no module path)', () => {
    const b = mshvIrqFdBackend({ sys: new FaultInjector(), partitionFd: 5, vcpuCount: 2, inject: () => true });
    expect(b.workerInjector).toEqual(mshvRelayInjector(5));
    expect(JSON.stringify(b.workerInjector)).not.toMatch(/module|\.js|dist/);
  });

  it('the input the worker writes equals the main-thread encoder of the same layout, byte for byte, for every delivery, trigger and destination mode', () => {
    const spec = mshvRelayInjector(3);
    for (const m of MESSAGES) {
      const fromSpec = new Uint8Array(32);
      encodeMsiFields(new DataView(fromSpec.buffer), spec.input!.fields, m.addressLo, m.addressHi, m.data);
      const i = msiToInterrupt(m);
      let control = BigInt(i.type);
      if (i.level) control |= abi.HV_INTERRUPT_CONTROL_LEVEL;
      if (i.logical) control |= abi.HV_INTERRUPT_CONTROL_LOGICAL;
      const fromEncoder = new Uint8Array(32);
      encodeAssertVirtualInterrupt({ control, destination: i.destination, vector: i.vector }, fromEncoder);
      expect([...fromSpec]).toEqual([...fromEncoder]);
    }
  });

  it('on the kernel model, every message arrives as itself: vector, APIC ID, delivery mode, trigger mode, destination mode', () => {
    const { model, out } = deliveredThrough(mshvRelayInjector(0));
    expect(out).toEqual(MESSAGES);
    expect(model.hazards).toEqual([]);
    expect(model.allocatedBuffers).toBe(0);
  });

  it.each([
    ['the vector written 4 bytes early (over the destination)', 'vector', -4],
    ['the destination one byte late', 'destination', 1],
  ])('a broken field offset is caught by the model: %s', (_name, field, shift) => {
    const good = mshvRelayInjector(0);
    const offset = abi.HV_INPUT_ASSERT_VIRTUAL_INTERRUPT_LAYOUT.fields[field as 'vector' | 'destination'].offset;
    const fields = good.input!.fields.map((f) => (f.offset === offset ? { ...f, offset: offset + shift } : f));
    const { out } = deliveredThrough({ ...good, input: { ...good.input!, fields } });
    expect(out).not.toEqual(MESSAGES);
  });

  it('a broken control bit (trigger mode one bit low) is caught by the model', () => {
    const good = mshvRelayInjector(0);
    const fields = good.input!.fields.map((f) =>
      typeof f.value === 'object' ? { ...f, value: { bits: f.value.bits.map((b) => (b.at === abi.HV_INTERRUPT_CONTROL_LEVEL_BIT ? { ...b, at: b.at - 1 } : b)) } } : f,
    );
    const { out } = deliveredThrough({ ...good, input: { ...good.input!, fields } });
    expect(out).not.toEqual(MESSAGES);
  });

  it('overflow routes (beyond the kernel routes) deliver on the model through this spec: level-triggered, logical lowest-priority and physical fixed messages', () => {
    const model = new MshvKernelModel();
    const sys = new FaultInjector(model);
    const relay = modelRelayPlatform(model, sys);
    const p = MshvPartition.create({ vcpus: 2, sys, memory: model, relayPlatform: relay, maxKernelRoutes: 1 });
    const irqfd = p.irqfd()!;
    const kernelRoute = irqfd.newIrqFdRoute();
    kernelRoute.setMsi(0xfee00000, 0x30);
    kernelRoute.unmask();
    const cases: Array<[MsiMessage, number, number]> = [
      [encodeMsi({ destinationId: 1, vector: 0x77, triggerMode: 'level' }), 1, 0x77],
      [encodeMsi({ destinationId: 1, vector: 0x78, destinationMode: 'logical', deliveryMode: 'lowest-priority' }), 0, 0x78],
      [encodeMsi({ destinationId: 0, vector: 0x79 }), 0, 0x79],
    ];
    const routes = cases.map(([m]) => {
      const r = irqfd.newIrqFdRoute();
      r.setMsi(m.addressLo, m.data);
      r.unmask();
      return r;
    });
    expect(routes.map((r) => r.mediation)).toEqual(['emulated', 'emulated', 'emulated']);
    const bus = model.partitionOf(p.partitionFd)!.bus;
    const seen: number[] = [];
    const deliver = bus.deliver.bind(bus);
    bus.deliver = (lo, hi, data) => {
      seen.push(data);
      return deliver(lo, hi, data);
    };
    routes.forEach((r, i) => {
      const mark = sys.mark();
      r.event.signal();
      expect(sys.callsSince(mark).map((c) => c.label)).toContain('MSHV_ROOT_HVCALL');
      expect(seen.at(-1)).toBe(cases[i]![0].data);
    });
    expect(relay.platforms[0]!.deliveries).toBe(3);
    expect(p.readLocalApic(1).irr).toContain(0x77);
    expect(p.readLocalApic(0).irr).toContain(0x79);
    expect(model.hazards).toEqual([]);
    p.dispose();
    expect(model.allocatedBuffers).toBe(0);
  });
});
