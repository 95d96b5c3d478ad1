/**
 * The `tsvmm demo` samples in the documents, held to what the demo prints at 80 columns (stdout on
 * a pipe). A sample may be abridged: a line `...` stands for lines left out, and every run of lines
 * between two such marks must be printed as it is, in order.
 *
 * The KVM samples are compared with the demo run in this process on the KVM model (the same KVM
 * backend code, the model's probe answering as /dev/kvm does). Scenes 4 and 5 run there with their
 * hosts named as real KVM, so that the line each scene prints on real /dev/kvm is checked too; the
 * observations under them are the model's. The software-fallback sample is compared with the demo
 * on a host whose /dev/kvm and /dev/mshv are missing (the KVM and mshv models answering ENOENT), and,
 * where this host is such a host, with the built binary's own output.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ENOENT } from '@tsvmm/linux-sys';
import { kvmBackend, probe as probeKvm } from '@tsvmm/virt-kvm';
import { KvmKernelModel, modelRelayPlatform } from '@tsvmm/virt-kvm/testing';
import { mshvBackend, probe as probeMshv } from '@tsvmm/virt-mshv';
import { MshvKernelModel } from '@tsvmm/virt-mshv/testing';
import type { BackendDescriptor } from '../src/backends/descriptor';
import { BACKENDS } from '../src/backends/registry';
import { main } from '../src/cli/main';
import { memoryIo } from '../src/cli/io';
import { openFileReadHost } from '../src/demo/file-read';
import { openX2apicHost } from '../src/demo/x2apic';
import { KVM_PROBLEM, runBin } from './support/run-cli';

const NARROW = { COLUMNS: '80' } as const;

/** The text of the document at `doc` (relative to this package). */
function read(doc: string): string {
  return fs.readFileSync(path.resolve(__dirname, '..', doc), 'utf8');
}

/** The fenced blocks of `text`, each as its lines (fences left out). */
function blocks(text: string): string[][] {
  const found: string[][] = [];
  let open: string[] | undefined;
  for (const l of text.split('\n')) {
    if (l.startsWith('```')) {
      if (open) found.push(open);
      open = open ? undefined : [];
    } else open?.push(l);
  }
  return found;
}

/** The lines of the first fenced block of `text` whose body starts with `head` (a `$ tsvmm demo` line before it is dropped). */
function sampleOf(text: string, head: string): string[] | undefined {
  return blocks(text)
    .map((b) => (b[0] === '$ tsvmm demo' ? b.slice(1) : b))
    .find((b) => b[0]?.startsWith(head));
}

/**
 * The first run of `sample`'s lines (between `...` marks) that `printed` does not have in order
 * after the runs before it, or undefined when every run is there. The first run must start the
 * output, and the last must end it unless the sample ends with `...`.
 */
function missingRun(sample: readonly string[], printed: readonly string[]): string | undefined {
  const runs: string[][] = [[]];
  for (const l of sample) {
    if (l === '...') runs.push([]);
    else runs.at(-1)!.push(l);
  }
  let at = 0;
  for (const [i, run] of runs.entries()) {
    if (run.length === 0) continue;
    const same = (from: number): boolean => run.every((l, k) => printed[from + k] === l);
    let found = -1;
    if (i === 0) found = same(0) ? 0 : -1;
    else for (let from = at; from + run.length <= printed.length && found < 0; from++) if (same(from)) found = from;
    if (i === runs.length - 1 && runs.length > 1 && found >= 0 && found + run.length !== printed.length) found = -1;
    if (runs.length === 1 && printed.length !== run.length) found = -1;
    if (found < 0) return run.join('\n');
    at = found + run.length;
  }
  return undefined;
}

/** The demo's stdout lines, run in this process with `options`, and its exit code. */
async function demo(options: Parameters<typeof main>[2]): Promise<{ code: number; lines: string[] }> {
  const io = memoryIo(NARROW);
  const code = await main(['demo'], io, options);
  return { code, lines: io.stdout.replace(/\n$/, '').split('\n') };
}

/** The KVM descriptor on a KVM model with vCPUs at APIC IDs 0 and 1. */
function kvmOnModel(): BackendDescriptor {
  const model = new KvmKernelModel({ apicIds: [0, 1] });
  return { ...kvmBackend, probe: () => probeKvm({ sys: model }), open: (o) => kvmBackend.open({ ...o, sys: model, relayPlatform: modelRelayPlatform(model) }) };
}

