import * as fs from 'node:fs';
import * as path from 'node:path';
import { main } from '../src/cli/main';
import { memoryIo } from '../src/cli/io';
import type { ProbeReport } from '../src/probe/backends';
import type { BackendDescriptor } from '../src/backends/descriptor';
import { KVM_PROBLEM, WIDE, itKvm, runBin } from './support/run-cli';
import { kvmBackend, probe as probeKvm } from '@tsvmm/virt-kvm';
import { KvmKernelModel } from '@tsvmm/virt-kvm/testing';
import type { X2apicPartitionProbe } from '@tsvmm/virt';

/** What a backend's probe reports, but its name. */
type TestProbe = Omit<ReturnType<BackendDescriptor['probe']>, 'backend'>;

/** A backend of the test's own: it probes as `report` says, under `name`, and cannot be opened. */
function testBackend(name: string, report: TestProbe): BackendDescriptor {
  return {
    name,
    relayMode: false,
    probe: () => ({ backend: name, ...report }),
    open: () => {
      throw new Error('not openable');
    },
  };
}

/** An available test backend: kernel irqfd, 64 routes, resample, up to 8 vCPUs, the default partition's x2APIC mode as `apic` says; `extra` added to its report. */
function availableBackend(name: string, apic: { x2apic: boolean; maxApicId: number }, extra: Partial<TestProbe> = {}): BackendDescriptor {
  return testBackend(name, {
    available: true,
    code: 'ok',
    reason: `${name} is a test backend.`,
    capabilities: { backend: name, irqfd: 'kernel', irqfdReason: '', maxRoutes: 64, resample: true, ...apic, maxVcpus: 8 },
    ...extra,
  });
}

