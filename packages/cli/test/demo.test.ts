import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SoftwarePartition } from '@tsvmm/virt-software';
import type { IrqFdRoute, LocalApicAccess, LocalApicState, Partition } from '@tsvmm/virt';
import type { BackendDescriptor } from '../src/backends/descriptor';
import { BACKENDS } from '../src/backends/registry';
import { main } from '../src/cli/main';
import { memoryIo } from '../src/cli/io';
import { demoHeader } from '../src/demo/header';
import { SETTLE_DEADLINE_MS, type DemoResult } from '../src/demo/run-demo';
import { openDemoPartition } from '../src/demo/select-backend';
import { type FileReadHost, openFileReadHost } from '../src/demo/file-read';
import { type X2apicHost, openX2apicHost } from '../src/demo/x2apic';
import type * as X2apicModule from '../src/demo/x2apic';
import { EventFd } from '@tsvmm/linux-sys';
import { kvmBackend, probe as probeKvm } from '@tsvmm/virt-kvm';
import { KvmKernelModel, modelRelayPlatform } from '@tsvmm/virt-kvm/testing';
import { KVM_PROBLEM, itKvm, runBin, WIDE } from './support/run-cli';

function parse(stdout: string): DemoResult {
  return JSON.parse(stdout) as DemoResult;
}

