import { existsSync, readdirSync } from 'node:fs';
import type { ApicBus } from '@tsvmm/virt/testing';
import type { Syscalls } from '../syscalls';
import { describeWithDevice } from './describe-with-device';
import type { FaultInjector } from './fault-injector';
import { assertNoCoalesced, coalescedOn } from './irqfd-fault/harness';

/**
 * How a backend's test adapter builds one partition on its model (or its real device), beside the
 * backend's own partition options; everything but `vcpus` is optional.
 */
export interface ModelKernelOptions<M> {
  /** vCPUs of the partition. */
  readonly vcpus: number;
  /** GSIs the engine may use for MSI routes; routes beyond them go through the overflow relay. The adapter says how it applies them. */
  readonly kernelGsis?: number;
  /** Builds the FaultInjector around the kernel's calls (libc, or the model): a test's own fault plan. Default a plain one. */
  readonly wrap?: (inner: Syscalls) => FaultInjector;
  /** Model: the overflow relay's waiter runs only inside `settle()`, so relayed signals are really in flight until then. */
  readonly deferredRelay?: boolean;
  /** Model: told of the model as soon as it exists, so that a creation that fails can still be checked for what it left open. */
  readonly onModel?: (model: M) => void;
}

/** What a backend's test target remembers of each partition it made: the partition, and its model unless it is on the device. */
export interface TargetKernel<P, M> {
  /** The partition the target made. */
  readonly partition: P;
  /** The model under the partition; undefined on the real device. */
  readonly model: M | undefined;
}

/**
 * The bookkeeping a backend's behaviour-test target keeps (a KVM or mshv target, model or device):
 * the kernel behind every partition it made, and every model it made, so that the descriptors its
 * models hold are counted as `/proc/self/fd` counts the process's.
 */
export interface TargetKernels<P extends object, M, K extends TargetKernel<P, M>> {
  /** Remembers `kernel` under its partition and returns the partition. */
  add(kernel: K): P;
  /** The kernel behind `p`. Throws an `Error` if this target did not make `p`. */
  kernelOf(p: P): K;
  /** The model under `p`. Throws an `Error` on a device (read a model only where `!target.real`). */
  modelOf(p: P): M;
  /** Counts `model` among this target's models (for a model made outside {@link add}, e.g. by an `onModel` callback); returns it. */
  track(model: M): M;
  /** Every model this target made, oldest first. */
  readonly models: readonly M[];
  /** Descriptor numbers held by every model this target made. */
  modelFdCount(): number;
  /** Descriptors open now: the process's (`/proc/self/fd`, proc(5)) plus {@link modelFdCount}. */
  openFdCount(): number;
}

/**
 * The bookkeeping of one test target ({@link TargetKernels}); `modelFds(m)` is the number of
 * descriptors model `m` holds open.
 */
export function targetKernels<P extends object, M, K extends TargetKernel<P, M>>(modelFds: (model: M) => number): TargetKernels<P, M, K> {
  const kernels = new WeakMap<P, K>();
  const models: M[] = [];
  const kernelOf = (p: P): K => {
    const k = kernels.get(p);
    if (k === undefined) throw new Error('the partition was not made by this target');
    return k;
  };
  const modelFdCount = (): number => models.reduce((n, m) => n + modelFds(m), 0);
  return {
    add(kernel) {
      kernels.set(kernel.partition, kernel);
      return kernel.partition;
    },
    kernelOf,
    modelOf: (p) => modelOnly(kernelOf(p).model, 'a device has no model'),
    track(model) {
      models.push(model);
      return model;
    },
    models,
    modelFdCount,
    openFdCount: () => readdirSync('/proc/self/fd').length + modelFdCount(),
  };
}

/**
 * `value`, which exists only on a backend's kernel model: an `Error` where it is undefined (on the
 * real device), saying `why` and that a test reads it only in `!target.real` branches.
 */
export function modelOnly<T>(value: T | undefined, why: string): T {
  if (value === undefined) throw new Error(`${why}: read it only where !target.real`);
  return value;
}

/** A backend's real device as its test targets use it, and the name each target gives the tests it runs. */
export interface TargetDevice {
  /** The device node, e.g. `/dev/kvm`. */
  readonly path: string;
  /** The environment variable that decides what a host without the device does ({@link describeWithDevice}). */
  readonly allowMissingEnv: string;
  /** True: a missing device is skipped unless the variable is `0`; false (the default): it fails unless the variable is `1`. */
  readonly skipByDefault?: boolean;
  /** The model target's name in test titles, e.g. `KVM model`. */
  readonly modelName: string;
  /** The device target's name in test titles, e.g. `real /dev/kvm`. */
  readonly deviceName: string;
}

/** The two targets of a backend's behaviour tests, the model and the real device: one test body, run on each. */
export interface ModelAndDevice<T> {
  /** The model target, and the device target where the device node exists. */
  targets(): T[];
  /** `describe(name)` once per target, the target's name in the title; the device's half through {@link describeDevice}. */
  describeOnTargets(name: string, body: (target: T) => void): void;
  /** `describe` where the device node exists; otherwise a loud skip or a loud failure, as {@link TargetDevice.skipByDefault} says. */
  describeDevice(name: string, fn: () => void): void;
}

