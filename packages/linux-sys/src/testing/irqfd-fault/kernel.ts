/**
 * The part of an {@link IrqFdFaultKernel} that is the same for every Linux backend: on a kernel
 * model everything is read back from the model; on a real device what user space cannot read (the
 * committed table, which irqfds are assigned) is the engine's own record, checked by delivery.
 */
import type { Disposable, MsiMessage } from '@tsvmm/virt';
import type { ApicBus } from '@tsvmm/virt/testing';
import type { IrqFdEngine } from '../../irqfd';
import type { FaultInjector } from '../fault-injector';
import type { TargetKernel } from '../target-kernels';
import { type IrqFdFaultKernel, type IrrSnapshot, takeApicBusIrr } from './harness';

/** What a backend's kernel model holds for one partition, as {@link irqFdFaultKernel} reads it. */
export interface ModelPartitionReads {
  /** MSI routes of the table the model last accepted for the partition, by GSI. */
  kernelTable(): ReadonlyMap<number, MsiMessage>;
  /** The GSI the eventfd open as `fd` (any number for its file) is assigned on as an irqfd in the partition. */
  irqfdGsi(fd: number): number | undefined;
  /** The GSI of every irqfd the model has assigned in the partition. */
  assignedIrqfds(): readonly number[];
  /** The partition's local APICs. */
  bus(): ApicBus;
  /** What the model recorded as having crashed or corrupted a real host. */
  hazards(): readonly unknown[];
  /** Eventfds open in the model. */
  openEventFds(): number;
  /** After disposal: what the model still holds ({@link IrqFdFaultKernel.residue}); omitted where the backend does not count it. */
  residue?(): Readonly<Record<string, number | readonly unknown[]>>;
}

/** What {@link LinuxFaultKernel.relayWatched} reads of an overflow relay platform. */
export interface RelayPlatformCount {
  /** Slots the platform watches now. */
  readonly watchedCount: number;
}

/** What {@link irqFdFaultKernel} builds one kernel from. */
export interface FaultKernelParts<P extends Disposable, M, E extends IrqFdEngine, R extends RelayPlatformCount> {
  /** The partition's system calls, with faults injected. */
  readonly sys: FaultInjector;
  /** The partition's irqfd engine. */
  readonly irqfd: E;
  /** The partition. */
  readonly partition: P;
  /** The kernel model under the partition; undefined on the real device. */
  readonly model: M | undefined;
  /** Every overflow relay platform made for the partition, oldest first (a live list; empty on a device). */
  readonly relayPlatforms: readonly R[];
  /** How to read `model` back for this partition. */
  modelReads(model: M): ModelPartitionReads;
  /**
   * On the device: every vCPU's pending vectors as `[vcpu, vector]`, read through the partition and
   * cleared. Faults armed by the test stay armed: a refused call's retry must still be refused
   * after IRR was read, so the reads used here must be ones no test fails.
   */
  deviceIrr(): Array<[number, number]>;
}

/** A kernel of the shared irqfd fault suite, with the partition, its model and the overflow relay's platforms. */
export interface LinuxFaultKernel<P, M, E extends IrqFdEngine, R extends RelayPlatformCount> extends IrqFdFaultKernel, TargetKernel<P, M> {
  /** The partition's irqfd engine. */
  readonly irqfd: E;
  /** Every overflow relay platform made for the partition, oldest first (none on a device). */
  readonly relayPlatforms: readonly R[];
}

/**
 * One kernel of the shared irqfd fault suite from a backend's `parts`: read back from the model
 * where there is one ({@link FaultKernelParts.modelReads}), else from the engine's record and
 * {@link FaultKernelParts.deviceIrr}. The model-only reads (`irqfdGsiOf`, `assignedIrqfds`,
 * `residue`) are omitted on a device. Disposing it disposes the partition.
 */
export function irqFdFaultKernel<P extends Disposable, M, E extends IrqFdEngine, R extends RelayPlatformCount>(parts: FaultKernelParts<P, M, E, R>): LinuxFaultKernel<P, M, E, R> {
  const { sys, irqfd, partition, model, relayPlatforms } = parts;
  const reads = model === undefined ? undefined : parts.modelReads(model);
  return {
    sys,
    irqfd,
    real: reads === undefined,
    model,
    partition,
    relayPlatforms,
    get relayWatched() {
      return relayPlatforms[0]?.watchedCount ?? 0;
    },
    kernelTable: () => (reads === undefined ? irqfd.table.kernelRoutes() : reads.kernelTable()),
    assignedGsi: (route) => (reads === undefined ? (route.assigned ? route.gsi : undefined) : reads.irqfdGsi(route.event.ownFd())),
    hazards: () => reads?.hazards() ?? [],
    takeIrr: (): IrrSnapshot => (reads === undefined ? { irr: parts.deviceIrr(), coalesced: [] } : takeApicBusIrr(reads.bus())),
    openEventFds: () => reads?.openEventFds(),
    ...(reads !== undefined && {
      irqfdGsiOf: (fd: number) => reads.irqfdGsi(fd),
      assignedIrqfds: () => reads.assignedIrqfds(),
      ...(reads.residue !== undefined && { residue: () => reads.residue!() }),
    }),
    [Symbol.dispose]: () => partition[Symbol.dispose](),
  };
}