/** `target` with the members in `over` replaced; every other method bound to `target`, so that it runs on the real object. */
function overridden<T extends object>(target: T, over: { [K in keyof T]?: T[K] }): T {
  return new Proxy(target, {
    get(t, prop) {
      if (Object.prototype.hasOwnProperty.call(over, prop)) return over[prop as keyof T];
      const v = Reflect.get(t, prop, t) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
}

/** `partition`, whose irqfd makes each route with the members `over(route)` gives replaced. */
function withRoutes<P extends Partition>(partition: P, over: (route: IrqFdRoute) => { [K in keyof IrqFdRoute]?: IrqFdRoute[K] }): P {
  const irqfd = partition.irqfd()!;
  const routes = overridden(irqfd, {
    newIrqFdRoute: () => {
      const route = irqfd.newIrqFdRoute();
      return overridden(route, over(route));
    },
  });
  return overridden<Partition>(partition, { irqfd: () => routes }) as P;
}

/** A software partition whose local-APIC reads are tampered with by `fault`. */
function faulty(fault: (vcpu: number, s: LocalApicState) => LocalApicState): () => { partition: Partition & LocalApicAccess; settle: () => Promise<void> } {
  return () => {
    const real = SoftwarePartition.create({ vcpus: 2 });
    const partition = overridden(real, { readLocalApic: (vcpu: number) => fault(vcpu, real.readLocalApic(vcpu)) });
    return { partition, settle: () => Promise.resolve() };
  };
}

describe('tsvmm demo', () => {
  it('passes every observation on the software backend (--json carries only JSON)', async () => {
    const io = memoryIo();
    const code = await main(['demo', '--backend', 'software', '--json'], io);
    expect(code).toBe(0);
    const r = parse(io.stdout);
    expect(r.backend).toBe('software');
    expect(r.ok).toBe(true);
    expect(r.vcpus.map((v) => v.apicId)).toEqual([0, 1]);
    // 8 deliveries, the masked/PBA/unmask sequence and the retarget are all checked.
    expect(r.observations.filter((o) => o.section.startsWith('1.'))).toHaveLength(8);
    expect(r.observations.some((o) => /PBA/.test(o.what) && o.observed === 'PBA 0x8')).toBe(true);
    expect(r.observations.some((o) => /now → APIC 0 vector 0x60/.test(o.what) && o.ok)).toBe(true);
    expect(r.observations.every((o) => o.ok)).toBe(true);
  });

  /**
   * KVM with kernel irqfd: the KVM model in this process (its backend given to the CLI), and real
   * /dev/kvm through the built binary where it works. One body each below, run on both.
   */
  const KVM_TARGETS: { on: string; it: (name: string, fn: () => Promise<void>) => void; run(args: string[]): Promise<{ status: number | null; stdout: string }> }[] = [
    {
      on: 'the KVM model',
      it,
      async run(args) {
        const model = new KvmKernelModel({ apicIds: [0, 1] });
        const onModel: BackendDescriptor = { ...kvmBackend, probe: () => probeKvm({ sys: model }), open: (o) => kvmBackend.open({ ...o, sys: model, relayPlatform: modelRelayPlatform(model) }) };
        const io = memoryIo(WIDE);
        const status = await main(args, io, { backends: [onModel] });
        return { status, stdout: io.stdout };
      },
    },
    { on: 'real KVM', it: itKvm, run: (args) => Promise.resolve(runBin(args, undefined, WIDE)) },
  ];

  for (const target of KVM_TARGETS) {
    target.it(`passes every observation on ${target.on}, through kernel irqfd`, async () => {
      const run = await target.run(['demo', '--backend', 'kvm', '--json']);
      kvmKernelIrqfdReport(run);
    });
    target.it(`prints the same report on ${target.on}, its Backend line at the margin`, async () => {
      printsTheSameReport('kvm', await target.run(['demo', '--backend', 'kvm']));
    });
  }

  function kvmKernelIrqfdReport(run: { status: number | null; stdout: string }): void {
    expect(run.status).toBe(0);
    const r = parse(run.stdout);
    expect(r.backend).toBe('kvm');
    expect(r.irqfd).toMatch(/^kernel/);
    expect(r.ok).toBe(true);
    expect(r.observations.length).toBeGreaterThanOrEqual(15);
    // Each of the 8 vectors was seen on its own vCPU at its own vector.
    for (let e = 0; e < 8; e++) {
      const o = r.observations.find((x) => x.what.startsWith(`vector ${e} →`))!;
      expect(o.ok).toBe(true);
      expect(o.observed).toContain(`vCPU ${e % 2} IRR [0x${(0x40 + e).toString(16)}]`);
    }
  }

  // The user-space relay: on real KVM its epoll worker thread, on the model the model's relay platform.
  for (const target of KVM_TARGETS) {
    target.it(`passes every observation on ${target.on} through the user-space relay (signals in flight are awaited)`, async () => {
      const run = await target.run(['demo', '--backend', 'kvm-relay', '--json']);
      expect(run.status).toBe(0);
      const r = parse(run.stdout);
      expect(r.backend).toBe('kvm');
      expect(r.irqfd).toMatch(/^emulated/);
      expect(r.enableCommits).toBeNull();
      expect(r.ok).toBe(true);
    });
  }

  /**
   * The text report through the built binary, for one backend asked for by name: the header's first
   * line at the margin in its exact form, then the same lines on every backend (the irqfd line, the
   * partition, every check in order, each at its indent), apart from the backend's own words.
   */
  function printsTheSameReport(backend: string, run: { status: number | null; stdout: string }): void {
    expect(run.status).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`Backend: ${backend} (asked for with --backend ${backend})`);
    expect(lines[1]).toMatch(/^irqfd: \S/);
    expect(lines[2]).toBe('Partition: 2 vCPUs, APIC IDs 0 and 1 (read from the local APICs)');
    // Every line is a heading at the margin, or a check or a figure indented by exactly 2.
    for (const l of lines) expect([l, /^(\S| {2}\S|$)/.test(l)]).toEqual([l, true]);
    const ok = '  ok   ';
    expect(lines.filter((l) => l.startsWith(ok)).map((l) => l.slice(ok.length).replace(/: [^:]*$/, ''))).toEqual(CHECKS);
    expect(lines.at(-1)).toBe(`All ${CHECKS.length} observations are correct.`);
  }
  it('prints the same report on the software backend, its Backend line at the margin', () => {
    printsTheSameReport('software', runBin(['demo', '--backend', 'software'], undefined, WIDE));
  });

  it('with --backend auto, names the backend it chose at the margin: KVM where it works, else the software fallback', () => {
    const run = runBin(['demo'], undefined, WIDE);
    expect(run.status).toBe(0);
    const lines = run.stdout.split('\n');
    const header = lines.slice(0, lines.findIndex((l) => l.startsWith('irqfd: ')));
    if (KVM_PROBLEM === undefined) {
      const kvm = BACKENDS.find((b) => b.name === 'kvm')!.probe();
      expect(header[0]).toMatch(/^Backend: kvm \(the best backend on this host: /);
      const words = (t: string): string => t.replace(/\s+/g, ' ').trim();
      expect(words(header.join(' '))).toBe(words(`Backend: kvm (the best backend on this host: ${kvm.reason})`));
      for (const l of header.slice(1)) expect(l).toMatch(/^ {2}\S/);
    } else {
      expect(header[0]).toBe('Backend: software, the first usable backend in order of preference. Not usable here:');
      for (const l of header.slice(1)) expect(l).toMatch(/^ {4}/);
    }
    expect(run.stdout).toMatch(/All \d+ observations are correct\./);
  });

  describe('header', () => {
    const kvmReason = '/dev/kvm works (API version 12) with kernel irqfd.';
    /** A kvm descriptor that probes available and opens a software partition named kvm: "KVM was selected" on any host. */
    const fakeKvm: BackendDescriptor = {
      name: 'kvm',
      relayMode: true,
      probe: () => ({ backend: 'kvm', available: true, code: 'ok', reason: kvmReason }),
      open: ({ vcpus }) => {
        return overridden<Partition & LocalApicAccess>(SoftwarePartition.create({ vcpus }), { backend: 'kvm' });
      },
    };
    const withKvm = BACKENDS.map((b) => (b.name === 'kvm' ? fakeKvm : b));

    it('is one line at the margin when KVM is selected first, and when a backend is asked for by name', () => {
      expect(demoHeader({ backend: 'kvm', why: `the best backend on this host: ${kvmReason}`, passedOver: [] })).toEqual([
        `Backend: kvm (the best backend on this host: ${kvmReason})`,
      ]);
      expect(demoHeader({ backend: 'software', why: 'asked for with --backend software' })).toEqual(['Backend: software (asked for with --backend software)']);
    });

    it('wraps a long reason with its first line at the margin and the rest indented by 2', () => {
      const why = `the best backend on this host: ${'a long reason '.repeat(12).trim()}.`;
      const lines = demoHeader({ backend: 'kvm', why });
      expect(lines.length).toBeGreaterThan(1);
      expect(lines[0]).toMatch(/^Backend: kvm \(the best/);
      for (const l of lines) expect(l.length).toBeLessThanOrEqual(100);
      for (const l of lines.slice(1)) expect(l).toMatch(/^ {2}\S/);
      expect(lines.map((l) => l.trim()).join(' ')).toBe(`Backend: kvm (${why})`);
    });

    it('is printed from the selection: KVM chosen by auto (a faked KVM host) gives the KVM header, at the margin', () => {
      const dp = openDemoPartition('auto', withKvm);
      try {
        expect(dp.partition.backend).toBe('kvm');
        expect(demoHeader({ backend: dp.partition.backend, why: dp.why, passedOver: dp.passedOver })).toEqual([
          `Backend: kvm (the best backend on this host: ${kvmReason})`,
        ]);
      } finally {
        dp.partition.dispose();
      }
    });

    it('the whole text demo on a faked KVM host differs from the software run in the Backend line alone', async () => {
      const onKvm = memoryIo(WIDE);
      expect(await main(['demo'], onKvm, { backends: withKvm })).toBe(0);
      const onSoftware = memoryIo(WIDE);
      expect(await main(['demo', '--backend', 'software'], onSoftware)).toBe(0);
      const [kvmFirst, ...kvmRest] = onKvm.stdout.split('\n');
      const [softwareFirst, ...softwareRest] = onSoftware.stdout.split('\n');
      expect(kvmFirst).toBe(`Backend: kvm (the best backend on this host: ${kvmReason})`);
      expect(softwareFirst).toBe('Backend: software (asked for with --backend software)');
      expect(kvmRest).toEqual(softwareRest);
    });
  });

  it('a backend that never settles is a failed check, and the demo stops instead of hanging (exit 1)', async () => {
    const stuck = (): { partition: Partition & LocalApicAccess; settle: () => Promise<void> } => ({
      partition: SoftwarePartition.create({ vcpus: 2 }),
      settle: () => new Promise<void>(() => {}),
    });
    const json = memoryIo();
    expect(await main(['demo', '--json'], json, { demoPartition: stuck })).toBe(1);
    const r = parse(json.stdout);
    expect(r.ok).toBe(false);
    expect(r.observations.filter((o) => !o.ok)).toEqual([
      {
        section: expect.stringMatching(/^Guest driver enables MSI-X/),
        what: 'every signal raised so far delivered or latched',
        expected: `settled within ${SETTLE_DEADLINE_MS} ms`,
        observed: `not settled after ${SETTLE_DEADLINE_MS} ms`,
        ok: false,
      },
    ]);
    // Nothing after the stall was checked: its readings would not mean anything.
    expect(r.observations.map((o) => o.what)).toEqual(['local APICs software-enabled', 'every signal raised so far delivered or latched']);
    const text = memoryIo(WIDE);
    expect(await main(['demo'], text, { demoPartition: stuck })).toBe(1);
    expect(text.stdout).toContain(`  FAIL every signal raised so far delivered or latched: not settled after ${SETTLE_DEADLINE_MS} ms`);
    expect(text.stdout).toContain(`Stopped: the software backend did not settle within ${SETTLE_DEADLINE_MS} ms; the remaining checks were not made.`);
    expect(text.stdout.trimEnd().split('\n').at(-1)).toBe('1 of 2 observations are WRONG.');
  }, 4 * SETTLE_DEADLINE_MS + 10_000);

  it('exits 1 when the local APIC shows a different vector than the guest programmed', async () => {
    const io = memoryIo();
    const shifted = faulty((_v, s) => ({ ...s, irr: s.irr.map((x) => x + 1) }));
    const code = await main(['demo', '--json'], io, { demoPartition: shifted });
    expect(code).toBe(1);
    const r = parse(io.stdout);
    expect(r.ok).toBe(false);
    const wrong = r.observations.filter((o) => !o.ok);
    expect(wrong.length).toBeGreaterThanOrEqual(8);
    expect(wrong[0]!.observed).toContain('0x41');
    expect(wrong[0]!.expected).toContain('0x40');
  });

  it('exits 1 when an interrupt latched while masked is lost', async () => {
    const io = memoryIo();
    let hidden = false;
    // Hides vector 0x43 the first time it shows after the PBA step: a lost delivery at unmask.
    const lossy = faulty((_v, s) => {
      if (!hidden && s.irr.includes(0x43) && io.stdout.includes('PBA 0x8')) {
        hidden = true;
        return { ...s, irr: s.irr.filter((x) => x !== 0x43) };
      }
      return s;
    });
    const code = await main(['demo'], io, { demoPartition: lossy });
    expect(code).toBe(1);
    expect(io.stdout).toMatch(/FAIL vector 3 unmasked: delivered/);
    expect(io.stdout).toMatch(/1 of \d+ observations are WRONG\./);
  });

  /** Checks of scene 4 (the file read), before {@link X2APIC_CHECKS} at the end of {@link CHECKS}. */
  const FILE_READ_CHECKS = 4;
  /** Scene 5 (a vCPU at APIC ID 256), in order, before {@link PASSTHROUGH_CHECKS}. */
  const X2APIC_CHECKS = [
    "the vCPUs' local APICs read their APIC IDs",
    'upper MSI address (addressHi 0x100) → APIC 256 vector 0x71',
    'extended destination ID (address 0xfee00020) kept as the hypervisor reads it',
    'extended destination ID → APIC 256 vector 0x72',
    'exactly once: nothing more arrives',
  ];
  /** Scene 6 (a device assigned through VFIO), in order: the end of {@link CHECKS}. */
  const PASSTHROUGH_CHECKS = [
    'INTx asserted → IOAPIC pin 10 (level) → APIC 1 vector 0x46',
    'EOI while the device still asserts: resampled, vfio-pci unmasks, raised again',
    'the driver clears the cause, then EOI: the line stays low',
    'the assigned device has MSI-X',
    "vector 0 unmasked: its route's eventfd bound in vfio-pci",
    'nothing delivered while programming',
    'the device raises vector 0',
    'vector 0 → APIC 1 vector 0x45',
    'exactly once: nothing more arrives',
    'no guest-path errors',
  ];
  /** What the demo checks, in order: removing or skipping any check fails this list. */
  const CHECKS = [
    'local APICs software-enabled',
    'nothing delivered while programming',
    ...Array.from({ length: 8 }, (_, e) => `vector ${e} → APIC ${e % 2} vector 0x${(0x40 + e).toString(16)}`),
    'vector 3 masked, signalled: nothing delivered',
    'guest reads the PBA: bit 3 set',
    'vector 3 unmasked: delivered',
    'exactly once: nothing more arrives',
    'PBA bit 3 clear after delivery',
    'nothing delivered by the retarget itself',
    'vector 5 now → APIC 0 vector 0x60 (was APIC 1 0x45)',
    'the read completes (512 bytes of a file)',
    'completion → APIC 1 vector 0x70',
    'user space wrote no eventfd',
    'exactly once: nothing more arrives',
    ...X2APIC_CHECKS,
    ...PASSTHROUGH_CHECKS,
  ];

  it('makes every one of its checks, in order', async () => {
    const io = memoryIo();
    expect(await main(['demo', '--backend', 'software', '--json'], io)).toBe(0);
    expect(parse(io.stdout).observations.map((o) => o.what)).toEqual(CHECKS);
  });

  it('exits 1 for a stray vector in ANY local-APIC read, and blames exactly the check that read it', async () => {
    // Count the clean run's APIC reads, then corrupt each one in turn (a vector nobody programmed).
    let reads = 0;
    const counting = faulty((_v, s) => (reads++, s));
    expect(await main(['demo', '--json'], memoryIo(), { demoPartition: counting })).toBe(0);
    const vcpus = 2;
    expect(reads).toBe(vcpus + 2 * 14); // the APIC IDs, then both vCPUs' IRR for each of the 14 IRR checks
    const blamed: string[] = [];
    for (let k = vcpus; k < reads; k++) {
      let n = 0;
      const stray = faulty((_v, s) => (n++ === k ? { ...s, irr: [...s.irr, 0xee] } : s));
      const io = memoryIo();
      expect([k, await main(['demo', '--json'], io, { demoPartition: stray })]).toEqual([k, 1]);
      const wrong = parse(io.stdout).observations.filter((o) => !o.ok);
      expect([k, wrong.length]).toEqual([k, 1]);
      expect(wrong[0]!.observed).toContain('0xee');
      blamed.push(wrong[0]!.what);
    }
    // Each IRR check was caught by both of its reads (vCPU 0 and vCPU 1).
    // Scenes 4 to 6 read their own partitions (real KVM or the KVM model), not the one injected here.
    const irrChecks = CHECKS.slice(0, -(FILE_READ_CHECKS + X2APIC_CHECKS.length + PASSTHROUGH_CHECKS.length)).filter((c) => !/PBA|software-enabled/.test(c));
    expect(blamed).toEqual(irrChecks.flatMap((c) => [c, c]));
  });

  it('exits 1 when a local APIC is not software-enabled', async () => {
    const io = memoryIo();
    const disabled = faulty((v, s) => (v === 1 ? { ...s, softwareEnabled: false } : s));
    expect(await main(['demo', '--json'], io, { demoPartition: disabled })).toBe(1);
    expect(parse(io.stdout).observations.filter((o) => !o.ok).map((o) => o.what)).toEqual(['local APICs software-enabled']);
  });

  it('exits 1 when the PBA does not show the interrupt latched while masked', async () => {
    // Routes whose consumePending denies a pending signal (without draining it): the latched signal is
    // still delivered once at unmask, so only the guest's PBA read is wrong.
    const io = memoryIo();
    const denying = (): { partition: Partition & LocalApicAccess; settle: () => Promise<void> } => {
      const partition = withRoutes(SoftwarePartition.create({ vcpus: 2 }), () => ({ consumePending: () => false }));
      return { partition, settle: () => Promise.resolve() };
    };
    expect(await main(['demo', '--json'], io, { demoPartition: denying })).toBe(1);
    const wrong = parse(io.stdout).observations.filter((o) => !o.ok);
    expect(wrong.map((o) => [o.what, o.observed])).toEqual([['guest reads the PBA: bit 3 set', 'PBA 0x0']]);
  });

  describe('scene 4: a file read completes into the guest', () => {
    it('runs on real KVM where /dev/kvm works, else on the KVM model, and says which (text and JSON)', async () => {
      const json = memoryIo();
      expect(await main(['demo', '--backend', 'software', '--json'], json)).toBe(0);
      const r = parse(json.stdout);
      expect(r.fileRead.on).toBe(KVM_PROBLEM === undefined ? 'kvm' : 'model');
      const scene = r.observations.filter((o) => o.section.startsWith('4.'));
      expect(scene.map((o) => [o.what, o.observed])).toEqual([
        ['the read completes (512 bytes of a file)', '512 bytes, as written'],
        ['completion → APIC 1 vector 0x70', 'vCPU 0 IRR [], vCPU 1 IRR [0x70]'],
        ['user space wrote no eventfd', '0 write(2) calls'],
        ['exactly once: nothing more arrives', 'vCPU 0 IRR [], vCPU 1 IRR []'],
      ]);
      const text = memoryIo();
      expect(await main(['demo', '--backend', 'software'], text)).toBe(0);
      expect(text.stdout).toContain(KVM_PROBLEM === undefined ? '  on real KVM (/dev/kvm)' : '  on the KVM model (real KVM is not usable here)');
    });

    /** The scene's own host, with one part replaced: what a broken producer or wiring would look like. */
    const hostWith = (change: (h: FileReadHost) => Partial<FileReadHost>) => (): FileReadHost => {
      const h = openFileReadHost() as FileReadHost;
      return { ...h, ...change(h) };
    };

    /** A completion eventfd of the test's own, not the route's (disposed after the run). */
    const strayFd = (strays: EventFd[]): number => (strays.push(new EventFd()), strays.at(-1)!.fd);

    it.each<[string, (strays: EventFd[]) => (h: FileReadHost) => Partial<FileReadHost>, Array<[string, string]>]>([
      [
        "the completion eventfd is not the route's: nothing lands in IRR",
        (strays) => () => ({ completionFd: () => strayFd(strays) }),
        [['completion → APIC 1 vector 0x70', 'vCPU 0 IRR [], vCPU 1 IRR []']],
      ],
      [
        'user space signals the route itself: the vector lands, and the write is caught',
        (strays) => () => ({
          completionFd: (r) => {
            r.event.signal();
            return strayFd(strays);
          },
        }),
        [['user space wrote no eventfd', '1 write(2) call']],
      ],
    ])('exits 1 when %s', async (_name, change, failed) => {
      const strays: EventFd[] = [];
      const io = memoryIo();
      try {
        expect(await main(['demo', '--backend', 'software', '--json'], io, { fileReadHost: hostWith(change(strays)) })).toBe(1);
      } finally {
        for (const e of strays) e.dispose();
      }
      const wrong = parse(io.stdout).observations.filter((o) => !o.ok);
      expect(wrong.map((o) => [o.what, o.observed])).toEqual(failed);
    });

    it('a host without the Linux packages: the scene says it did not run, and the rest of the demo stands', async () => {
      const io = memoryIo();
      expect(await main(['demo', '--backend', 'software', '--json'], io, { fileReadHost: () => ({ unavailable: 'the KVM packages could not be loaded' }) })).toBe(0);
      const r = parse(io.stdout);
      expect(r.fileRead).toEqual({ on: null, why: 'the KVM packages could not be loaded' });
      expect(r.observations.filter((o) => o.section.startsWith('4.'))).toEqual([]);
    });
  });

  describe('scene 5: a vCPU above APIC ID 255 (x2APIC)', () => {
    const SCENE = '5.';
    /** The scene's readings when every part works: (check, reading) in order. */
    const READINGS = [
      ["the vCPUs' local APICs read their APIC IDs", 'APIC IDs 0 and 256'],
      ['upper MSI address (addressHi 0x100) → APIC 256 vector 0x71', 'vCPU 0 IRR [], vCPU 1 IRR [0x71]'],
      ['extended destination ID (address 0xfee00020) kept as the hypervisor reads it', 'addressHi 0x100, addressLo 0xfee00000'],
      ['extended destination ID → APIC 256 vector 0x72', 'vCPU 0 IRR [], vCPU 1 IRR [0x72]'],
      ['exactly once: nothing more arrives', 'vCPU 0 IRR [], vCPU 1 IRR []'],
    ];
    const sceneOf = (r: DemoResult): string[][] => r.observations.filter((o) => o.section.startsWith(SCENE)).map((o) => [o.what, o.observed]);
    const wrongOf = (r: DemoResult): string[][] => r.observations.filter((o) => !o.ok).map((o) => [o.what, o.observed]);

    it('runs on real KVM where /dev/kvm works, else on the KVM model, and says which (text and JSON)', async () => {
      const json = memoryIo();
      expect(await main(['demo', '--backend', 'software', '--json'], json)).toBe(0);
      const r = parse(json.stdout);
      expect(r.x2apic.on).toBe(KVM_PROBLEM === undefined ? 'kvm' : 'model');
      expect(r.x2apic.apicIds).toEqual([0, 256]);
      if (KVM_PROBLEM !== undefined) expect(r.x2apic.why).toMatch(/^real KVM is not usable here \(.*\/dev\/kvm.*\); the KVM backend runs on the KVM model/);
      expect(sceneOf(r)).toEqual(READINGS);
      const text = memoryIo(WIDE);
      expect(await main(['demo', '--backend', 'software'], text)).toBe(0);
      const lines = text.stdout.split('\n');
      const at = lines.findIndex((l) => l.startsWith(SCENE));
      expect(lines[at]).toBe(
        '5. A vCPU above APIC ID 255 (x2APIC): an irqfd route reaches APIC ID 256 by the upper MSI address, then by the extended destination ID a Linux guest writes',
      );
      expect(lines[at + 1]).toBe(
        KVM_PROBLEM === undefined
          ? '  on real KVM (/dev/kvm): x2APIC mode with 32-bit APIC IDs (KVM_CAP_X2APIC_API)'
          : '  on the KVM model (real KVM is not usable here): the KVM backend in x2APIC mode, the model delivers as KVM does',
      );
      expect(lines.slice(at + 2, at + 2 + READINGS.length)).toEqual(READINGS.map(([what, seen]) => `  ok   ${what}: ${seen}`));
    });

    it('runs on the software backend in x2APIC mode where the KVM packages do not load, and says so', async () => {
      let opened: X2apicHost | undefined;
      jest.isolateModules(() => {
        jest.doMock('../src/bench/sections/kvm-access', () => ({
          kvmPackages: () => {
            throw new Error('the KVM packages could not be loaded: not on this host');
          },
        }));
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const isolated = require('../src/demo/x2apic') as typeof X2apicModule;
        opened = isolated.openX2apicHost();
      });
      const host = opened!;
      expect(host.on).toBe('software');
      expect(host.partition.backend).toBe('software');
      const io = memoryIo();
      expect(await main(['demo', '--backend', 'software', '--json'], io, { x2apicHost: () => host })).toBe(0);
      const r = parse(io.stdout);
      expect(r.x2apic).toEqual({
        on: 'software',
        why: 'the KVM packages do not load here (the KVM packages could not be loaded: not on this host); the software backend in x2APIC mode delivers',
        apicIds: [0, 256],
      });
      expect(sceneOf(r)).toEqual(READINGS);
      // The scene disposed the partition it was handed.
      expect(host.partition.disposed).toBe(true);
    });

    /** The scene's own host, its routes' setMsi given `rewrite(address)` instead of the guest's address. */
    const rewriting = (rewrite: (address: bigint) => bigint) => (): X2apicHost => {
      const h = openX2apicHost();
      const partition = withRoutes(h.partition, (r) => ({ setMsi: (address: number | bigint, data: number) => r.setMsi(rewrite(BigInt(address)), data) }));
      return { ...h, partition };
    };
    const LOW = 0xffffffffn;
    /** Address bits 11:5, where a Linux guest writes the extended destination ID. */
    const EXT_BITS = 0x7fn << 5n;

    it('exits 1 when the upper half of the destination is lost: both messages land on APIC 0', async () => {
      const io = memoryIo();
      const lost = rewriting((a) => a & LOW & ~EXT_BITS);
      expect(await main(['demo', '--backend', 'software', '--json'], io, { x2apicHost: lost })).toBe(1);
      expect(wrongOf(parse(io.stdout))).toEqual([
        ['upper MSI address (addressHi 0x100) → APIC 256 vector 0x71', 'vCPU 0 IRR [0x71], vCPU 1 IRR []'],
        ['extended destination ID (address 0xfee00020) kept as the hypervisor reads it', 'addressHi 0x0, addressLo 0xfee00000'],
        ['extended destination ID → APIC 256 vector 0x72', 'vCPU 0 IRR [0x72], vCPU 1 IRR []'],
      ]);
    });

    it('exits 1 when only the extended destination ID is lost (bits 11:5 dropped, not moved to addressHi)', async () => {
      const io = memoryIo();
      const dropped = rewriting((a) => (a >> 32n === 0n ? a & ~EXT_BITS : a));
      expect(await main(['demo', '--backend', 'software', '--json'], io, { x2apicHost: dropped })).toBe(1);
      expect(wrongOf(parse(io.stdout))).toEqual([
        ['extended destination ID (address 0xfee00020) kept as the hypervisor reads it', 'addressHi 0x0, addressLo 0xfee00000'],
        ['extended destination ID → APIC 256 vector 0x72', 'vCPU 0 IRR [0x72], vCPU 1 IRR []'],
      ]);
    });

    it('exits 1, without throwing, on a partition that cannot name APIC IDs above 255 (xAPIC mode)', async () => {
      const io = memoryIo();
      const xapic = (): X2apicHost => {
        const partition = SoftwarePartition.create({ vcpus: 2 });
        return { partition, on: 'software', why: 'an xAPIC partition', settle: () => Promise.resolve(), [Symbol.dispose]: () => partition.dispose() };
      };
      expect(await main(['demo', '--backend', 'software', '--json'], io, { x2apicHost: xapic })).toBe(1);
      const r = parse(io.stdout);
      expect(r.x2apic.apicIds).toEqual([0, 1]);
      expect(wrongOf(r)).toEqual([
        ["the vCPUs' local APICs read their APIC IDs", 'APIC IDs 0 and 1'],
        ['upper MSI address (addressHi 0x100) → APIC 256 vector 0x71', 'refused by setMsi (INVALID_MSI)'],
        ['extended destination ID (address 0xfee00020) kept as the hypervisor reads it', 'refused by setMsi (INVALID_MSI)'],
        ['extended destination ID → APIC 256 vector 0x72', 'refused by setMsi (INVALID_MSI)'],
      ]);
    });

    it('exits 1, without throwing, on a scene partition that has no irqfd', async () => {
      const io = memoryIo();
      const bare = (): X2apicHost => {
        const h = openX2apicHost();
        return { ...h, partition: overridden(h.partition, { irqfd: () => undefined }) };
      };
      expect(await main(['demo', '--backend', 'software', '--json'], io, { x2apicHost: bare })).toBe(1);
      expect(wrongOf(parse(io.stdout))).toEqual([["an irqfd on the scene's kvm partition", 'none']]);
    });

    it("a scene partition that never settles is a failed check naming that partition's backend, and the demo stops", async () => {
      const io = memoryIo(WIDE);
      let disposed = false;
      const stuck = (): X2apicHost => {
        const h = openX2apicHost();
        return {
          ...h,
          settle: () => new Promise<void>(() => {}),
          [Symbol.dispose]: () => {
            disposed = true;
            h[Symbol.dispose]();
          },
        };
      };
      expect(await main(['demo', '--backend', 'software'], io, { x2apicHost: stuck })).toBe(1);
      expect(io.stdout).toContain(`  FAIL every signal raised so far delivered or latched: not settled after ${SETTLE_DEADLINE_MS} ms`);
      expect(io.stdout).toContain(`Stopped: the kvm backend did not settle within ${SETTLE_DEADLINE_MS} ms; the remaining checks were not made.`);
      expect(io.stdout).not.toContain('APIC 256 vector 0x71:');
      expect(disposed).toBe(true);
    }, 2 * SETTLE_DEADLINE_MS + 10_000);
  });

  describe('an unusable temp directory (TMPDIR): the scenes that need a file say they did not run, and why; the rest stands', () => {
    const notADirectory = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tsvmm-test-')), 'a-file');
    fs.writeFileSync(notADirectory, '');
    afterAll(() => fs.rmSync(path.dirname(notADirectory), { recursive: true, force: true }));
    it.each([
      ['missing', '/nonexistent-tsvmm-tmp', 'ENOENT: no such file or directory'],
      ['a file', notADirectory, 'ENOTDIR: not a directory'],
    ])('TMPDIR %s: exit 0, no stack, scenes 4 and 6 not run naming TMPDIR and the errno (text and --json)', (_name, tmp, errno) => {
      const env = { ...WIDE, TMPDIR: tmp };
      const reason = `cannot create a temporary directory in ${tmp} (TMPDIR): ${errno}; set TMPDIR to a writable directory`;
      const json = runBin(['demo', '--backend', 'software', '--json'], undefined, env);
      expect([json.status, json.stderr]).toEqual([0, '']);
      const r = parse(json.stdout);
      expect(r.ok).toBe(true);
      expect(r.fileRead).toEqual({ on: null, why: `the file it reads cannot be made: ${reason}` });
      expect(r.passthrough).toEqual({ on: null, why: `the model device's sysfs tree cannot be written: ${reason}`, device: null, boundVectors: [] });
      expect(r.observations.filter((o) => /^[46]\./.test(o.section))).toEqual([]);
      // Scene 5, after scene 4, still runs, and every check it makes is right.
      expect(r.observations.filter((o) => o.section.startsWith('5.')).map((o) => o.ok)).toEqual(X2APIC_CHECKS.map(() => true));

      const text = runBin(['demo', '--backend', 'software'], undefined, env);
      expect([text.status, text.stderr]).toEqual([0, '']);
      expect(text.stdout).not.toMatch(/internal error|\n\s+at /);
      expect(text.stdout).toContain(`  not run here: the file it reads cannot be made: ${reason}\n`);
      expect(text.stdout).toContain(`  not run here: the model device's sysfs tree cannot be written: ${reason}\n`);
      expect(text.stdout.trimEnd().split('\n').at(-1)).toBe(`All ${r.observations.length} observations are correct.`);
    });
  });

  it('rejects an unknown backend with a usage error (exit 2)', async () => {
    const io = memoryIo(WIDE);
    expect(await main(['demo', '--backend', 'qemu'], io)).toBe(2);
    expect(io.stderr).toMatch(/--backend must be one of auto, kvm, kvm-relay, mshv, whp, software, got .qemu./);
    expect(io.stderr).not.toMatch(/\n\s+at /);
  });
});
