/**
 * The demo's device: an `@tsvmm/pci-core` MSI-X emulator with 8 vectors, table and PBA in BAR 0,
 * one irqfd route per vector, and a guest view that issues the MMIO and config accesses a Linux
 * driver would (DWORD table writes, a 16-bit Message Control write, a QWORD PBA read).
 */
import { MsixEmulator, createIrqFdMsixRoutes } from '@tsvmm/pci-core';
import type { IrqFdRoute, Partition } from '@tsvmm/virt';
import { noIrqFd } from './errors';

const BAR = 0;
const TABLE_OFFSET = 0x0;
const PBA_OFFSET = 0x800;
/** Message Control sits at capability offset 2. */
const MESSAGE_CONTROL = 2;

export interface GuestMsix {
  /** Message Control: Enable and Function Mask (one 16-bit config write). */
  enable(enable: boolean, functionMask: boolean): void;
  /** Address low, address high, data: three DWORD MMIO writes (the entry's mask is left alone). */
  writeEntry(entry: number, addressLo: number, addressHi: number, data: number): void;
  /** Vector Control: one DWORD MMIO write. */
  setMasked(entry: number, masked: boolean): void;
  /** The first PBA QWORD (vectors 0-63), as a number. */
  readPba(): number;
}

export interface DemoDevice extends Disposable {
  readonly guest: GuestMsix;
  readonly emulator: MsixEmulator;
  readonly routes: readonly IrqFdRoute[];
  readonly describeTable: string;
  readonly describePba: string;
  /** The device raises vector `entry` as VFIO would: a write to the route's eventfd (or event). */
  signal(entry: number): void;
}

export function openGuestMsix(partition: Partition, vectors: number): DemoDevice {
  const irqfd = partition.irqfd();
  if (!irqfd) throw noIrqFd(partition.backend);
  const errors: Error[] = [];
  // One route per vector, created in one commit; the emulator keeps them in step with the guest.
  const set = createIrqFdMsixRoutes(irqfd, vectors);
  const routes = set.irqfdRoutes;
  let emulator: MsixEmulator;
  try {
    emulator = new MsixEmulator({
      vectors,
      table: { bir: BAR, offset: TABLE_OFFSET },
      pba: { bir: BAR, offset: PBA_OFFSET },
      onError: (e) => void errors.push(e),
    });
    emulator.setRoutes(set.routes, { batch: set.batch });
  } catch (e) {
    set.dispose();
    throw e;
  }
  const buf = new Uint8Array(8);
  const view = new DataView(buf.buffer);
  const dword = (offset: number, value: number): void => {
    view.setUint32(0, value >>> 0, true);
    emulator.write(BAR, offset, buf.subarray(0, 4));
  };
  const throwIfFailed = (): void => {
    const e = errors.shift();
    if (e) throw e;
  };
  const guest: GuestMsix = {
    enable(enable, functionMask) {
      emulator.configWrite(MESSAGE_CONTROL, 2, (enable ? 0x8000 : 0) | (functionMask ? 0x4000 : 0));
      throwIfFailed();
    },
    writeEntry(entry, lo, hi, data) {
      const base = TABLE_OFFSET + entry * 16;
      dword(base, lo);
      dword(base + 4, hi);
      dword(base + 8, data);
      throwIfFailed();
    },
    setMasked(entry, masked) {
      dword(TABLE_OFFSET + entry * 16 + 12, masked ? 1 : 0);
      throwIfFailed();
    },
    readPba() {
      emulator.read(BAR, PBA_OFFSET, buf);
      throwIfFailed();
      return Number(view.getBigUint64(0, true));
    },
  };
  return {
    guest,
    emulator,
    routes,
    describeTable: `BAR${BAR}+${`0x${TABLE_OFFSET.toString(16)}`}`,
    describePba: `BAR${BAR}+0x${PBA_OFFSET.toString(16)}`,
    signal(entry) {
      routes[entry]!.event.signal();
    },
    [Symbol.dispose]() {
      try {
        emulator.clearRoutes();
      } finally {
        set.dispose();
      }
    },
  };
}