describe('tsvmm probe', () => {
  it('--json prints one JSON document with every backend, its availability, reason and capabilities', async () => {
    const io = memoryIo();
    expect(await main(['probe', '--json'], io)).toBe(0);
    const r = JSON.parse(io.stdout) as ProbeReport;
    expect(r.host).toEqual(expect.objectContaining({ platform: process.platform, arch: process.arch, node: process.version }));
    expect(r.backends.map((b) => b.backend)).toEqual(['kvm', 'mshv', 'whp', 'software']);
    for (const b of r.backends) {
      expect(typeof b.available).toBe('boolean');
      expect(b.reason.length).toBeGreaterThan(10);
      if (b.available) {
        expect(b.capabilities).toEqual(
          expect.objectContaining({
            backend: b.backend,
            irqfd: expect.stringMatching(/^(kernel|emulated|none)$/),
            maxRoutes: expect.any(Number),
            resample: expect.any(Boolean),
            x2apic: expect.any(Boolean),
            maxApicId: expect.any(Number),
          }),
        );
        // Without x2APIC an 8-bit destination stops at 0xFE (0xFF is the broadcast ID).
        if (!b.capabilities!.x2apic) expect(b.capabilities!.maxApicId).toBeLessThanOrEqual(0xfe);
      }
    }
    const software = r.backends.find((b) => b.backend === 'software')!;
    expect(software.available).toBe(true);
    expect(software.capabilities!.irqfd).toBe('emulated');
    // The software probe's partition is an xAPIC one: its destinations reach APIC IDs 0 to 0xFE.
    expect(software.capabilities).toMatchObject({ x2apic: false, maxApicId: 0xfe });
    const whp = r.backends.find((b) => b.backend === 'whp')!;
    if (process.platform !== 'win32') expect(whp).toMatchObject({ available: false, code: 'platform', reason: expect.stringMatching(/needs Windows on x64/) });
    expect(r.best).toBe(r.backends.find((b) => b.available)!.backend);
    expect(Object.keys(r)).toEqual(['schema', 'host', 'backends', 'best', 'vfio']);
    expect(r.schema).toBe('tsvmm-probe/1');
  });

  it('keeps best in the JSON as null when no backend is available, filtered or not, and says so in text', async () => {
    const gone = (name: string): BackendDescriptor => testBackend(name, { available: false, code: 'no-device', reason: `${name} has no device on this test host.` });
    const backends = [gone('alpha'), gone('beta')];
    for (const argv of [['probe', '--json'], ['probe', '--json', '--backend', 'beta']]) {
      const io = memoryIo();
      await main(argv, io, { backends });
      const r = JSON.parse(io.stdout) as Record<string, unknown>;
      expect(Object.keys(r)).toEqual(['schema', 'host', 'backends', 'best', 'vfio']);
      expect(r.best).toBeNull();
    }
    const all = memoryIo();
    expect(await main(['probe'], all, { backends })).toBe(0);
    expect(all.stdout.trimEnd().split('\n').at(-1)).toBe('No backend is available.');
    const one = memoryIo();
    expect(await main(['probe', '--backend', 'beta'], one, { backends })).toBe(3);
    expect(one.stdout.trimEnd().split('\n').slice(-2)).toEqual(['beta is not available here: beta has no device on this test host.', 'No other backend is available here.']);
  });

  const withoutKvm = 'without KVM, reports it unavailable with the reason';
  if (KVM_PROBLEM === undefined) {
    // A host where KVM works cannot show its absence.
    process.stderr.write(`SKIPPED "${withoutKvm}": /dev/kvm works on this host\n`);
    it.skip(`${withoutKvm} (needs a host without usable /dev/kvm)`, () => undefined);
  } else {
    it(withoutKvm, async () => {
      const io = memoryIo();
      await main(['probe', '--json'], io);
      const kvm = (JSON.parse(io.stdout) as ProbeReport).backends.find((b) => b.backend === 'kvm')!;
      expect(kvm.available).toBe(false);
      expect(kvm.reason).toMatch(/\/dev\/kvm|KVM|permission/i);
    });
  }

  /** KVM as `probe --json` reports it, through `hooks` (the KVM model) or on this host's /dev/kvm. */
  async function reportsKernelIrqfd(hooks?: Parameters<typeof main>[2]): Promise<void> {
    const io = memoryIo();
    await main(['probe', '--json'], io, hooks);
    const kvm = (JSON.parse(io.stdout) as ProbeReport).backends.find((b) => b.backend === 'kvm')!;
    expect(kvm.capabilities).toEqual(expect.objectContaining({ backend: 'kvm', irqfd: 'kernel', resample: true }));
    expect(kvm.capabilities!.maxRoutes).toBeGreaterThan(1000);
  }

  it('reports KVM on the KVM model: kernel irqfd and its route budget', async () => {
    await reportsKernelIrqfd({ backends: [{ ...kvmBackend, probe: () => probeKvm({ sys: new KvmKernelModel({ apicIds: [0] }) }) }] });
  });

  itKvm('reports KVM as this host has it: kernel irqfd and its route budget where /dev/kvm works', async () => {
    await reportsKernelIrqfd();
  });

  it("human output gives each backend's x2APIC mode and the largest APIC ID a destination reaches, as its JSON does", async () => {
    const x2 = (name: string, x2apic: boolean, maxApicId: number): BackendDescriptor => availableBackend(name, { x2apic, maxApicId });
    const backends = [x2('wide', true, 4095), x2('narrow', false, 254)];
    const text = memoryIo(WIDE);
    expect(await main(['probe'], text, { backends })).toBe(0);
    expect(text.stdout).toContain('  kernel-mediated irqfd, 64 routes, resample yes, up to 8 vCPUs\n        x2APIC: yes in the default partition (APIC IDs up to 4095)\n');
    expect(text.stdout).toContain('  kernel-mediated irqfd, 64 routes, resample yes, up to 8 vCPUs\n        x2APIC: no in the default partition (APIC IDs up to 254)\n');
    const json = memoryIo();
    expect(await main(['probe', '--json'], json, { backends })).toBe(0);
    expect((JSON.parse(json.stdout) as ProbeReport).backends.map((b) => [b.backend, b.capabilities!.x2apic, b.capabilities!.maxApicId])).toEqual([
      ['wide', true, 4095],
      ['narrow', false, 254],
    ]);
    // The real software backend, as this host probes it.
    const real = memoryIo(WIDE);
    expect(await main(['probe', '--backend', 'software'], real)).toBe(0);
    expect(real.stdout).toMatch(/^ +emulated irqfd \(user-space relay\), \d+ routes, resample yes, up to 255 vCPUs\n +x2APIC: no in the default partition \(APIC IDs up to 254\)/m);
  });

  it('gives what an x2APIC partition would reach beside the default partition, in text and JSON, or why not', async () => {
    const backend = (name: string, x2apicPartition?: { available: boolean; maxApicId: number; reason: string }): BackendDescriptor =>
      availableBackend(name, { x2apic: false, maxApicId: 254 }, x2apicPartition ? { x2apicPartition } : {});
    const backends = [
      backend('wide', { available: true, maxApicId: 4095, reason: 'x2apic: true reaches them.' }),
      backend('narrow', { available: false, maxApicId: 254, reason: 'its routes carry 8-bit destinations.' }),
      backend('older'),
    ];
    const text = memoryIo(WIDE);
    expect(await main(['probe'], text, { backends })).toBe(0);
    const block = (name: string): string[] => {
      const lines = text.stdout.split('\n');
      const start = lines.findIndex((l) => l.startsWith(`${name} `));
      return lines.slice(start + 1, lines.indexOf('', start));
    };
    // One sentence: the default partition, then what `x2apic: true` gives, never two lines that read as a contradiction.
    expect(block('wide').filter((l) => l.includes('x2APIC'))).toEqual(['        x2APIC: no in the default partition (APIC IDs up to 254); with `x2apic: true`, APIC IDs up to 4095']);
    expect(block('narrow').filter((l) => l.includes('x2APIC'))).toEqual(['        x2APIC: no in the default partition (APIC IDs up to 254), nor with `x2apic: true`: its routes carry 8-bit destinations.']);
    // A backend that does not say: the default partition's half stands alone.
    expect(block('older').filter((l) => l.includes('x2APIC'))).toEqual(['        x2APIC: no in the default partition (APIC IDs up to 254)']);
    const json = memoryIo();
    expect(await main(['probe', '--json'], json, { backends })).toBe(0);
    expect((JSON.parse(json.stdout) as ProbeReport).backends.map((b) => [b.backend, b.x2apicPartition])).toEqual([
      ['wide', { available: true, maxApicId: 4095, reason: 'x2apic: true reaches them.' }],
      ['narrow', { available: false, maxApicId: 254, reason: 'its routes carry 8-bit destinations.' }],
      ['older', undefined],
    ]);
    // The real software backend: an xAPIC default partition, and an x2APIC one reaching every 32-bit ID.
    const real = memoryIo(WIDE);
    expect(await main(['probe', '--backend', 'software'], real)).toBe(0);
    expect(real.stdout).toMatch(/^ +x2APIC: no in the default partition \(APIC IDs up to 254\); with `x2apic: true`, APIC IDs up to 4294967294\n/m);
  });

  /**
   * One body for the model and the device: the JSON's `x2apicPartition` and the text's x2APIC line
   * say the same thing (the largest APIC ID an `x2apic: true` partition reaches, or why none can be
   * made, naming the KVM call that decided it); returns the JSON's answer for the caller's own figures.
   */
  const x2apicProbeAgrees = async (options?: Parameters<typeof main>[2]): Promise<X2apicPartitionProbe> => {
    const json = memoryIo();
    expect(await main(['probe', '--json'], json, options)).toBe(0);
    const kvm = (JSON.parse(json.stdout) as ProbeReport).backends.find((b) => b.backend === 'kvm')!;
    expect(kvm.capabilities).toMatchObject({ x2apic: false });
    const x = kvm.x2apicPartition!;
    expect(x).toEqual({ available: expect.any(Boolean), maxApicId: expect.any(Number), reason: expect.stringMatching(/KVM_CAP_|KVM_GET_SUPPORTED_CPUID/) });
    const text = memoryIo(WIDE);
    expect(await main(['probe'], text, options)).toBe(0);
    const line = text.stdout.slice(text.stdout.search(/^kvm /m)).split('\n').find((l) => /^ +x2APIC: /.test(l))!;
    if (x.available) {
      expect(x.maxApicId).toBeGreaterThan(0xfe);
      expect(line).toMatch(new RegExp(`; with \`x2apic: true\`, APIC IDs up to ${x.maxApicId}$`));
    } else {
      expect(line).toContain(`, nor with \`x2apic: true\`: ${x.reason}`);
    }
    return x;
  };
  const onModel = (x2apic: boolean): Parameters<typeof main>[2] => ({ backends: [{ ...kvmBackend, probe: () => probeKvm({ sys: new KvmKernelModel({ apicIds: [0], x2apic }) }) }] });

  it('on the KVM model: KVM_CAP_MAX_VCPU_ID 4096, both KVM_CAP_X2APIC_API flags and the CPUID bit make an x2APIC partition reach APIC ID 4095; without the CPUID bit, none, saying why', async () => {
    expect(await x2apicProbeAgrees(onModel(true))).toEqual({ available: true, maxApicId: 4095, reason: expect.stringMatching(/KVM_CAP_MAX_VCPU_ID 4096/) });
    expect(await x2apicProbeAgrees(onModel(false))).toEqual({ available: false, maxApicId: 0xfe, reason: expect.stringMatching(/KVM_GET_SUPPORTED_CPUID leaf 1 ECX bit 21 is clear/) });
  });

  itKvm('reports what an x2APIC partition reaches on this KVM, in JSON and text alike', async () => {
    await x2apicProbeAgrees();
  });

  it('human output names each backend and what the demo would use', async () => {
    const io = memoryIo();
    expect(await main(['probe'], io)).toBe(0);
    for (const b of ['kvm', 'mshv', 'whp', 'software']) expect(io.stdout).toMatch(new RegExp(`^${b}\\s+(AVAILABLE|unavailable)`, 'm'));
    expect(io.stdout).toMatch(/The demo would use: (kvm|software)/);
  });

  it('--backend exits 3 for an unavailable backend, with the reason on stderr and the JSON still alone on stdout', () => {
    const run = runBin(['probe', '--backend', 'whp', '--json']);
    expect(run.status).toBe(3);
    const r = JSON.parse(run.stdout) as ProbeReport;
    expect(r.backends).toHaveLength(1);
    expect(run.stderr).toMatch(/^tsvmm probe: whp is not available: /);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('tsvmm command line', () => {
  it('prints help for the tool and every command, with the exit codes', async () => {
    for (const argv of [['--help'], ['probe', '--help'], ['demo', '-h'], ['bench', '--help'], ['help', 'bench']]) {
      const io = memoryIo();
      expect(await main(argv, io)).toBe(0);
      expect(io.stdout).toMatch(/Usage: tsvmm/);
      expect(io.stdout).toMatch(/Exit codes:/);
    }
  });

  it('prints its version', async () => {
    const io = memoryIo();
    expect(await main(['--version'], io)).toBe(0);
    expect(io.stdout).toBe(`tsvmm ${(JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version}\n`);
  });

  it('exits 2 with a one-line message for usage errors', async () => {
    for (const argv of [[], ['nope'], ['probe', '--bogus'], ['bench', '--only', 'nothing']]) {
      const io = memoryIo();
      expect(await main(argv, io)).toBe(2);
      expect(io.stdout).toBe('');
      expect(io.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('reports a usage error as JSON on stdout in --json mode', async () => {
    const io = memoryIo();
    expect(await main(['probe', '--json', '--backend', 'qemu'], io)).toBe(2);
    expect(JSON.parse(io.stdout)).toEqual({ schema: 'tsvmm-error/1', error: expect.objectContaining({ code: 'USAGE', exitCode: 2 }) });
  });
});

/** The documents that show `tsvmm probe`'s output as a sample, relative to this package. */
const PROBE_SAMPLES = ['README.md', '../../docs/troubleshooting.md'];

describe.each(PROBE_SAMPLES)("the `tsvmm probe` sample in %s", (doc) => {
  /** The paragraph of `text` that starts with `head` (up to the next blank line). */
  const paragraph = (text: string, head: RegExp): string | undefined => text.split('\n\n').find((p) => head.test(p));
  const text = fs.readFileSync(path.resolve(__dirname, '..', doc), 'utf8');
  const sample = /```\n\$ tsvmm probe\n([\s\S]*?)```/.exec(text)?.[1] ?? '';

  it('shows the software backend (the same on every host) exactly as `tsvmm probe` prints it at 80 columns', () => {
    const run = runBin(['probe'], undefined, { COLUMNS: '80' });
    expect(run.status).toBe(0);
    const printed = paragraph(run.stdout, /^software {2}AVAILABLE/);
    expect(printed).toBeDefined();
    expect(paragraph(sample, /^software {2}AVAILABLE/)).toBe(printed);
  });

  it('has every section `tsvmm probe` prints, in its order (Host, Limits, each backend, VFIO, the demo\'s choice)', () => {
    const run = runBin(['probe'], undefined, { COLUMNS: '80' });
    const heads = (text: string): string[] => text.split('\n').filter((l) => /^\S/.test(l)).map((l) => /^(\S+:?)/.exec(l)![1]!);
    expect(heads(sample)).toEqual(heads(run.stdout));
  });
});
