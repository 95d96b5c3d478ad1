/**
 * A host without a usable /dev/kvm, simulated by a registry whose kvm entry reports it: every command
 * must say so plainly, fall back where it should, and fail with the documented exit code where
 * KVM was asked for by name.
 */
import { VirtError } from '@tsvmm/virt';
import type { BackendDescriptor, CodedBackendProbe } from '../src/backends/descriptor';
import { BACKENDS } from '../src/backends/registry';
import { main } from '../src/cli/main';
import { memoryIo } from '../src/cli/io';
import { WIDE } from './support/run-cli';
import type { BenchResult } from '../src/bench/result';
import type { DemoResult } from '../src/demo/run-demo';
import type { ProbeReport } from '../src/probe/backends';

const missing: () => CodedBackendProbe = () => ({
  backend: 'kvm',
  available: false,
  code: 'no-device',
  reason: "open(/dev/kvm): No such file or directory (ENOENT 2) [UNAVAILABLE]. Load the kvm module.",
});
const denied: () => CodedBackendProbe = () => ({
  backend: 'kvm',
  available: false,
  code: 'permission',
  reason: 'open(/dev/kvm): Permission denied (EACCES 13) [PERMISSION]. Add yourself to the kvm group.',
});

/** The real registry with its kvm entry replaced by one that reports `probe` and cannot open. */
function hostWhere(probe: () => CodedBackendProbe): { backends: readonly BackendDescriptor[] } {
  const kvm: BackendDescriptor = {
    name: 'kvm',
    relayMode: true,
    probe,
    open() {
      throw new VirtError('UNAVAILABLE', { operation: 'open kvm', detail: 'the test host has no KVM' });
    },
  };
  return { backends: BACKENDS.map((b) => (b.name === 'kvm' ? kvm : b)) };
}

