/**
 * A real kernel producer: a Linux AIO file read whose completion eventfd is an irqfd route's event.
 * The kernel completes the read and signals the eventfd (`aio_complete` → `eventfd_signal`), and
 * the route's irqfd injects the vector: the read's completion lands in the vCPU's IRR with no
 * write(2) to any eventfd from user space.
 *
 * On /dev/kvm, KVM's own `irqfd_wakeup` injects. On the KVM model, whose eventfds are counters in
 * memory, every model eventfd has a real eventfd beside it (`ProcessEventFds`): the AIO completion
 * signals the real one, and the model takes the count in before the next call it answers, as the
 * kernel's wakeup would.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AioContext } from '@tsvmm/linux-sys';
import { FaultInjector, ProcessEventFds } from '@tsvmm/linux-sys/testing';
import type { IrqFdRoute } from '@tsvmm/virt';
import type { KvmPartition } from '../src';
import { type KvmTarget, describeOnTargets, msiTo } from './support/targets';

let dir: string;
let file: number;
const CONTENT = Buffer.from('a sector of a virtual disk, read by the host kernel\n'.repeat(64));

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsvmm-kvm-aio-'));
  writeFileSync(join(dir, 'disk'), CONTENT);
  file = openSync(join(dir, 'disk'), 'r');
});
afterAll(() => {
  closeSync(file);
  rmSync(dir, { recursive: true, force: true });
});

/** A partition whose route eventfds the real kernel can signal: the device's own, or the model's paired with real ones. */
function open(target: KvmTarget): { p: KvmPartition; completionFd: (r: IrqFdRoute) => number } {
  if (target.real) return { p: target.create(), completionFd: (r) => r.event.fd! };
  let bridge: ProcessEventFds | undefined;
  const p = target.create({ wrap: (inner) => new FaultInjector((bridge = new ProcessEventFds(inner))) });
  return { p, completionFd: (r) => bridge!.processFdOf(r.event.fd!)! };
}

describeOnTargets('a file read completes into the guest (Linux AIO completion eventfd as an irqfd route event)', (target) => {
  it('each completion lands once in the target vCPU\'s IRR at the route\'s vector; user space writes no eventfd', () => {
    const fds0 = target.openFdCount();
    const { p, completionFd } = open(target);
    try {
      const sys = target.sysOf(p);
      const r = p.irqfd()!.newIrqFdRoute();
      const m = msiTo(1, 0x61);
      r.setMsi(m.address, m.data);
      r.unmask();
      using aio = AioContext.create({ capacity: 4, maxReadBytes: 512 });
      const resfd = completionFd(r);
      expect(target.takeIrr(p)).toEqual([]);
      for (let i = 0; i < 5; i++) {
        const mark = sys.mark();
        const id = aio.submitRead({ fd: file, length: 512, offset: i * 512, completion: resfd });
        const done = aio.getEvents({ min: 1, timeoutMs: 5000 });
        expect(done.map((c) => [c.id, c.result])).toEqual([[id, 512]]);
        expect(Buffer.from(done[0]!.data).equals(CONTENT.subarray(i * 512, i * 512 + 512))).toBe(true);
        expect(target.takeIrr(p)).toEqual([[1, 0x61]]);
        // The only way the vector got there: the kernel's completion. No write(2) from user space.
        expect(sys.callsSince(mark).filter((c) => c.call === 'write')).toEqual([]);
        expect(target.takeIrr(p)).toEqual([]);
      }
    } finally {
      p.dispose();
    }
    expect(target.openFdCount()).toBe(fds0);
  });

  it('a completion while the route is masked is held, and delivered once at unmask', () => {
    const { p, completionFd } = open(target);
    try {
      const r = p.irqfd()!.newIrqFdRoute();
      const m = msiTo(0, 0x72);
      r.setMsi(m.address, m.data);
      r.unmask();
      using aio = AioContext.create({ capacity: 1 });
      const resfd = completionFd(r);
      r.mask();
      aio.submitRead({ fd: file, length: 64, completion: resfd });
      expect(aio.getEvents({ timeoutMs: 5000 })).toHaveLength(1);
      expect(target.takeIrr(p)).toEqual([]);
      r.unmask();
      expect(target.takeIrr(p)).toEqual([[0, 0x72]]);
      expect(target.takeIrr(p)).toEqual([]);
    } finally {
      p.dispose();
    }
  });

  it('a retarget between two completions moves the next one: the route event stays the same eventfd', () => {
    const { p, completionFd } = open(target);
    try {
      const r = p.irqfd()!.newIrqFdRoute();
      const a = msiTo(0, 0x45);
      const b = msiTo(1, 0x46);
      r.setMsi(a.address, a.data);
      r.unmask();
      using aio = AioContext.create({ capacity: 1 });
      const resfd = completionFd(r);
      aio.submitRead({ fd: file, length: 64, completion: resfd });
      expect(aio.getEvents({ timeoutMs: 5000 })).toHaveLength(1);
      expect(target.takeIrr(p)).toEqual([[0, 0x45]]);
      r.setMsi(b.address, b.data);
      aio.submitRead({ fd: file, length: 64, completion: resfd });
      expect(aio.getEvents({ timeoutMs: 5000 })).toHaveLength(1);
      expect(target.takeIrr(p)).toEqual([[1, 0x46]]);
    } finally {
      p.dispose();
    }
  });
});
