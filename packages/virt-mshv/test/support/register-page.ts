/**
 * Where a delivery shows on a real mshv host. On root-scheduler hosts the kernel's irqfd fast path
 * does not touch the IRR: it queues the vector in the VP's register page (an mmap of the VP fd at
 * offset 0; `interrupt_vectors` at byte 688: a count byte, then up to 7 vector bytes), and the
 * hypervisor injects it when the VP next runs, which it never does in these tests. So on a device
 * a delivery is "in IRR or queued", and taking it clears both.
 *
 * mmap is not part of the Syscalls seam, so the page is mapped here, for one read, and unmapped at
 * once: a mapping kept past the partition's disposal would keep the VP's file alive.
 */
import { abi } from '../../src/implement';

interface Koffi {
  load(path: string): { func(prototype: string): unknown };
  view(pointer: unknown, length: number): ArrayBuffer;
  address(pointer: unknown): bigint;
}

const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
const PAGE = 4096;
const MAP_FAILED = 0xffff_ffff_ffff_ffffn;

type Mmap = (addr: null, len: number, prot: number, flags: number, fd: number, off: number) => unknown;
type Munmap = (addr: unknown, len: number) => number;

let libc: { koffi: Koffi; mmap: Mmap; munmap: Munmap } | undefined;

function load(): NonNullable<typeof libc> {
  if (libc) return libc;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const koffi = require('koffi') as Koffi;
  const lib = koffi.load('libc.so.6');
  libc = {
    koffi,
    mmap: lib.func('void *mmap(void *addr, unsigned long len, int prot, int flags, int fd, long off)') as Mmap,
    munmap: lib.func('int munmap(void *addr, unsigned long len)') as Munmap,
  };
  return libc;
}

/** The vectors queued in the register page of the VP open as `vpFd`, cleared. */
export function takeQueuedVectors(vpFd: number): number[] {
  const { koffi, mmap, munmap } = load();
  const ptr = mmap(null, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, vpFd, 0);
  if (koffi.address(ptr) === MAP_FAILED) throw new Error(`mmap of the register page of VP fd ${vpFd} failed`);
  try {
    const page = new Uint8Array(koffi.view(ptr, PAGE));
    const at = abi.MSHV_VP_REGISTER_PAGE_INTERRUPT_VECTORS;
    const count = Math.min(page[at]!, abi.MSHV_VP_REGISTER_PAGE_MAX_QUEUED_VECTORS);
    const out = Array.from(page.subarray(at + 1, at + 1 + count));
    page[at] = 0;
    return out;
  } finally {
    munmap(ptr, PAGE);
  }
}