describe('on a host without KVM', () => {
  it('probe reports kvm unavailable with the reason, and the software model as what the demo would use', async () => {
    const io = memoryIo();
    expect(await main(['probe', '--json'], io, hostWhere(missing))).toBe(0);
    const r = JSON.parse(io.stdout) as ProbeReport;
    expect(r.backends[0]).toEqual(missing());
    expect(r.best).toBe('software');
  });

  it('probe --backend kvm exits 3 (missing) or 4 (permission)', async () => {
    const a = memoryIo();
    expect(await main(['probe', '--backend', 'kvm'], a, hostWhere(missing))).toBe(3);
    expect(a.stderr).toMatch(/kvm is not available: open\(\/dev\/kvm\): No such file/);
    const b = memoryIo();
    expect(await main(['probe', '--backend', 'kvm'], b, hostWhere(denied))).toBe(4);
  });

  it('probe --backend kvm says kvm is not available and names what is, never "no backend"', async () => {
    const io = memoryIo(WIDE);
    expect(await main(['probe', '--backend', 'kvm'], io, hostWhere(missing))).toBe(3);
    expect(io.stdout).not.toMatch(/No backend is available/);
    expect(io.stdout).not.toMatch(/The demo would use/);
    const tail = io.stdout.trimEnd().split('\n').slice(-2);
    expect(tail).toEqual([`kvm is not available here: ${missing().reason}`, expect.stringMatching(/^Available here: (\w+, )*software\.$/)]);
  });

  it('probe --backend kvm --json keeps the documented shape: best is null when kvm is unavailable', async () => {
    const io = memoryIo();
    expect(await main(['probe', '--backend', 'kvm', '--json'], io, hostWhere(missing))).toBe(3);
    const r = JSON.parse(io.stdout) as Record<string, unknown>;
    expect(Object.keys(r)).toEqual(['schema', 'host', 'backends', 'best', 'vfio']);
    expect(r.best).toBeNull();
    expect(r.backends).toEqual([missing()]);
  });

  it('probe --backend software --json names software as best, and the text says it is available', async () => {
    const j = memoryIo();
    expect(await main(['probe', '--backend', 'software', '--json'], j, hostWhere(missing))).toBe(0);
    const r = JSON.parse(j.stdout) as Record<string, unknown>;
    expect(Object.keys(r)).toEqual(['schema', 'host', 'backends', 'best', 'vfio']);
    expect(r.best).toBe('software');
    const t = memoryIo();
    expect(await main(['probe', '--backend', 'software'], t, hostWhere(missing))).toBe(0);
    expect(t.stdout.trimEnd().split('\n').at(-1)).toBe('software is available here.');
  });

  it('the demo falls back to the software model, says why, and passes', async () => {
    const io = memoryIo();
    expect(await main(['demo', '--json'], io, hostWhere(missing))).toBe(0);
    const r = JSON.parse(io.stdout) as DemoResult;
    expect(r.backend).toBe('software');
    expect(r.why).toMatch(/the first usable backend in order of preference; not usable here: kvm: /);
    expect(r.why).toContain('/dev/kvm');
    expect(r.ok).toBe(true);
  });

  it('the text demo names the fallback on a short line, then each passed-over backend on wrapped, indented lines', async () => {
    const io = memoryIo({ COLUMNS: '100' });
    expect(await main(['demo'], io, hostWhere(missing))).toBe(0);
    const lines = io.stdout.split('\n');
    const end = lines.findIndex((l) => l.startsWith('irqfd: '));
    const block = lines.slice(0, end);
    expect(block[0]).toBe('Backend: software, the first usable backend in order of preference. Not usable here:');
    expect(block.slice(1).filter((l) => /^ {4}\S/.test(l)).map((l) => l.trim().split(':')[0])).toEqual(['kvm', 'mshv', 'whp']);
    for (const l of block) expect(l.length).toBeLessThanOrEqual(100);
    for (const l of block.slice(1)) expect(l).toMatch(/^ {4}/);
    // Nothing of the reasons is lost to the wrapping: joined, the lines give the reasons back.
    const kvmLines = block.slice(1, block.findIndex((l) => l.startsWith('    mshv:')));
    expect(kvmLines.map((l) => l.trim()).join(' ')).toBe(`kvm: ${missing().reason}`);
  });

  it('the help describes the demo truthfully for every backend, not as a trip through the kernel', async () => {
    const io = memoryIo(WIDE);
    expect(await main(['--help'], io)).toBe(0);
    const demo = io.stdout.split('\n').find((l) => /^\s+demo\s/.test(l))!;
    expect(demo).toContain("device signal → the backend's irqfd → guest local APIC");
    expect(demo).not.toMatch(/kernel/);
  });

  it('demo --backend kvm exits 3 with one line on stderr and a JSON error on stdout, no stack', async () => {
    const io = memoryIo(WIDE);
    expect(await main(['demo', '--backend', 'kvm', '--json'], io, hostWhere(missing))).toBe(3);
    expect(io.stderr.trim().split('\n')).toHaveLength(1);
    expect(io.stderr).toMatch(/^tsvmm demo --backend kvm: open\(\/dev\/kvm\): No such file/);
    expect(io.stderr).toMatch(/Run 'tsvmm probe'/);
    expect(JSON.parse(io.stdout)).toEqual({ schema: 'tsvmm-error/1', error: expect.objectContaining({ code: 'UNAVAILABLE', exitCode: 3 }) });
  });

  it('demo --backend kvm exits 4 when only permission is missing', async () => {
    const io = memoryIo();
    expect(await main(['demo', '--backend', 'kvm'], io, hostWhere(denied))).toBe(4);
    expect(io.stderr).toMatch(/\[PERMISSION\]/);
    expect(io.stdout).toBe('');
  });

  it('bench reports the KVM metrics as not measured, saying why, and still measures the rest', async () => {
    const io = memoryIo(WIDE);
    expect(await main(['bench', '--quick', '--json', '-'], io, hostWhere(missing))).toBe(0);
    const r = JSON.parse(io.stdout) as BenchResult;
    const byName = new Map(r.metrics.map((m) => [m.name, m]));
    for (const n of ['delivery.irqfd', 'delivery.raw_write', 'delivery.relay', 'delivery.relay_c', 'delivery.overflow', 'routes.program_2048.batched', 'routes.program_2048.per_change', 'routes.setup_2048.per_route', 'routes.setup_2048.syscalls_per_route', 'retarget.storm_64.commits', 'retarget.storm_64', 'retarget.storm_512.commits', 'retarget.storm_512', 'completion.aio_to_irr', 'completion.write_to_irr']) {
      expect(byName.get(n)).toMatchObject({ value: null, baseline: null, ratio: null, skipped: expect.stringMatching(/^KVM is not available: open\(\/dev\/kvm\)/) });
    }
    expect(byName.get('msix.table_write')!.value).toBeGreaterThan(0);
    expect(byName.get('msix.enable_2048.commits')).toMatchObject({ value: 1, baseline: 2048, description: expect.stringMatching(/counting routes that commit as KVM does \(KVM is not available/) });
    expect(io.stderr).toMatch(/delivery: skipped: KVM is not available/);
    // One line for every metric skipped for the same reason.
    expect(io.stderr).toMatch(/^Not measured \(delivery\.irqfd, delivery\.raw_write, .*routes\.setup_2048\.per_change, routes\.setup_2048\.per_route, routes\.setup_2048\.syscalls_per_route, retarget\.storm_64\.commits, retarget\.storm_64, retarget\.storm_512\.commits, retarget\.storm_512, completion\.aio_to_irr, completion\.write_to_irr\): KVM is not available: open\(\/dev\/kvm\)/m);
    // The progress notes of the four KVM sections, that line, and the msix note saying where Enable was measured instead.
    expect(io.stderr.match(/KVM is not available/g)).toHaveLength(6);
    expect(io.stderr).toMatch(/^Targets: \d+ of \d+ met; 20 metrics not measured, their targets not judged\.$/m);
  });
});
