import type { PartitionCapabilities, X2apicPartitionProbe } from '@tsvmm/virt';
import type { HostLimits } from '@tsvmm/linux-sys';
import { UsageError } from './errors';
import { ExitCode, exitCodeDoc } from './exit-codes';
import { errText, outWidth } from './io';
import { DEFAULT_TEXT_WIDTH, wrapText } from '../output/wrap';
import type { Command } from './command';
import { BACKENDS, guardedProbe } from '../backends/registry';
import type { CodedBackendProbe } from '../backends/descriptor';
import { PROBE_SCHEMA, type ProbeReport, probeAll } from '../probe/backends';
import type { VfioReport } from '../probe/vfio';

function describeCapabilities(c: PartitionCapabilities): string {
  const irqfd =
    c.irqfd === 'kernel' ? 'kernel-mediated irqfd' : c.irqfd === 'emulated' ? 'emulated irqfd (user-space relay)' : 'no irqfd';
  return [
    irqfd,
    `${c.maxRoutes} routes`,
    `resample ${c.resample ? 'yes' : 'no'}`,
    `up to ${c.maxVcpus} vCPUs`,
  ].join(', ');
}

/**
 * One sentence on x2APIC: the default partition's mode and the largest APIC ID it reaches, then,
 * where the backend says (`x2apicPartition`) and the default is xAPIC, what a partition made with
 * `x2apic: true` reaches or why it cannot be made.
 */
export function describeX2apic(c: PartitionCapabilities, x: X2apicPartitionProbe | undefined): string {
  const base = `x2APIC: ${c.x2apic ? 'yes' : 'no'} in the default partition (APIC IDs up to ${c.maxApicId})`;
  if (c.x2apic || x === undefined) return base;
  return x.available ? `${base}; with \`x2apic: true\`, APIC IDs up to ${x.maxApicId}` : `${base}, nor with \`x2apic: true\`: ${x.reason}`;
}

/** What this process's confinement costs the Linux backends, in one or two lines. */
function describeLimits(l: HostLimits): string[] {
  const d = l.descriptors;
  const budget = d === undefined ? 'RLIMIT_NOFILE unknown' : `RLIMIT_NOFILE ${d.limit === Infinity ? 'unlimited' : d.limit} (${d.open} open)`;
  const out = [`Limits: ${budget}: up to ${l.routesPerPartition} irqfd routes per partition, 2 descriptors each`];
  const notes: string[] = [];
  if (l.seccomp === 'filter') notes.push('a seccomp filter is installed');
  if (l.kcmp !== 'available') {
    notes.push(
      l.eventFdIdentity === 'fdinfo'
        ? `kcmp is ${l.kcmp}, so disposal tells its own descriptors from /proc/self/fdinfo`
        : `kcmp is ${l.kcmp} and /proc/self/fdinfo cannot tell eventfds apart, so each disposed event leaves its handed-out duplicate open (raise RLIMIT_NOFILE, or allow kcmp)`,
    );
  }
  if (notes.length > 0) out.push(`Confinement: ${notes.join('; ')}.`);
  return out;
}

/**
 * The report as text, wrapped to `width` columns. `only` is the backend asked for with --backend
 * (the report then holds just it) and `elsewhere` the other backends' probes, consulted only to
 * name what is available instead.
 */
export function formatProbe(
  report: ProbeReport,
  only?: string,
  elsewhere: () => readonly CodedBackendProbe[] = () => [],
  width = DEFAULT_TEXT_WIDTH,
): string {
  // A sentence at the margin continues 2 columns in; one under a backend, under its own first word.
  const para = (text: string, indent = ''): string[] => wrapText(text, width, { first: indent, rest: indent || '  ' });
  const lines = para(`Host: ${report.host.platform} ${report.host.arch}, kernel ${report.host.release}, Node ${report.host.node}`);
  if (report.host.limits) lines.push(...describeLimits(report.host.limits).flatMap((l) => para(l)));
  lines.push('');
  const nameWidth = Math.max(...report.backends.map((b) => b.backend.length));
  for (const b of report.backends) {
    const pad = ' '.repeat(nameWidth + 2);
    lines.push(`${b.backend.padEnd(nameWidth)}  ${b.available ? 'AVAILABLE' : `unavailable (${b.code})`}`);
    if (b.capabilities) {
      lines.push(...para(describeCapabilities(b.capabilities), pad));
      lines.push(...para(describeX2apic(b.capabilities, b.x2apicPartition), pad));
      if (b.capabilities.irqfdReason) lines.push(...para(`irqfd: ${b.capabilities.irqfdReason}`, pad));
    }
    lines.push(...para(b.reason, pad), '');
  }
  lines.push(...describeVfio(report.vfio).flatMap(([text, indent]) => para(text, indent)), '');
  lines.push(...verdict(report, only, elsewhere).flatMap((l) => para(l)));
  return `${lines.join('\n')}\n`;
}

