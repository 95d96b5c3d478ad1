/**
 * The completion section of `tsvmm bench`: a file read completing into IRR (Linux AIO eventfd as a
 * kernel irqfd route's event) against the same route signalled from user space. Run here on the
 * scene host of the demo (real KVM where /dev/kvm works, else the KVM model with the kernel
 * signalling real eventfds beside the model's); no figure is asserted, only what was measured and
 * that every wait is bounded.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EventFd } from '@tsvmm/linux-sys';
import { VirtError } from '@tsvmm/virt';
import { memoryIo } from '../src/cli/io';
import { createProgress } from '../src/bench/progress';
import type { SectionContext } from '../src/bench/section';
import { type CompletionRig, type CompletionRigSource, completionSection } from '../src/bench/sections/completion';
import { VECTOR } from '../src/bench/sections/delivery';
import { type FileReadHost, openFileReadHost } from '../src/demo/file-read';

function context(kvmUnavailable?: string): SectionContext & { io: ReturnType<typeof memoryIo> } {
  const io = memoryIo();
  return { io, quick: true, progress: createProgress(io, 1, true), kvmUnavailable, kvm: undefined };
}

/** A rig on the demo's file-read host, with a part replaced by `change`. */
function hostRig(change: (rig: CompletionRig, host: FileReadHost) => Partial<CompletionRig> = () => ({})): CompletionRigSource {
  return (_ctx, measure) => {
    using host = openFileReadHost() as FileReadHost;
    const vcpu = 0;
    const apicId = host.partition.readLocalApic(vcpu).apicId;
    using route = host.partition.irqfd()!.newIrqFdRoute();
    route.setMsi(0xfee00000 + apicId * 0x1000, VECTOR);
    route.unmask();
    const rig: CompletionRig = {
      partition: host.partition,
      route,
      completionFd: host.completionFd(route),
      irrSet: () => host.partition.readLocalApic(vcpu).irr.includes(VECTOR),
      vcpu,
      AioContext: host.AioContext,
      where: `vCPU ${vcpu} on ${host.on}`,
    };
    return Promise.resolve(measure({ ...rig, ...change(rig, host) }));
  };
}

describe('bench: completion section', () => {
  it('measures both paths in the same rounds: the read completion against the user-space signal, with their ratio', async () => {
    const out = await completionSection(hostRig()).run(context());
    expect(out.metrics.map((m) => m.name)).toEqual(['completion.aio_to_irr', 'completion.write_to_irr']);
    const [aio, write] = out.metrics;
    // quick: a warm-up, then 6 rounds of 20 samples per path.
    expect(aio).toMatchObject({ unit: 'µs', count: 120, baselineName: 'completion.write_to_irr', baselineCount: 120 });
    expect(write).toMatchObject({ unit: 'µs', count: 120, baseline: null, ratio: null });
    expect(aio!.value).toBeGreaterThan(0);
    expect(aio!.baseline).toBe(write!.value);
    expect(aio!.ratio).toBeCloseTo(aio!.value! / write!.value!, 10);
    expect(out.distributions.map((d) => [d.name, d.count])).toEqual([
      ['completion.aio_to_irr', 120],
      ['completion.write_to_irr', 120],
    ]);
    expect(out.notes).toEqual([expect.stringMatching(/^completion: vCPU 0 on (kvm|model), 6 interleaved rounds of 20 samples each/)]);
  });

  it('fails both metrics, within its deadline, when the completion eventfd is not the route\'s (nothing lands)', async () => {
    using stray = new EventFd();
    const ctx = context();
    const out = await completionSection(hostRig(() => ({ completionFd: stray.fd }))).run(ctx);
    expect(out.metrics.map((m) => [m.name, m.value, m.failed])).toEqual([
      ['completion.aio_to_irr', null, expect.stringMatching(/IRR after the signal.*\(sampling completion\.aio_to_irr\)/)],
      ['completion.write_to_irr', null, expect.stringMatching(/sampling completion\.aio_to_irr/)],
    ]);
    expect(ctx.io.stderr).toMatch(/completion: FAILED/);
  });

  it('fails when the read does not bring the file\'s bytes', async () => {
    const out = await completionSection(
      hostRig((rig) => ({
        AioContext: {
          create: (o: never) => {
            const real = rig.AioContext.create(o);
            const getEvents = real.getEvents.bind(real);
            real.getEvents = (x) => getEvents(x).map((c) => ({ ...c, data: c.data.map((b) => b ^ 1) }));
            return real;
          },
        } as unknown as CompletionRig['AioContext'],
      })),
    ).run(context());
    expect(out.metrics.map((m) => m.failed)).toEqual([expect.stringMatching(/completed with 512 \(expected 512 bytes as written\)/), expect.any(String)]);
  });

  it('skips both metrics, saying why, without KVM, and where the host refuses Linux AIO', async () => {
    const noKvm = await completionSection().run(context('KVM is not available: no /dev/kvm here'));
    expect(noKvm.metrics.map((m) => [m.name, m.value, m.skipped])).toEqual([
      ['completion.aio_to_irr', null, 'KVM is not available: no /dev/kvm here'],
      ['completion.write_to_irr', null, 'KVM is not available: no /dev/kvm here'],
    ]);
    const refused = hostRig(() => ({
      AioContext: {
        create: () => {
          throw new VirtError('UNSUPPORTED', { operation: 'AioContext.create', detail: 'io_setup returned ENOSYS' });
        },
      } as unknown as CompletionRig['AioContext'],
    }));
    const noAio = await completionSection(refused).run(context());
    expect(noAio.metrics.map((m) => m.skipped)).toEqual([expect.stringMatching(/^Linux AIO is not available: .*ENOSYS/), expect.stringMatching(/^Linux AIO is not available/)]);
  });

  it('skips both metrics, naming TMPDIR and the errno, where the file it reads cannot be made in the temp directory', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvmm-test-'));
    const notADirectory = path.join(dir, 'a-file');
    fs.writeFileSync(notADirectory, '');
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = notADirectory;
    try {
      const out = await completionSection(hostRig()).run(context());
      const why = `the file it reads cannot be made: cannot create a temporary directory in ${notADirectory} (TMPDIR): ENOTDIR: not a directory; set TMPDIR to a writable directory`;
      expect(out.metrics.map((m) => [m.name, m.value, m.skipped])).toEqual([
        ['completion.aio_to_irr', null, why],
        ['completion.write_to_irr', null, why],
      ]);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
