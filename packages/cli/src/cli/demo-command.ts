import type { Command } from './command';
import { ExitCode, exitCodeDoc } from './exit-codes';
import { errText, outWidth } from './io';
import { UsageError } from './errors';
import { VFIO_DEVICE_ENV, malformedVfioDevice, openPassthroughHost } from '../demo/passthrough';
import { wrapLine } from '../output/wrap';
import { DEMO_SCHEMA, type DemoPartition, runDemo } from '../demo/run-demo';
import { BACKENDS } from '../backends/registry';
import { demoChoices, openDemoPartition } from '../demo/select-backend';

export const demoCommand: Command = {
  name: 'demo',
  summary: "run a device interrupt end to end (device signal → the backend's irqfd → guest local APIC) and check every delivery",
  usage: `tsvmm demo [--json] [--backend ${demoChoices().join('|')}]`,
  details:
    'Creates a partition with 2 vCPUs on the best backend present (the first usable of KVM, mshv and WHP, else the software ' +
    'model, saying which) and an MSI-X device with 8 vectors (@tsvmm/pci-core), one irqfd route per vector. ' +
    'The guest side is simulated by the MMIO writes a Linux driver issues (entries programmed while masked, ' +
    'enable, unmask each); the device side signals the route events (on KVM and mshv it writes the route eventfds, ' +
    'as VFIO does, and the kernel injects; on the software model the relay delivers). It shows each vector landing ' +
    "on its vCPU and vector, read back from the local APIC; a masked vector's signal latching in the PBA and " +
    'being delivered once at unmask; and a retarget to the other vCPU. Then a file read completes into the guest: ' +
    "a Linux AIO read whose completion eventfd is an irqfd route's event, so the kernel completing the read raises " +
    'the interrupt with no write from user space (on real KVM where /dev/kvm works, else on the KVM model, saying which). ' +
    'Then a vCPU above APIC ID 255: a 2-vCPU x2APIC partition at APIC IDs 0 and 256, whose second vCPU an irqfd route reaches by ' +
    'the upper MSI address, then by the extended destination ID a Linux guest writes (on real KVM where the host allows it, else on ' +
    'the KVM model, saying which). Last, a passed-through PCI device: assigned through VFIO with AssignedPciDevice, MSI-X ' +
    "programmed as a guest driver does, the device raising vector 0 into vfio-pci's eventfd, which is the irqfd route's, read back " +
    'from IRR; on the device named by TSVMM_VFIO_DEVICE (bound to vfio-pci, on /dev/kvm), else on the VFIO kernel model and the ' +
    'KVM model, saying which.\n\n' +
    `Exits 1 if any observation is wrong, 2 if ${VFIO_DEVICE_ENV} is set to something that is not a PCI function's name (dddd:bb:dd.f, e.g. 0000:01:00.0), ` +
    `3 if the backend asked for with --backend is not available here or the device named by ${VFIO_DEVICE_ENV} cannot be used.\n\n` +
    `JSON (--json): { "schema": "${DEMO_SCHEMA}", "backend", "why", "irqfd", "vcpus", "device", "enableCommits", "observations", "fileRead", "x2apic", "passthrough", "ok" }, ` +
    'described by schemas/demo.schema.json in this package.',
  exitCodes: [
    { code: ExitCode.Ok, meaning: 'every observation was right' },
    { code: ExitCode.Failed, meaning: 'an observation was wrong, or the backend did not settle within its deadline' },
    exitCodeDoc(ExitCode.Usage),
    {
      code: ExitCode.Unavailable,
      meaning: `the backend asked for with --backend is not available here, or has no irqfd; or the device named by ${VFIO_DEVICE_ENV} cannot be used (the passthrough scene says why on its SKIPPED line)`,
    },
    { code: ExitCode.Permission, meaning: 'the backend asked for is present but this user may not open it (e.g. /dev/kvm)' },
    exitCodeDoc(ExitCode.BackendError),
    exitCodeDoc(ExitCode.IoError),
    exitCodeDoc(ExitCode.Internal),
  ],
  options: [
    { name: 'json', type: 'boolean', description: 'print one JSON object on stdout (every observation), nothing else' },
    {
      name: 'backend',
      type: 'string',
      valueName: 'name',
      description: `auto (default: the first usable of ${BACKENDS.map((b) => b.name).join(', ')}), a backend's name, or ${BACKENDS.filter((b) => b.relayMode === true).map((b) => `${b.name}-relay`).join(', ')} (through the user-space relay instead of kernel irqfd)`,
    },
    { name: 'help', short: 'h', type: 'boolean', description: 'show this help' },
  ],
  jsonErrors: (opts) => opts.json === true,
  async run(opts, { io, hooks }) {
    const choice = String(opts.backend ?? 'auto');
    const json = opts.json === true;
    const malformed = malformedVfioDevice(io.env);
    if (malformed !== undefined) throw new UsageError('demo', malformed);
    const dp: DemoPartition = hooks.demoPartition
      ? { ...hooks.demoPartition(), why: 'injected through the internal test hook' }
      : openDemoPartition(choice, hooks.backends);
    try {
      const width = outWidth(io);
      // An observation's reading continues under its check, 2 columns in; the header comes wrapped.
      const log = (line: string): void => io.out(`${wrapLine(line, width, 2).join('\n')}\n`);
      const result = await runDemo(dp, json ? undefined : log, {
        width,
        ...(hooks.fileReadHost ? { fileReadHost: hooks.fileReadHost } : {}),
        ...(hooks.x2apicHost ? { x2apicHost: hooks.x2apicHost } : {}),
        passthroughHost: hooks.passthroughHost ?? (() => openPassthroughHost(io.env)),
      });
      if (json) io.out(`${JSON.stringify(result, null, 2)}\n`);
      if (!result.ok) return ExitCode.Failed;
      // A device the user named and the demo did not use: the run did not do what was asked.
      const named = io.env[VFIO_DEVICE_ENV];
      if (named !== undefined && named !== '' && result.passthrough.on !== 'device') {
        errText(io, `tsvmm demo: ${VFIO_DEVICE_ENV}=${named} was not used: ${result.passthrough.why}`);
        return ExitCode.Unavailable;
      }
      return ExitCode.Ok;
    } finally {
      dp.partition.dispose();
    }
  },
};
