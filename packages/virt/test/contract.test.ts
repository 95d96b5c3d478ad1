import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as Virt from '../src';
import { type IrqFd, VirtError, isVirtError, settleIrqFd } from '../src';
import { VIRT_ERROR_BRAND, partitionCapabilities, InProcessEvent, isEventFd, isWin32Event, kindedEvent } from '../src/implement';
import { testRelay } from './support/test-relay';

describe('error identity survives two installed copies of @tsvmm/virt', () => {
  let dir: string;
  let other: typeof Virt;
  beforeAll(() => {
    // A second, independent copy of the built package (as a second version in node_modules would be).
    dir = mkdtempSync(join(tmpdir(), 'tsvmm-virt-copy-'));
    cpSync(join(__dirname, '..', 'dist'), join(dir, 'dist'), { recursive: true });
    cpSync(join(__dirname, '..', 'package.json'), join(dir, 'package.json'));
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      other = require(join(dir, 'dist', 'index.js')) as typeof Virt;
    });
  });
  afterAll(() => rmSync(dir, { recursive: true }));

  it('the copy is a different class, yet its errors are recognised here and ours there', () => {
    expect(other.VirtError).not.toBe(VirtError);
    const theirs = new other.VirtError('INVALID_ARGUMENT', { operation: 'op', detail: 'bad' });
    const ours = new VirtError('BUSY', { operation: 'op', detail: 'busy' });
    expect(isVirtError(theirs)).toBe(true);
    expect(isVirtError(theirs, 'INVALID_ARGUMENT')).toBe(true);
    expect(isVirtError(theirs, 'BUSY')).toBe(false);
    expect(theirs instanceof VirtError).toBe(true);
    expect(VirtError.is(theirs)).toBe(true);
    expect(other.isVirtError(ours, 'BUSY')).toBe(true);
    expect(ours instanceof other.VirtError).toBe(true);
    expect((theirs as unknown as Record<symbol, unknown>)[VIRT_ERROR_BRAND]).toBe(true);
    expect(VIRT_ERROR_BRAND).toBe(Symbol.for('tsvmm.VirtError'));
  });

  it('look-alikes without the brand are not VirtErrors', () => {
    const fake = Object.assign(new Error('x'), { name: 'VirtError', code: 'BUSY', operation: 'op' });
    expect(isVirtError(fake)).toBe(false);
    expect(fake instanceof VirtError).toBe(false);
    expect(isVirtError(null)).toBe(false);
    expect(isVirtError({ [Symbol.for('tsvmm.VirtError')]: 'yes' })).toBe(false);
  });

  it('the constructor never throws, whatever it is given', () => {
    const e = new VirtError('NOPE' as never, undefined as never);
    expect(e.code).toBe('INTERNAL');
    expect(e.message).toMatch(/unknown error code NOPE/);
  });
});

describe('events typed by kind', () => {
  const eventfd = { kind: 'eventfd', fd: 7, handle: undefined };
  const win32 = { kind: 'win32-event', fd: undefined, handle: 0x1234n };
  it('guards narrow, and kindedEvent checks kind against fd/handle', () => {
    expect(isEventFd(eventfd)).toBe(true);
    expect(isEventFd(win32)).toBe(false);
    expect(isWin32Event(win32)).toBe(true);
    expect(isEventFd({ kind: 'eventfd', fd: undefined })).toBe(false);
    const e = new InProcessEvent();
    expect(kindedEvent(e)).toBe(e);
    expect(() => kindedEvent({ kind: 'eventfd', fd: undefined } as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => kindedEvent({ kind: 'win32-event', handle: 5 } as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const k = kindedEvent(eventfd as never);
    if (k.kind === 'eventfd') {
      const fd: number = k.fd; // typed: no undefined
      expect(fd).toBe(7);
    }
  });
});

describe('settle and capabilities', () => {
  const relay = () => testRelay({ maxRoutes: 3 });
  it('settleIrqFd uses settle() where present and resolves for an irqfd without it', async () => {
    const r = relay();
    let called = 0;
    const withSettle: IrqFd = Object.assign(Object.create(r) as IrqFd, { settle: () => (called++, Promise.resolve()) });
    await settleIrqFd(withSettle);
    expect(called).toBe(1);
    const without = { capabilities: r.capabilities, routeCount: 0, commitCount: 0, newIrqFdRoute: () => r.newIrqFdRoute(), batch: <T>(fn: () => T) => fn() } as IrqFd;
    await expect(settleIrqFd(without)).resolves.toBeUndefined();
    await expect(settleIrqFd(undefined as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('partitionCapabilities takes mediation and maxRoutes from the irqfd, in one place', () => {
    const r = relay();
    const caps = partitionCapabilities(r, { backend: 'b', irqfdReason: 'why', resample: false, x2apic: true, maxApicId: 0x3ff, maxVcpus: 4 });
    expect(caps).toEqual({ backend: 'b', irqfd: 'emulated', irqfdReason: 'why', maxRoutes: 3, resample: false, x2apic: true, maxApicId: 0x3ff, maxVcpus: 4 });
    expect(Object.isFrozen(caps)).toBe(true);
    expect(partitionCapabilities(undefined, { backend: 'b', irqfdReason: 'none here', resample: false, x2apic: false, maxApicId: 0xfe, maxVcpus: 1 })).toMatchObject({ irqfd: 'none', maxRoutes: 0 });
    expect(() => partitionCapabilities(r, { backend: 'b', irqfdReason: '', resample: 'no', x2apic: false, maxApicId: 0xfe, maxVcpus: 1 } as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    // Without x2APIC no destination above 0xFE exists (0xFF is the broadcast ID); with it, the all-ones ID is the broadcast.
    expect(() => partitionCapabilities(r, { backend: 'b', irqfdReason: '', resample: false, x2apic: false, maxApicId: 0xff, maxVcpus: 1 })).toThrow(/maxApicId/);
    expect(() => partitionCapabilities(r, { backend: 'b', irqfdReason: '', resample: false, x2apic: true, maxApicId: 0xffffffff, maxVcpus: 1 })).toThrow(/maxApicId/);
    expect(() => partitionCapabilities(r, { backend: 'b', irqfdReason: '', resample: false, x2apic: true, maxVcpus: 1 } as never)).toThrow(/maxApicId/);
  });
});
