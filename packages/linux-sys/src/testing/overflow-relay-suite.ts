/**
 * The overflow relay's platform at the first route past the kernel's GSIs, one body each, run by
 * every Linux irqfd backend (KVM, mshv) on every target: a platform the relay cannot use is a typed
 * error at that route's unmask, which leaves the route as it was (its MSI kept, masked) and works
 * once a GSI frees; a platform that works takes the route and delivers.
 */
import { encodeMsi, isVirtError } from '@tsvmm/virt';
import type { RelayPlatformFactory } from '@tsvmm/virt/implement';
import { thrownBy } from '@tsvmm/virt/testing';
import { runner } from './irqfd-fault/runner';
import type { LinuxIrqFdTarget } from './route-suites';

/** A relay platform factory the relay refuses, and the VirtError code it gives. */
export interface RefusedRelayPlatform {
  /** What the factory does, as the test title says it: `throws a plain Error`. */
  readonly what: string;
  /** The factory, passed as `relayPlatform`; `undefined` for the partition's default (a model's has no epoll). */
  readonly factory: RelayPlatformFactory | undefined;
  /** The VirtError code of the refusal. */
  readonly code: string;
  /** The refusal's errno name, where it carries one (`ENOSYS`). */
  readonly errnoName?: string;
  /** Text the refusal's hint contains: what to do. */
  readonly hint?: string;
  /** True where only a kernel model refuses it (a device's default platform has epoll). */
  readonly modelOnly?: boolean;
}

/**
 * Factories a caller could pass by mistake, refused by every relay (`createRelayPlatform` of
 * @tsvmm/virt): a plain Error thrown is INTERNAL, a result that is not a RelayPlatform (a throwing
 * getter included) INVALID_ARGUMENT.
 */
export const REFUSED_RELAY_PLATFORMS: readonly RefusedRelayPlatform[] = [
  {
    what: 'throws a plain Error',
    factory: () => {
      throw new Error('boom');
    },
    code: 'INTERNAL',
  },
  { what: 'returns undefined', factory: () => undefined as never, code: 'INVALID_ARGUMENT' },
  { what: 'returns an object without the platform methods', factory: () => ({ name: 'half' }) as never, code: 'INVALID_ARGUMENT' },
  {
    what: 'returns a Proxy whose every getter throws',
    factory: () =>
      new Proxy(
        {},
        {
          get() {
            throw new Error('getter broke');
          },
        },
      ) as never,
    code: 'INVALID_ARGUMENT',
  },
];

/** A fixed, physical, edge MSI to APIC ID 1, vector 0x41, as `setMsi` takes it. */
const A = encodeMsi({ destinationId: 1, vector: 0x41 });

/**
 * Tests of the overflow relay's platform on `target` (call inside a `describe` that names the
 * target; uses the test runner's globals): with the target's own platform the second route of a
 * one-GSI partition is the relay's and delivers; with each of `refused` (the shared
 * {@link REFUSED_RELAY_PLATFORMS}, and a backend's own cases), that route's unmask is the case's
 * typed error, the route keeps its MSI, masked, and moves to the GSI the first route frees, and
 * every descriptor is closed by dispose. Cases marked `modelOnly` are not registered on a device.
 */
export function overflowRelayPlatformTests(target: LinuxIrqFdTarget, refused: readonly RefusedRelayPlatform[]): void {
  const { it } = runner();
  it("with the target's relay platform, the second route of a one-GSI partition is the relay's and delivers", async () => {
    const { expect } = runner();
    const p = target.create(2, { kernelGsis: 1 });
    try {
      const routes = [p.irqfd.newIrqFdRoute(), p.irqfd.newIrqFdRoute()];
      for (const r of routes) {
        r.setMsi(A.addressLo, A.data);
        r.unmask();
      }
      expect(routes.map((r) => r.mediation)).toEqual(['kernel', 'emulated']);
      routes[1]!.event.signal();
      // A device's relay delivers from its worker thread: settle waits for it.
      await p.irqfd.settle();
      expect(p.takeIrr()).toEqual([[1, 0x41]]);
    } finally {
      p.dispose();
    }
  });

  for (const c of refused) {
    if (target.real && c.modelOnly === true) continue;
    it(`a relay platform that ${c.what} is ${c.code} at the first overflow route; the route keeps its MSI, masked, and moves to a GSI once one frees`, () => {
      const { expect } = runner();
      const open = target.openFdCount();
      const p = target.create(2, { kernelGsis: 1, relayPlatform: c.factory });
      try {
        const first = p.irqfd.newIrqFdRoute();
        first.setMsi(A.addressLo, A.data);
        const r = p.irqfd.newIrqFdRoute();
        r.setMsi(A.addressLo, A.data);
        const e = thrownBy(() => r.unmask());
        expect(isVirtError(e) && e.code).toBe(c.code);
        if (c.errnoName !== undefined) expect(isVirtError(e) && e.errnoName).toBe(c.errnoName);
        if (c.hint !== undefined) expect(isVirtError(e) ? e.hint : undefined).toContain(c.hint);
        expect([r.masked, r.msi?.data]).toEqual([true, A.data]);
        first.dispose(); // its GSI frees: the route no longer needs the relay
        r.unmask();
        expect(r.mediation).toBe('kernel');
        r.event.signal();
        expect(p.takeIrr()).toEqual([[1, 0x41]]);
      } finally {
        p.dispose();
      }
      // No relay started, so no worker to wait for: every descriptor is closed by dispose.
      expect(target.openFdCount()).toBe(open);
    });
  }
}
