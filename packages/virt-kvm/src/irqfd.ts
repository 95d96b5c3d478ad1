/**
 * KVM irqfd routes: KVM_IRQFD binds a route's eventfd to a GSI, KVM_SET_GSI_ROUTING maps the GSI
 * to its MSI, and the kernel injects inside the eventfd write. Everything that is not KVM's own
 * (transactions, mask = deassign, rollback, GSI allocation at a route's first MSI, the overflow
 * relay) is the shared Linux engine, `IrqFdEngine` of `@tsvmm/linux-sys`; this module supplies
 * KVM's part of it, an `IrqFdBackend`.
 */
import type { MsiPolicy } from '@tsvmm/virt';
import type { RawInjector } from '@tsvmm/virt/implement';
import { parseMsiWords as parseMsiWordsExport } from '@tsvmm/virt/implement';
import type { EngineRoute, InjectorSpec, IrqFdBackend, IrqFdEngine, Syscalls } from '@tsvmm/linux-sys';
import * as kvm from './abi';
import { FIRST_MSI_GSI, kvmRoutingTableLayout } from './gsi-routing';

/** What {@link kvmIrqFdBackend} needs from its partition. */
export interface KvmIrqFdBackendOptions {
  /** The system calls the engine issues KVM_SET_GSI_ROUTING and KVM_IRQFD through (their `ioctl`). */
  readonly sys: Syscalls;
  /** The VM fd (owned by the partition) every routing and irqfd ioctl goes to. */
  readonly vmFd: number;
  /** Entries the kernel takes in one routing table (KVM_MAX_IRQ_ROUTES, what KVM_CAP_IRQ_ROUTING reports). */
  readonly maxEntries: number;
  /** Which MSIs routes accept (checked before any system call); the partition's `msiPolicy`. */
  readonly policy: MsiPolicy;
  /** KVM_SIGNAL_MSI on the VM, on the calling thread. */
  readonly inject: RawInjector;
  /** KVM_SIGNAL_MSI on the VM, built in the overflow relay's worker thread. */
  readonly workerInjector: InjectorSpec;
}

/** Bound once: the package entry's re-exports are getters, one extra call per guest table write. */
const parseMsiWords = parseMsiWordsExport;

const IRQFD = kvm.KVM_IRQFD_LAYOUT.fields;

/**
 * KVM's part of the shared irqfd engine (`IrqFdEngine` of `@tsvmm/linux-sys`): GSIs from
 * {@link FIRST_MSI_GSI}, the `struct kvm_irq_routing` table keeping {@link LEGACY_ROUTES}, the
 * `struct kvm_irqfd` argument (assign, or deassign with KVM_IRQFD_FLAG_DEASSIGN), the two ioctls on
 * `vmFd` (as data: the engine issues them), MSI parsing with `policy`, and the KVM_SIGNAL_MSI injectors the engine uses on the calling
 * thread and in the overflow relay's worker. Never throws.
 */
export function kvmIrqFdBackend(o: KvmIrqFdBackendOptions): IrqFdBackend {
  const { sys, vmFd, policy } = o;
  return Object.freeze({
    name: 'KVM',
    sys,
    fd: vmFd,
    ioctls: Object.freeze({ setRouting: kvm.KVM_SET_GSI_ROUTING, irqfd: kvm.KVM_IRQFD }),
    firstGsi: FIRST_MSI_GSI,
    maxTableEntries: o.maxEntries,
    table: kvmRoutingTableLayout,
    irqfdArg: Object.freeze({
      size: kvm.KVM_IRQFD_LAYOUT.size,
      fd: IRQFD.fd.offset,
      gsi: IRQFD.gsi.offset,
      flags: IRQFD.flags.offset,
      deassignFlag: kvm.KVM_IRQFD_FLAG_DEASSIGN,
    }),
    parseMsi: (operation: string, addressLo: number, addressHi: number, data: number) => parseMsiWords(operation, addressLo, addressHi, data, policy),
    inject: o.inject,
    workerInjector: o.workerInjector,
  });
}

/** The KVM irqfd: the shared engine (`IrqFdEngine` of `@tsvmm/linux-sys`) on {@link kvmIrqFdBackend}. */
export type KvmIrqFd = IrqFdEngine;

/** A KVM irqfd route (the engine's route). */
export type KvmIrqFdRoute = EngineRoute;