/** The demo with KVM chosen (on the model), scenes 4 and 5 on the model named as real KVM. */
function kvmDemo(): Promise<{ code: number; lines: string[] }> {
  return demo({
    backends: [kvmOnModel()],
    fileReadHost: () => {
      const h = openFileReadHost();
      return 'unavailable' in h ? h : Object.assign(Object.create(h) as typeof h, { on: 'kvm' as const });
    },
    x2apicHost: () => Object.assign(Object.create(openX2apicHost()) as ReturnType<typeof openX2apicHost>, { on: 'kvm' as const }),
  });
}

/** A KVM model whose /dev/kvm does not exist. */
class NoKvmNode extends KvmKernelModel {
  override open(): number {
    return -ENOENT;
  }
}

/** The backends of a Linux x64 host without /dev/kvm and /dev/mshv: the same order and probes as the registry's. */
function noHypervisorBackends(): BackendDescriptor[] {
  const noKvm = new NoKvmNode({ apicIds: [0] });
  const noMshv = new MshvKernelModel({ device: 'missing' });
  return BACKENDS.map((b) =>
    b.name === 'kvm' ? { ...kvmBackend, probe: () => probeKvm({ sys: noKvm }) } : b.name === 'mshv' ? { ...mshvBackend, probe: () => probeMshv({ sys: noMshv }) } : b,
  );
}

/** Documents with the KVM sample, relative to this package, and the line its block starts with. */
const KVM_SAMPLES = ['README.md', '../../README.md'];
const KVM_HEAD = 'Backend: kvm (';
/** Documents with the software-fallback sample. */
const FALLBACK_SAMPLES = ['README.md'];
const FALLBACK_HEAD = 'Backend: software, the first usable backend';

describe.each(KVM_SAMPLES)('the KVM `tsvmm demo` sample in %s', (doc) => {
  const sample = sampleOf(read(doc), KVM_HEAD);

  it('is what the demo prints at 80 columns with KVM chosen (abridged only at `...`)', async () => {
    expect(sample).toBeDefined();
    const run = await kvmDemo();
    expect(run.code).toBe(0);
    expect(missingRun(sample!, run.lines)).toBeUndefined();
  });

  it('has no line wider than 80 columns', () => {
    expect(sample!.filter((l) => [...l].length > 80)).toEqual([]);
  });
});

describe.each(FALLBACK_SAMPLES)('the software-fallback `tsvmm demo` sample in %s', (doc) => {
  const sample = sampleOf(read(doc), FALLBACK_HEAD);

  it('is what the demo prints at 80 columns on a Linux x64 host without /dev/kvm and /dev/mshv (abridged only at `...`)', async () => {
    expect(sample).toBeDefined();
    const run = await demo({ backends: noHypervisorBackends() });
    expect(run.code).toBe(0);
    expect(missingRun(sample!, run.lines)).toBeUndefined();
  });

  const hostProblem =
    process.platform !== 'linux' || process.arch !== 'x64'
      ? `this host is ${process.platform} ${process.arch}, not linux x64`
      : KVM_PROBLEM === undefined
        ? '/dev/kvm is usable here, so the demo does not fall back'
        : fs.existsSync('/dev/mshv')
          ? '/dev/mshv exists here, so its reason differs'
          : undefined;
  if (hostProblem === undefined) {
    it('is what the built binary prints here, on a pipe', () => {
      const run = runBin(['demo'], undefined, NARROW);
      expect(run.status).toBe(0);
      expect(missingRun(sample!, run.stdout.replace(/\n$/, '').split('\n'))).toBeUndefined();
    });
  } else {
    process.stderr.write(`SKIPPED "the built binary's fallback output in ${doc}": ${hostProblem}; the same sample is checked in this process on the models\n`);
    it.skip(`is what the built binary prints here (${hostProblem})`, () => undefined);
  }
});

describe('missingRun', () => {
  const printed = ['a', 'b', 'c', 'd', 'e'];
  it('takes a sample abridged at `...` when each run is printed in order', () => {
    expect(missingRun(['a', 'b', '...'], printed)).toBeUndefined();
    expect(missingRun(['a', '...', 'c', 'd', '...', 'e'], printed)).toBeUndefined();
    expect(missingRun(['a', 'b', 'c', 'd', 'e'], printed)).toBeUndefined();
  });
  it('names the run that is not printed as it stands', () => {
    expect(missingRun(['b', '...'], printed)).toBe('b');
    expect(missingRun(['a', '...', 'd', 'c', '...'], printed)).toBe('d\nc');
    expect(missingRun(['a', '...', 'd'], printed)).toBe('d');
    expect(missingRun(['a', 'b'], printed)).toBe('a\nb');
    expect(missingRun(['a', '...', 'c', '...', 'b', '...'], printed)).toBe('b');
  });
});
