/**
 * Picks the demo's partition: KVM when /dev/kvm works, otherwise the software model, and says why.
 * Asking for a backend by name that is not there is an UNAVAILABLE error (exit 3), not a fallback.
 */
import { CliFailure } from '../cli/errors';
import { ExitCode } from '../cli/exit-codes';
import { loadKvm, loadSoftware } from '../backends/load';
import { settleFor } from '../backends/settle';
import { type KvmProber, realKvmProbe } from '../backends/kvm-probe';
import { probeMshv, probeWhp } from '../probe/native-probes';
import { DEMO_VCPUS, type DemoPartition } from './run-demo';

export type DemoBackendChoice = 'auto' | 'kvm' | 'kvm-relay' | 'software';

export function openDemoPartition(choice: DemoBackendChoice, kvmProbe: KvmProber = realKvmProbe): DemoPartition {
  if (choice === 'software') return software('asked for with --backend software');
  const kvm = kvmProbe();
  if (kvm.available) {
    const { KvmPartition } = loadKvm();
    const relay = choice === 'kvm-relay';
    const partition = KvmPartition.create({ vcpus: DEMO_VCPUS, irqfd: relay ? 'relay' : 'auto' });
    return {
      partition,
      settle: settleFor(partition),
      why:
        choice === 'auto'
          ? 'the best backend on this host: /dev/kvm is usable'
          : relay
            ? 'asked for with --backend kvm-relay: KVM with the user-space relay instead of kernel irqfd'
            : 'asked for with --backend kvm',
    };
  }
  if (choice !== 'auto') {
    // The probe's reason is already a whole sentence with its code and what to do: pass it on as it is.
    throw new CliFailure(
      `tsvmm demo --backend ${choice}: ${kvm.reason.replace(/\.?$/, '.')} Run 'tsvmm probe' to see what this host supports, or use --backend software.`,
      /permission/i.test(kvm.reason) ? ExitCode.Permission : ExitCode.Unavailable,
    );
  }
  const others = [probeMshv(), probeWhp()].filter((p) => !p.available).map((p) => `${p.backend}: ${p.reason}`);
  return software(`no hypervisor is usable here, so the in-process software model stands in. kvm: ${kvm.reason} ${others.join(' ')}`);
}

function software(why: string): DemoPartition {
  const partition = loadSoftware().SoftwarePartition.create({ vcpus: DEMO_VCPUS });
  return { partition, settle: settleFor(partition), why };
}
