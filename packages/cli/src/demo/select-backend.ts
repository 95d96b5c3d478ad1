/**
 * Picks the demo's partition from the backend registry: the first usable backend in its order of
 * preference, and says why. Asking for a backend by name that is not there is an UNAVAILABLE error
 * (exit 3; 4 when only permission is missing), not a fallback.
 */
import { type Partition, hasLocalApicAccess } from '@tsvmm/virt';
import { CliFailure, UsageError } from '../cli/errors';
import { ExitCode } from '../cli/exit-codes';
import type { BackendDescriptor, BackendOpenOptions } from '../backends/descriptor';
import { BACKENDS, guardedProbe } from '../backends/registry';
import { settleFor } from '../backends/settle';
import { DEMO_VCPUS, type DemoPartition } from './run-demo';

const RELAY_SUFFIX = '-relay';

/** `auto`, every backend's name, and `<name>-relay` for those with a relay mode. */
export function demoChoices(backends: readonly BackendDescriptor[] = BACKENDS): string[] {
  return ['auto', ...backends.flatMap((b) => (b.relayMode ? [b.name, `${b.name}${RELAY_SUFFIX}`] : [b.name]))];
}

function open(d: BackendDescriptor, options: BackendOpenOptions, why: string): DemoPartition {
  const partition: Partition = d.open(options);
  if (!hasLocalApicAccess(partition)) {
    partition.dispose();
    throw new CliFailure(`tsvmm demo: the ${d.name} backend offers no view of the local APICs, so the demo cannot check its deliveries.`, ExitCode.Unavailable);
  }
  return { partition, settle: settleFor(partition), why };
}

export function openDemoPartition(choice: string, backends: readonly BackendDescriptor[] = BACKENDS): DemoPartition {
  if (choice === 'auto') {
    const passedOver: { backend: string; reason: string }[] = [];
    const skipped = (): string => passedOver.map((s) => `${s.backend}: ${s.reason}`).join(' ');
    for (const d of backends) {
      const p = guardedProbe(d);
      if (!p.available) {
        passedOver.push({ backend: d.name, reason: p.reason });
        continue;
      }
      const why = passedOver.length === 0 ? `the best backend on this host: ${p.reason}` : `the first usable backend in order of preference; not usable here: ${skipped()}`;
      return { ...open(d, { vcpus: DEMO_VCPUS }, why), passedOver };
    }
    throw new CliFailure(`tsvmm demo: no backend is usable here. ${skipped()}`, ExitCode.Unavailable);
  }
  const relay = choice.endsWith(RELAY_SUFFIX) && !backends.some((b) => b.name === choice);
  const name = relay ? choice.slice(0, -RELAY_SUFFIX.length) : choice;
  const d = backends.find((b) => b.name === name && (!relay || b.relayMode));
  if (!d) throw new UsageError('demo', `--backend must be one of ${demoChoices(backends).join(', ')}, got '${choice}'`);
  const p = guardedProbe(d);
  if (!p.available) {
    // The probe's reason is already a whole sentence with what to do: pass it on as it is.
    throw new CliFailure(
      `tsvmm demo --backend ${choice}: ${p.reason.replace(/\.?$/, '.')} Run 'tsvmm probe' to see what this host supports, or use --backend auto.`,
      p.code === 'permission' ? ExitCode.Permission : ExitCode.Unavailable,
      p.code === 'permission' ? 'PERMISSION' : 'UNAVAILABLE',
    );
  }
  const why = relay ? `asked for with --backend ${choice}: ${name} with the user-space relay instead of kernel irqfd` : `asked for with --backend ${choice}`;
  return open(d, relay ? { vcpus: DEMO_VCPUS, irqfd: 'relay' } : { vcpus: DEMO_VCPUS }, why);
}
