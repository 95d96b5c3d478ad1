/**
 * mshv's irqfd: the shared Linux irqfd engine (`IrqFdEngine` of `@tsvmm/linux-sys`: transactions
 * and `batch`, the whole-table commit, mask = deassign, rollback, GSIs taken at a route's first
 * MSI, the overflow relay) on mshv's description of itself, {@link mshvIrqFdBackend}: only what
 * differs from KVM. GSIs start at 1 (GSI 0 is never used: every hole of mshv's routing array reads
 * as GSI 0's zeroed entry); no fixed entries; MSHV_SET_MSI_ROUTING's table (8-byte header, 16-byte
 * entries) and MSHV_IRQFD's argument (fd, resamplefd, gsi, flags); 4095 routes (GSIs 1-4095, each
 * below the kernel's 4096); the mshv MSI policy; and latched signals delivered by
 * HvCallAssertVirtualInterrupt. The engine's invariants are the ones mshv needs most: an irqfd is
 * assigned only on a GSI the committed table routes, and a route is removed only after its irqfd
 * is deassigned (a signal on an unrouted GSI injects vector 0 on APIC 0).
 */
import type { RawInjector } from '@tsvmm/virt/implement';
import { type EngineRoute, type IrqFdBackend, type IrqFdEngine, type Syscalls } from '@tsvmm/linux-sys';
import { MSHV_IRQFD, MSHV_IRQFD_FLAG_DEASSIGN, MSHV_MAX_MSI_ROUTES, MSHV_SET_MSI_ROUTING, MSHV_USER_IRQFD_LAYOUT, MSHV_USER_IRQ_TABLE } from './abi';
import { parseMshvMsiWords } from './msi-policy';
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
 * `struct mshv_user_irqfd` argument (`resamplefd` -1), the two ioctls on `partitionFd` (as data:
 * the engine issues them), MSI parsing with `parseMshvMsiWords`, `inject` for latched signals, and the overflow worker's injector
 * (`mshvRelayInjector(partitionFd)`: the hypercall ioctl as data, which the worker issues itself). Never throws.
 */
export function mshvIrqFdBackend(options: MshvIrqFdBackendOptions): IrqFdBackend {
  const { sys, partitionFd, vcpuCount, inject } = options;
  const H = MSHV_USER_IRQ_TABLE.header.fields;
  const E = MSHV_USER_IRQ_TABLE.entry.fields;
  const I = MSHV_USER_IRQFD_LAYOUT.fields;
  const template = new Uint8Array(MSHV_USER_IRQFD_LAYOUT.size);
  new DataView(template.buffer).setInt32(I.resamplefd.offset, -1, true);
  return Object.freeze({
    name: 'mshv',
    sys,
    fd: partitionFd,
    ioctls: Object.freeze({ setRouting: MSHV_SET_MSI_ROUTING, irqfd: MSHV_IRQFD }),
    firstGsi: MSHV_FIRST_GSI,
    maxTableEntries: Math.min(options.maxKernelRoutes ?? MSHV_MAX_MSI_ROUTES, MSHV_MAX_MSI_ROUTES - MSHV_FIRST_GSI),
    table: Object.freeze({
      headerSize: MSHV_USER_IRQ_TABLE.entriesOffset,
      entrySize: MSHV_USER_IRQ_TABLE.entry.size,
      countOffset: H[MSHV_USER_IRQ_TABLE.countField].offset,
      fixedEntries: new Uint8Array(0),
      msiEntry: Object.freeze({ gsi: E.gsi.offset, addressLo: E.addressLo.offset, addressHi: E.addressHi.offset, data: E.data.offset }),
    }),
    irqfdArg: Object.freeze({
      size: MSHV_USER_IRQFD_LAYOUT.size,
      fd: I.fd.offset,
      gsi: I.gsi.offset,
      flags: I.flags.offset,
      deassignFlag: MSHV_IRQFD_FLAG_DEASSIGN,
      template,
    }),
    parseMsi: (operation: string, addressLo: number, addressHi: number, data: number) => parseMshvMsiWords(operation, addressLo, addressHi, data, vcpuCount),
    inject,
    workerInjector: mshvRelayInjector(partitionFd),
  });
}

/** The mshv irqfd: the shared engine (`IrqFdEngine` of `@tsvmm/linux-sys`) on {@link mshvIrqFdBackend}. */
export type MshvIrqFd = IrqFdEngine;

/** An mshv irqfd route (the engine's route). */
export type MshvIrqFdRoute = EngineRoute;
