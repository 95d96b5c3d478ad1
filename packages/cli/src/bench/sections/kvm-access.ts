/**
 * What the KVM benchmarks need from `@tsvmm/virt-kvm`: a partition in kernel-irqfd or relay
 * mode, its VM and vCPU fds (for the C floors, which run in this process), and a way to wait for
 * the relay.
 */
import { type LocalApicAccess, type Partition, VirtError } from '@tsvmm/virt';
import type * as LinuxSys from '@tsvmm/linux-sys';
import type * as VirtKvm from '@tsvmm/virt-kvm';
import type { KvmPartition } from '@tsvmm/virt-kvm';
import type * as VirtKvmImplement from '@tsvmm/virt-kvm/implement';
import type { BackendDescriptor } from '../../backends/descriptor';
import { settleFor } from '../../backends/settle';

/**
 * `@tsvmm/linux-sys` and `@tsvmm/virt-kvm` (its root and `/implement`, for the legacy routes and the
 * raw ABI), loaded on first use: they are optional dependencies of the CLI (Linux x64 only), and
 * this module is loaded by every command.
 */
export function kvmPackages(): { readonly sys: typeof LinuxSys; readonly virtKvm: typeof VirtKvm; readonly kvmParts: typeof VirtKvmImplement } {
  try {
    /* eslint-disable @typescript-eslint/no-require-imports */
    return {
      sys: require('@tsvmm/linux-sys') as typeof LinuxSys,
      virtKvm: require('@tsvmm/virt-kvm') as typeof VirtKvm,
      kvmParts: require('@tsvmm/virt-kvm/implement') as typeof VirtKvmImplement,
    };
    /* eslint-enable @typescript-eslint/no-require-imports */
  } catch (e) {
    throw new VirtError('UNAVAILABLE', { operation: 'tsvmm bench', detail: `the KVM packages could not be loaded: ${e instanceof Error ? e.message : String(e)}`, cause: e });
  }
}

export type KvmBenchPartition = Partition & LocalApicAccess;

export interface KvmBench extends Disposable {
  readonly partition: KvmBenchPartition;
  /** The system calls the bench makes itself on this partition's fds. */
  readonly sys: LinuxSys.Syscalls;
  readonly vmFd: number;
  vcpuFd(vcpu: number): number;
  /**
   * A poll of vCPU `vcpu`'s IRR bit for `vector` (`KvmPartition.irrReader`): one KVM_GET_LAPIC into a
   * preallocated page and one bit test, the same work the C harness does per poll.
   */
  irrPoller(vcpu: number, vector: number): () => boolean;
  /** Writes 1 to an eventfd this partition does not own (the C relay's). */
  writeEventFd(fd: number): void;
  /** Resolves once every signal raised so far went through the relay (no-op for kernel irqfd). */
  settle(): Promise<void>;
}

function isKvmPartition(p: Partition): p is KvmPartition {
  return p.backend === 'kvm' && typeof (p as Partial<KvmPartition>).vcpuFd === 'function' && typeof (p as Partial<KvmPartition>).vmFd === 'number';
}

/**
 * A 2-vCPU KVM partition for the benchmarks. With `kernelGsis`, kernel mode gets a routing table
 * of only that many MSI entries (beside the legacy ones), so that further routes with an MSI are
 * overflow routes, delivered by the engine's user-space path.
 */
export function openKvmBench(
  backend: BackendDescriptor | undefined,
  mode: 'kernel' | 'relay',
  options: { readonly kernelGsis?: number; readonly sys?: LinuxSys.Syscalls | undefined; readonly retargetWindowMs?: number } = {},
): KvmBench {
  if (!backend) throw new VirtError('UNAVAILABLE', { operation: 'tsvmm bench', detail: 'no kvm backend is registered' });
  const { sys: linuxSys, kvmParts } = kvmPackages();
  const { failure, libcSyscalls } = linuxSys;
  const { LEGACY_ROUTES } = kvmParts;
  const limit = options.kernelGsis === undefined ? {} : { routingEntries: LEGACY_ROUTES.length + options.kernelGsis };
  // routingEntries is a KvmPartitionOptions key, beyond the generic open options.
  const window = options.retargetWindowMs === undefined ? {} : { retargetWindowMs: options.retargetWindowMs };
  const partition = backend.open({ vcpus: 2, irqfd: mode, ...limit, ...window });
  if (!isKvmPartition(partition)) {
    partition.dispose();
    throw new VirtError('INTERNAL', { operation: 'tsvmm bench', detail: 'the kvm backend did not open a KvmPartition' });
  }
  const sys = options.sys ?? libcSyscalls();
  const one = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);
  const bench: KvmBench = {
    partition,
    sys,
    vmFd: partition.vmFd,
    vcpuFd: (v) => partition.vcpuFd(v),
    irrPoller: (vcpu, vector) => partition.irrReader(vcpu, vector),
    writeEventFd(fd) {
      const r = sys.write(fd, one, 8);
      if (r < 0) throw failure(r, 'bench: signal the C relay', `write(eventfd ${fd})`);
    },
    settle: settleFor(partition),
    [Symbol.dispose]() {
      partition.dispose();
    },
  };
  return bench;
}