/** The VFIO section: one line per fact, then each problem with what to do; `[text, indent]` pairs. */
function describeVfio(v: VfioReport): [string, string][] {
  const yesNo = (b: boolean): string => (b ? 'yes' : 'no');
  const container = !v.container.present
    ? '/dev/vfio/vfio missing'
    : v.container.apiVersion === null
      ? '/dev/vfio/vfio present, not opened'
      : `/dev/vfio/vfio API version ${v.container.apiVersion}, type1v2 IOMMU ${yesNo(v.container.type1v2 === true)}`;
  const more = (shown: number, all: number): string => (all > shown ? ` (${all - shown} more not listed)` : '');
  const out: [string, string][] = [[`VFIO: ${v.ready ? 'READY' : 'not ready'}`, ''], [container, '  ']];
  const viable = v.groups.filter((g) => g.viable).length;
  out.push([`IOMMU groups: ${v.groupCount}${v.groupCount > 0 ? ` (${viable} of those listed viable for VFIO)` : ''}${more(v.groups.length, v.groupCount)}`, '  ']);
  for (const f of v.vfioPci) {
    const group = f.group === null ? 'no IOMMU group' : `group ${f.group}${f.blockers.length > 0 ? ' (not viable)' : ''}${f.groupAccess === false ? ' (no access)' : ''}`;
    out.push([`vfio-pci ${f.address}: ${group}${f.cdev === null ? '' : `, cdev ${f.cdev}`}`, '  ']);
  }
  out.push([`Functions bound to vfio-pci: ${v.vfioPciCount}${more(v.vfioPci.length, v.vfioPciCount)}`, '  ']);
  out.push([`iommufd (/dev/iommu) ${yesNo(v.iommufd)}, device cdevs (/dev/vfio/devices) ${yesNo(v.cdevs)}, no-IOMMU mode ${v.noIommuMode === null ? 'unknown' : v.noIommuMode ? 'ON' : 'off'}`, '  ']);
  for (const p of v.problems) out.push([`${p.what}: ${p.reason.replace(/\.$/, '')}.`, '  '], [p.hint, '    ']);
  return out;
}

function verdict(report: ProbeReport, only: string | undefined, elsewhere: () => readonly CodedBackendProbe[]): string[] {
  if (only === undefined) return [report.best ? `The demo would use: ${report.best}` : 'No backend is available.'];
  const asked = report.backends.find((b) => b.backend === only);
  if (asked?.available) return [`${only} is available here.`];
  const others = elsewhere().filter((b) => b.available && b.backend !== only).map((b) => b.backend);
  return [
    `${only} is not available here: ${asked?.reason ?? 'it was not probed.'}`,
    others.length > 0 ? `Available here: ${others.join(', ')}.` : 'No other backend is available here.',
  ];
}

function onlyBackend(value: unknown, names: readonly string[]): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && names.includes(value)) return value;
  throw new UsageError('probe', `--backend must be one of ${names.join(', ')}, got '${typeof value === 'string' ? value : typeof value}'`);
}

export const probeCommand: Command = {
  name: 'probe',
  summary: 'show which hypervisor backends this host has, and what each can do',
  usage: 'tsvmm probe [--json] [--backend <name>]',
  details:
    `Probes every backend (${BACKENDS.map((b) => b.name).join(', ')}) without changing anything on the host. For each backend: ` +
    'available or not and why, as a sentence and as a code (ok, platform, no-device, permission, unsupported, ' +
    'missing-export, load-failed, error), and its capabilities ' +
    '(kernel-mediated or emulated irqfd, route limit, resample, x2APIC and the largest APIC ID a destination reaches) on its default ' +
    'partition, then whether an x2APIC partition (the backend\'s `x2apic: true` option) is available and the largest APIC ID it reaches, or why not. ' +
    'Then VFIO: /dev/vfio/vfio and its API version, the IOMMU groups, the functions bound to vfio-pci and whether ' +
    'their groups are viable and open to this user, iommufd, device cdevs and the no-IOMMU mode; each thing missing with what to do.\n\n' +
    'With --backend, exits 3 when that backend is unavailable (4 when only permissions are missing), for scripts.\n\n' +
    `JSON (--json): { "schema": "${PROBE_SCHEMA}", "host", "backends", "best", "vfio" }, described by schemas/probe.schema.json in this package.`,
  exitCodes: [
    { code: ExitCode.Ok, meaning: 'the probe ran (with --backend: that backend is available)' },
    exitCodeDoc(ExitCode.Usage),
    { code: ExitCode.Unavailable, meaning: 'with --backend: that backend is not available here' },
    { code: ExitCode.Permission, meaning: 'with --backend: that backend is present but this user may not open it' },
    exitCodeDoc(ExitCode.IoError),
    exitCodeDoc(ExitCode.Internal),
  ],
  options: [
    { name: 'json', type: 'boolean', description: 'print one JSON object on stdout, nothing else' },
    { name: 'backend', type: 'string', valueName: 'name', description: `probe only this backend (${BACKENDS.map((b) => b.name).join(', ')}); exit 3 if it is unavailable` },
    { name: 'help', short: 'h', type: 'boolean', description: 'show this help' },
  ],
  jsonErrors: (opts) => opts.json === true,
  run(opts, { io, hooks }) {
    const registry = hooks.backends ?? BACKENDS;
    const only = onlyBackend(opts.backend, registry.map((b) => b.name));
    const report = probeAll(only ? registry.filter((b) => b.name === only) : registry, hooks.vfioProbe);
    if (opts.json === true) io.out(`${JSON.stringify(report, null, 2)}\n`);
    else io.out(formatProbe(report, only, () => registry.filter((b) => b.name !== only).map(guardedProbe), outWidth(io)));
    const chosen = report.backends[0];
    if (only && chosen && !chosen.available) {
      const permission = chosen.code === 'permission';
      // The report is already on stdout (one JSON document in --json mode); the verdict goes to stderr.
      errText(io, `tsvmm probe: ${only} is not available: ${chosen.reason}`);
      return Promise.resolve(permission ? ExitCode.Permission : ExitCode.Unavailable);
    }
    return Promise.resolve(ExitCode.Ok);
  },
};
