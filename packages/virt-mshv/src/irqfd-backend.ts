/**
 * mshv as the shared Linux irqfd engine sees it: only what differs from KVM. GSIs start at 1
 * (GSI 0 is never used: every hole of mshv's routing array reads as GSI 0's zeroed entry); no
 * fixed entries; MSHV_SET_MSI_ROUTING's table (8-byte header, 16-byte entries) and MSHV_IRQFD's
 * argument (fd, resamplefd, gsi, flags); 4095 routes (GSIs 1-4095, each below the kernel's 4096);
 * the mshv MSI policy; and latched signals delivered by HvCallAssertVirtualInterrupt.
 */
import type { IrqFdBackend } from '@tsvmm/linux-sys';
import type { MsiMessage, RawInjector } from '@tsvmm/virt';
import type { Syscalls } from '@tsvmm/linux-sys';
import {
  MSHV_IRQFD_FLAG_DEASSIGN,
  MSHV_MAX_MSI_ROUTES,
  MSHV_USER_IRQFD_LAYOUT,
  MSHV_USER_IRQ_ENTRY_LAYOUT,
  MSHV_USER_IRQ_TABLE_LAYOUT,
} from './abi';
import { irqfd as irqfdCall, setMsiRouting } from './calls';
import { parseMshvMsi } from './msi-policy';
import { mshvRelayInjector } from './relay-injector';

/** The first GSI handed to routes. */
export const MSHV_FIRST_GSI = 1;

/** What {@link mshvIrqFdBackend} needs from its partition. */
export interface MshvIrqFdBackendOptions {
  /** The system calls MSHV_SET_MSI_ROUTING and MSHV_IRQFD go through. */
  readonly sys: Syscalls;
  /** The partition fd (owned by the partition) both ioctls are issued on. */
  readonly partitionFd: number;
  /** VPs 0 .. vcpuCount-1 exist (APIC ID = VP index). */
  readonly vcpuCount: number;
  /** HvCallAssertVirtualInterrupt on this partition. */
  readonly inject: RawInjector;
  /** GSIs to use, 1 to 4095 (default 4095). */
  readonly maxKernelRoutes?: number;
}

/**
 * mshv's part of the shared irqfd engine (`IrqFdBackend` of `@tsvmm/linux-sys`): GSIs from
 * {@link MSHV_FIRST_GSI}, no fixed entries, the `struct mshv_user_irq_table` table and the
 * `struct mshv_user_irqfd` argument, the two ioctls on `partitionFd`, MSI parsing with
 * `parseMshvMsi`, `inject` for latched signals, and the overflow worker's injector
 * (`mshvWorkerInjector`, loaded by module path). Never throws.
 */
export function mshvIrqFdBackend(options: MshvIrqFdBackendOptions): IrqFdBackend {
  const { sys, partitionFd, vcpuCount, inject } = options;
  const H = MSHV_USER_IRQ_TABLE_LAYOUT.fields;
  const E = MSHV_USER_IRQ_ENTRY_LAYOUT.fields;
  const I = MSHV_USER_IRQFD_LAYOUT.fields;
  return Object.freeze({
    name: 'mshv',
    ioctlNames: Object.freeze({ setRouting: 'MSHV_SET_MSI_ROUTING', irqfd: 'MSHV_IRQFD' }),
    firstGsi: MSHV_FIRST_GSI,
    maxTableEntries: Math.min(options.maxKernelRoutes ?? MSHV_MAX_MSI_ROUTES, MSHV_MAX_MSI_ROUTES - MSHV_FIRST_GSI),
    table: Object.freeze({
      headerSize: MSHV_USER_IRQ_TABLE_LAYOUT.size,
      entrySize: MSHV_USER_IRQ_ENTRY_LAYOUT.size,
      fixedEntryCount: 0,
      encodeHeader(view: DataView, entryCount: number): void {
        view.setUint32(H.nr.offset, entryCount, true);
        view.setUint32(H.rsvd.offset, 0, true);
      },
      encodeFixedEntry(): void {
        throw new RangeError('mshv has no fixed routing entries');
      },
      encodeMsiEntry(view: DataView, offset: number, gsi: number, msi: MsiMessage): void {
        view.setUint32(offset + E.gsi.offset, gsi, true);
        view.setUint32(offset + E.addressLo.offset, msi.addressLo >>> 0, true);
        view.setUint32(offset + E.addressHi.offset, msi.addressHi >>> 0, true);
        view.setUint32(offset + E.data.offset, msi.data >>> 0, true);
      },
    }),
    irqfdArg: Object.freeze({
      size: MSHV_USER_IRQFD_LAYOUT.size,
      encode(view: DataView, fd: number, gsi: number, assign: boolean): void {
        view.setInt32(I.fd.offset, fd, true);
        view.setInt32(I.resamplefd.offset, -1, true);
        view.setUint32(I.gsi.offset, gsi, true);
        view.setUint32(I.flags.offset, assign ? 0 : MSHV_IRQFD_FLAG_DEASSIGN, true);
      },
    }),
    calls: Object.freeze({
      setRouting: (table: Uint8Array) => setMsiRouting(sys, partitionFd, table),
      irqfd: (arg: Uint8Array) => irqfdCall(sys, partitionFd, arg),
    }),
    parseMsi: (operation: string, address: unknown, data: unknown) => parseMshvMsi(operation, address, data, vcpuCount),
    inject,
    workerInjector: mshvRelayInjector(partitionFd),
  });
}