/** The model and device targets of a backend whose target `make(real)` builds ({@link ModelAndDevice}). */
export function modelAndDevice<T>(device: TargetDevice, make: (real: boolean) => T): ModelAndDevice<T> {
  const { describe } = globalThis as unknown as { describe: (name: string, fn: () => void) => void };
  const describeDevice = (name: string, fn: () => void): void => describeWithDevice(device.path, device.allowMissingEnv, name, fn, { skipByDefault: device.skipByDefault === true });
  return {
    targets: () => (existsSync(device.path) ? [make(false), make(true)] : [make(false)]),
    describeOnTargets(name, body) {
      describe(`${name} (${device.modelName})`, () => body(make(false)));
      describeDevice(`${name} (${device.deviceName})`, () => body(make(true)));
    },
    describeDevice,
  };
}

/** The options a backend target's `create` takes: its adapter's, without `onModel`, `vcpus` defaulting to 2. */
export type TargetCreateOptions<O> = Omit<O, 'vcpus' | 'onModel'> & {
  /** vCPUs of the partition; default 2. */
  readonly vcpus?: number;
};

/** One kernel a backend's behaviour tests run on (its model, or its real device): what every backend's target offers. */
export interface LinuxTestTarget<P, M, O> {
  /** The kernel's name in every test title, e.g. `KVM model` or `real /dev/kvm`. */
  readonly name: string;
  /** True on the real device: then the kernel's own state cannot be read back. */
  readonly real: boolean;
  /** A partition (2 vCPUs unless asked), its system calls recorded by a FaultInjector ({@link sysOf}). */
  create(options?: TargetCreateOptions<O>): P;
  /** The FaultInjector under `p`, over the model or over libc: the labels it logs are the same on both. */
  sysOf(p: P): FaultInjector;
  /** The model under `p`. Only in `!target.real` branches: a device has none. */
  modelOf(p: P): M;
  /** Every vCPU's pending vectors, cleared: `[[vcpu, vector], ...]`. On the model, also fails if any vector was injected twice. */
  takeIrr(p: P): Array<[number, number]>;
  /** Descriptors open now: the process's (/proc/self/fd), and on the model also every number its kernels hold. */
  openFdCount(): number;
}

/** A {@link TargetKernel} whose system calls go through a {@link FaultInjector}. */
export interface InjectedTargetKernel<P, M> extends TargetKernel<P, M> {
  /** The partition's system calls, with faults injected. */
  readonly sys: FaultInjector;
}

/** What {@link linuxTestTarget} returns. */
export interface BuiltTestTarget<P extends object, M, K extends TargetKernel<P, M>, O> {
  /** The target. */
  readonly target: LinuxTestTarget<P, M, O>;
  /** The record of every partition and model the target made, for the backend's own members. */
  readonly book: TargetKernels<P, M, K>;
}

/** What {@link linuxTestTarget} builds a target from. */
export interface LinuxTestTargetParts<P, M, K, O> {
  /** The backend's fault adapter: its name and how it builds one kernel. */
  readonly adapter: {
    /** The kernel's name in test titles. */
    readonly name: string;
    /** Builds one partition on the kernel. */
    create(options: O): K;
  };
  /** Whether this is the real device's target. */
  readonly real: boolean;
  /** Descriptors model `m` holds open. */
  modelFds(model: M): number;
  /** `p`'s pending vectors as `[vcpu, vector]`, read through the partition and cleared. */
  deliveries(p: P): Array<[number, number]>;
  /** The local APICs of `p` in `model`, where a second injection onto a pending vector is counted. */
  bus(model: M, p: P): ApicBus | undefined;
}

/**
 * A backend's target ({@link LinuxTestTarget}) and the book of the kernels it made: every
 * partition from `parts.adapter`, every model counted ({@link targetKernels}), and `takeIrr`
 * failing where the model saw a vector injected while still pending.
 */
export function linuxTestTarget<P extends object, M, K extends InjectedTargetKernel<P, M>, O extends ModelKernelOptions<M>>(parts: LinuxTestTargetParts<P, M, K, O>): BuiltTestTarget<P, M, K, O> {
  const { adapter, real } = parts;
  const book = targetKernels<P, M, K>((m) => parts.modelFds(m));
  const target: LinuxTestTarget<P, M, O> = {
    name: adapter.name,
    real,
    // The spread keeps every option the adapter takes; TypeScript cannot follow Omit through a generic spread.
    create: (options = {} as TargetCreateOptions<O>) => book.add(adapter.create({ vcpus: 2, ...options, onModel: (m: M) => book.track(m) } as unknown as O)),
    sysOf: (p) => book.kernelOf(p).sys,
    modelOf: (p) => book.modelOf(p),
    takeIrr(p) {
      const out = parts.deliveries(p);
      const model = book.kernelOf(p).model;
      const bus = model === undefined ? undefined : parts.bus(model, p);
      if (bus !== undefined) assertNoCoalesced(coalescedOn(bus));
      return out;
    },
    openFdCount: () => book.openFdCount(),
  };
  return { target, book };
}
