/**
 * Typed errors at the edges of KVM's routing table and relay: a kernel whose KVM_CAP_IRQ_ROUTING
 * leaves no GSI after the 40 legacy routes is treated as one without KVM_CAP_IRQ_ROUTING; relay mode
 * on the KVM model without a relay platform says which platform to pass (the overflow relay's case is
 * in the shared suite run by relay-platform-option.test.ts); a relay platform whose
 * method throws a plain Error is INTERNAL naming the method, in relay mode and in the overflow relay.
 *
 * All model-only: a real /dev/kvm reports the kernel's own limit (4096), has epoll, and its default
 * relay platform throws only VirtErrors (a plain Error comes from a caller's own platform).
 */
import { type IrqFdRoute, encodeMsi, isVirtError } from '@tsvmm/virt';
import { thrownBy } from '@tsvmm/virt/testing';
import type { RelayPlatform, RelayPlatformFactory } from '@tsvmm/virt/implement';
import { KvmPartition } from '../src';
import { KvmKernelModel, modelRelayPlatform } from '../src/testing';
import { LEGACY_ROUTES } from '../src/gsi-routing';
import { takeDeliveries } from './support/fault-adapter';

const A = encodeMsi({ destinationId: 1, vector: 0x41 });

/** The model's default capabilities with KVM_CAP_IRQ_ROUTING (25) reporting `entries` (0: absent). */
function modelReporting(entries: number): KvmKernelModel {
  if (entries > 0) return new KvmKernelModel({ apicIds: [0, 1], maxRoutes: entries });
  const caps = { 0: 1, 9: 2, 32: 1, 66: 2, 77: 1, 82: 1, 121: 1, 128: 4096, 129: 3 };
  return new KvmKernelModel({ apicIds: [0, 1], capabilities: caps });
}

describe('KVM_CAP_IRQ_ROUTING at or below the legacy routes (KVM model: a real kernel reports 4096)', () => {
  for (const entries of [0, 1, 24, LEGACY_ROUTES.length]) {
    it(`${entries} entries: irqfd 'auto' takes the relay, saying why, and delivers; 'kernel' is UNSUPPORTED naming the limit`, () => {
      const model = modelReporting(entries);
      {
        using p = KvmPartition.create({ vcpus: 2, sys: model, relayPlatform: modelRelayPlatform(model) });
        expect(p.capabilities.irqfd).toBe('emulated');
        expect(p.capabilities.irqfdReason).toContain(entries === 0 ? 'KVM_CAP_IRQ_ROUTING is missing' : `KVM_CAP_IRQ_ROUTING reports a routing table of ${entries} entries`);
        const r = p.irqfd()!.newIrqFdRoute();
        r.setMsi(A.addressLo, A.data);
        r.unmask();
        r.event.signal();
        expect(takeDeliveries(p)).toEqual([[1, 0x41]]);
      }
      const e = thrownBy(() => KvmPartition.create({ vcpus: 2, sys: model, irqfd: 'kernel' }));
      expect(isVirtError(e) && e.code).toBe('UNSUPPORTED');
      expect(isVirtError(e) && e.detail).toContain(entries === 0 ? 'KVM_CAP_IRQ_ROUTING is missing' : `${entries} entries`);
      expect(model.openFds).toBe(0);
    });
  }

  it(`${LEGACY_ROUTES.length + 1} entries: kernel irqfd with one GSI, the next route overflowing to the relay`, () => {
    const model = modelReporting(LEGACY_ROUTES.length + 1);
    using p = KvmPartition.create({ vcpus: 2, sys: model, irqfd: 'kernel', relayPlatform: modelRelayPlatform(model) });
    expect(p.capabilities.irqfd).toBe('kernel');
    const routes = [p.irqfd()!.newIrqFdRoute(), p.irqfd()!.newIrqFdRoute()];
    for (const r of routes) {
      r.setMsi(A.addressLo, A.data);
      r.unmask();
    }
    expect(routes.map((r) => r.mediation)).toEqual(['kernel', 'emulated']);
  });
});

describe("irqfd: 'relay' on the KVM model without relayPlatform (a real /dev/kvm has epoll)", () => {
  it('the typed error says to pass modelRelayPlatform(model), and keeps the errno', () => {
    const model = new KvmKernelModel({ apicIds: [0, 1] });
    const e = thrownBy(() => KvmPartition.create({ vcpus: 2, sys: model, irqfd: 'relay' }));
    expect(isVirtError(e) && [e.code, e.errnoName]).toEqual(['SYSCALL', 'ENOSYS']);
    expect(isVirtError(e) && e.hint).toContain('relayPlatform: modelRelayPlatform(model)');
    expect(model.openFds).toBe(0);
  });
});

type Method = 'createEvent' | 'watch' | 'unwatch' | 'settle';

