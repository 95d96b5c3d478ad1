/**
 * These tests run on the real /dev/mshv. Most hosts cannot have it (it exists only on a Microsoft
 * Hypervisor root partition), so where it is missing they are reported as skipped, with one
 * SKIPPED line naming /dev/mshv and why; TSVMM_ALLOW_NO_MSHV=0 makes a missing device a failure
 * (for a CI host that must be a root partition).
 *
 * Observing delivery on a real host has a trap (see the package README): on root-scheduler hosts
 * the kernel's irqfd fast path does not touch the IRR; it queues the vector in the VP's register
 * page (an mmap of the VP fd at offset 0; `interrupt_vectors` at byte 688: a count byte, then up to
 * 7 vector bytes), and the hypervisor injects it when the VP next runs, which it never does here.
 * So a delivery is "in IRR or queued", and taking it clears both.
 */
import { existsSync } from 'node:fs';
import type { DeliveryObserver } from '@tsvmm/virt/conformance';
import { describeWithDevice } from '@tsvmm/linux-sys/testing';
import { type MshvPartition, abi } from '../src';

export const HAVE_MSHV = existsSync(abi.MSHV_DEVICE);

export function describeMshv(name: string, fn: () => void): void {
  describeWithDevice(abi.MSHV_DEVICE, 'TSVMM_ALLOW_NO_MSHV', name, fn, { skipByDefault: true });
}

interface Koffi {
  load(path: string): { func(prototype: string): unknown };
  view(pointer: unknown, length: number): ArrayBuffer;
  address(pointer: unknown): bigint;
}

const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
const PAGE = 4096;

/** The register page of each VP, mapped once per VP fd (test-only: mmap is not part of the Syscalls seam). */
export class RegisterPages {
  private readonly pages = new Map<number, Uint8Array>();
  private readonly unmaps: Array<() => void> = [];
  private readonly mmap: (addr: null, len: number, prot: number, flags: number, fd: number, off: number) => unknown;
  private readonly munmap: (addr: unknown, len: number) => number;
  private readonly koffi: Koffi;

  constructor() {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    this.koffi = require('koffi') as Koffi;
    const libc = this.koffi.load('libc.so.6');
    this.mmap = libc.func('void *mmap(void *addr, unsigned long len, int prot, int flags, int fd, long off)') as RegisterPages['mmap'];
    this.munmap = libc.func('int munmap(void *addr, unsigned long len)') as RegisterPages['munmap'];
  }

  /** The queued vectors of VP `vpFd`, and clears them. */
  takeQueued(vpFd: number): number[] {
    const page = this.page(vpFd);
    const at = abi.MSHV_VP_REGISTER_PAGE_INTERRUPT_VECTORS;
    const count = Math.min(page[at]!, abi.MSHV_VP_REGISTER_PAGE_MAX_QUEUED_VECTORS);
    const out = Array.from(page.subarray(at + 1, at + 1 + count));
    page[at] = 0;
    return out;
  }

  private page(vpFd: number): Uint8Array {
    let p = this.pages.get(vpFd);
    if (p) return p;
    const ptr = this.mmap(null, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, vpFd, 0);
    if (this.koffi.address(ptr) === 0xffff_ffff_ffff_ffffn) throw new Error(`mmap of the register page of VP fd ${vpFd} failed`);
    p = new Uint8Array(this.koffi.view(ptr, PAGE));
    this.pages.set(vpFd, p);
    this.unmaps.push(() => void this.munmap(ptr, PAGE));
    return p;
  }

  dispose(): void {
    for (const u of this.unmaps) u();
    this.unmaps.length = 0;
    this.pages.clear();
  }
}

/** Deliveries as IRR ∪ queued vectors, each taken (cleared) when read. */
export function mshvObserver(p: MshvPartition, pages: RegisterPages): DeliveryObserver {
  return {
    apicId: (vcpu) => p.readLocalApic(vcpu).apicId,
    take: (vcpu) => {
      const irr = p.readLocalApic(vcpu).irr;
      if (irr.length > 0) p.clearIrr(vcpu);
      const all = new Set([...irr, ...pages.takeQueued(p.vpFd(vcpu))]);
      return [...all].sort((a, b) => a - b);
    },
  };
}
