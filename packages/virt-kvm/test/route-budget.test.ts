/**
 * The route budget is one the process can reach: `capabilities.maxRoutes` routes can be created
 * under the process's RLIMIT_NOFILE, one more is a typed EXHAUSTED, and descriptors running out
 * before the budget (something else in the process took them) is a typed EXHAUSTED too, with
 * nothing half-built. One body, on the KVM model (whose descriptor limit is the process's real one)
 * and on the real /dev/kvm where it exists.
 */
import { readdirSync } from 'node:fs';
import { type IrqFdRoute, type VirtError, encodeMsi, isVirtError } from '@tsvmm/virt';
import { DESCRIPTOR_RESERVE, EMFILE, type Syscalls, descriptorsPerRoute, libcSyscalls, processDescriptorBudget } from '@tsvmm/linux-sys';
import { thrownBy } from '@tsvmm/virt/testing';
import { KvmPartition, type KvmIrqFd } from '../src';
import { KvmKernelModel } from '../src/testing';
import { describeKvm } from './support/targets';

interface BudgetTarget {
  readonly name: string;
  /** The system calls a partition runs on, and the process-wide view of the descriptors they use. */
  make(options?: { maxFds?: number }): { sys: Syscalls; openFds(): number; limit(): number };
}

const modelTarget: BudgetTarget = {
  name: 'KVM model',
  make(options = {}) {
    const model = new KvmKernelModel({ apicIds: [0, 1], ...(options.maxFds === undefined ? {} : { maxFds: options.maxFds }) });
    return { sys: model, openFds: () => model.descriptorBudget().open, limit: () => model.descriptorBudget().limit };
  },
};

const deviceTarget: BudgetTarget = {
  name: 'real /dev/kvm',
  make() {
    return {
      sys: libcSyscalls(),
      openFds: () => readdirSync('/proc/self/fd').length - 1,
      limit: () => processDescriptorBudget()!.limit,
    };
  },
};

const A = encodeMsi({ destinationId: 1, vector: 0x41 });

function budgetTests(target: BudgetTarget): void {
  it('maxRoutes is derived from the descriptors RLIMIT_NOFILE leaves, at two per route; that many can be made, one more is EXHAUSTED', () => {
    const kernel = target.make();
    using p = KvmPartition.create({ vcpus: 2, sys: kernel.sys, irqfd: 'kernel' });
    const irqfd = p.irqfd() as KvmIrqFd;
    const max = irqfd.capabilities.maxRoutes;
    expect(p.capabilities.maxRoutes).toBe(max);
    expect(descriptorsPerRoute(kernel.sys)).toBe(2);
    const limit = kernel.limit();
    if (limit !== Infinity) {
      // Derived when the partition was made: what was free then, less the reserve, two per route.
      const freeAtCreate = limit - kernel.openFds();
      expect(max).toBe(Math.min(1 << 16, Math.floor((freeAtCreate - DESCRIPTOR_RESERVE) / 2)));
    }
    const routes: IrqFdRoute[] = [];
    for (let i = 0; i < max; i++) routes.push(irqfd.newIrqFdRoute());
    const before = kernel.openFds();
    const e = thrownBy(() => irqfd.newIrqFdRoute()) as VirtError;
    expect({ typed: isVirtError(e), code: e.code, names: /maxRoutes/.test(e.message) && /2 each/.test(e.message) }).toEqual({ typed: true, code: 'EXHAUSTED', names: true });
    expect({ open: kernel.openFds(), routes: irqfd.routeCount }).toEqual({ open: before, routes: max });
    // The last one made works, and disposing one makes room for exactly one more.
    const last = routes[routes.length - 1]!;
    last.setMsi(A.addressLo, A.data);
    last.unmask();
    last.event.signal();
    expect(p.readLocalApic(1).irr).toEqual([0x41]);
    routes.pop()!.dispose();
    routes.push(irqfd.newIrqFdRoute());
    for (const r of routes) r.dispose();
    expect(irqfd.routeCount).toBe(0);
  });

  it('descriptors running out before the budget is EXHAUSTED naming RLIMIT_NOFILE and what to raise, with nothing left open', () => {
    // The limit sits 7 descriptors above what the partition itself needs: 3 routes, and a fourth
    // finds one descriptor, not two. On the device, something else in the process takes them.
    const kernel = target.make(target === modelTarget ? { maxFds: 64 } : {});
    using p = KvmPartition.create({ vcpus: 2, sys: kernel.sys, irqfd: 'kernel', maxRoutes: 1000 });
    const irqfd = p.irqfd()!;
    const hog: number[] = [];
    const sys = kernel.sys;
    try {
      // Take every descriptor but 7, as another part of the process would.
      for (let fd = sys.eventfd(0, 0); fd >= 0; fd = sys.eventfd(0, 0)) hog.push(fd);
      for (let i = 0; i < 7; i++) sys.close(hog.pop()!);
      const made = [irqfd.newIrqFdRoute(), irqfd.newIrqFdRoute(), irqfd.newIrqFdRoute()];
      const open = kernel.openFds();
      const e = thrownBy(() => irqfd.newIrqFdRoute()) as VirtError;
      expect({ typed: isVirtError(e), code: e.code, errno: e.errno, rlimit: /RLIMIT_NOFILE/.test(e.message), raise: /ulimit -n/.test(e.message) }).toEqual({
        typed: true,
        code: 'EXHAUSTED',
        errno: EMFILE,
        rlimit: true,
        raise: true,
      });
      // Nothing half-built: the eventfd made before the duplicate failed is closed, no slot is held.
      expect({ open: kernel.openFds(), routes: irqfd.routeCount }).toEqual({ open, routes: 3 });
      made[2]!.dispose();
      irqfd.newIrqFdRoute().dispose();
      for (const r of made) r.dispose();
    } finally {
      for (const fd of hog) sys.close(fd);
    }
  });
}

describe('route budget (KVM model)', () => {
  budgetTests(modelTarget);
  it('four 2048-vector devices (8192 routes) fit one partition under a 20000-descriptor limit', () => {
    const model = new KvmKernelModel({ apicIds: [0, 1], maxFds: 20000 });
    using p = KvmPartition.create({ vcpus: 2, sys: model, irqfd: 'kernel' });
    const irqfd = p.irqfd()!;
    expect(irqfd.capabilities.maxRoutes).toBeGreaterThanOrEqual(4 * 2048);
    const routes = Array.from({ length: 4 * 2048 }, () => irqfd.newIrqFdRoute());
    expect(model.descriptorBudget().open).toBeLessThanOrEqual(20000);
    for (const r of routes) r.dispose();
  });
});
describeKvm('route budget (real /dev/kvm)', () => budgetTests(deviceTarget));