/** `inner`'s platforms, with `failing` throwing a plain Error while `broken.on`. */
function breaking(inner: RelayPlatformFactory, failing: Method, broken: { on: boolean; error: Error }): RelayPlatformFactory {
  return (table) => {
    const p = inner(table);
    const guard =
      <A extends unknown[], R>(m: Method, f: (...a: A) => R) =>
      (...a: A): R => {
        if (broken.on && m === failing) throw broken.error;
        return f(...a);
      };
    const wrapped: RelayPlatform = {
      name: p.name,
      createEvent: guard('createEvent', () => p.createEvent()),
      watch: guard('watch', (slot: number, e: Parameters<RelayPlatform['watch']>[1]) => p.watch(slot, e)),
      unwatch: guard('unwatch', (slot: number, e: Parameters<RelayPlatform['unwatch']>[1]) => p.unwatch(slot, e)),
      settle: guard('settle', () => p.settle()),
      dispose: () => p.dispose(),
      whenClosed: () => p.whenClosed(),
      [Symbol.dispose]: () => p.dispose(),
    };
    return wrapped;
  };
}

/** INTERNAL naming `method`, with `cause` at the end of its cause chain (the engine's transaction adds its outcome as a wrapper). */
function expectInternal(e: unknown, method: Method, cause: Error): void {
  expect(isVirtError(e) && e.code).toBe('INTERNAL');
  expect(isVirtError(e) && e.detail).toContain(`the relay platform's ${method} threw`);
  let root: unknown = e;
  for (let i = 0; i < 4 && isVirtError(root); i++) root = root.cause;
  expect(root).toBe(cause);
}

/** The two ways a KVM route reaches the relay platform: every route of irqfd 'relay', and a route past the kernel's last GSI. */
const RELAY_MODES = [
  { mode: "irqfd: 'relay'", irqfd: 'relay', maxRoutes: undefined },
  { mode: "the overflow relay (irqfd: 'kernel', one GSI)", irqfd: 'kernel', maxRoutes: LEGACY_ROUTES.length + 1 },
] as const;

/** A masked route with its MSI on `mode`'s relay, whose platform's `failing` method throws `broken.error` while `broken.on`. */
function routeOnBrokenRelay({ irqfd, maxRoutes }: (typeof RELAY_MODES)[number], failing: Method) {
  const broken = { on: false, error: new Error(`${failing} broke`) };
  const model = new KvmKernelModel({ apicIds: [0, 1], ...(maxRoutes === undefined ? {} : { maxRoutes }) });
  const p = KvmPartition.create({ vcpus: 2, sys: model, irqfd, relayPlatform: breaking(modelRelayPlatform(model), failing, broken) });
  // With kernel irqfd this route takes the only GSI, so the next one is the relay's.
  if (irqfd === 'kernel') p.irqfd()!.newIrqFdRoute().setMsi(A.addressLo, A.data);
  const r: IrqFdRoute = p.irqfd()!.newIrqFdRoute();
  r.setMsi(A.addressLo, A.data);
  return { p, r, broken };
}

describe('a relay platform method throwing a plain Error (KVM model: the platform is the caller\'s own, and a device\'s epoll worker throws only VirtErrors)', () => {
  for (const relay of RELAY_MODES) {
    // watch refuses an unmask and unwatch a mask: either way the route still reports what it had.
    for (const { method, call } of [
      { method: 'watch', call: 'unmask' },
      { method: 'unwatch', call: 'mask' },
    ] as const) {
      it(`${relay.mode}, ${method}: INTERNAL naming it; the route keeps its MSI and mask state, and the ${call} succeeds on the relay once the platform works`, async () => {
        const setup = routeOnBrokenRelay(relay, method);
        using p = setup.p;
        const { r, broken } = setup;
        const masked = call === 'unmask';
        if (!masked) r.unmask();
        broken.on = true;
        expectInternal(
          thrownBy(() => r[call]()),
          method,
          broken.error,
        );
        expect([r.masked, r.msi?.data]).toEqual([masked, A.data]);
        broken.on = false;
        r[call]();
        expect([r.masked, r.mediation]).toEqual([!masked, 'emulated']);
        r.event.signal();
        await p.irqfd()!.settle();
        expect(takeDeliveries(p)).toEqual(masked ? [[1, 0x41]] : []);
      });
    }

    it(`${relay.mode}, settle: INTERNAL naming it, as a rejection`, async () => {
      const setup = routeOnBrokenRelay(relay, 'settle');
      using p = setup.p;
      const { r, broken } = setup;
      r.unmask();
      expect(r.mediation).toBe('emulated');
      broken.on = true;
      const e: unknown = await p.irqfd()!.settle().then(
        () => 'resolved',
        (x: unknown) => x,
      );
      expectInternal(e, 'settle', broken.error);
    });
  }
});
