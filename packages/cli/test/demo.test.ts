import { SoftwarePartition } from '@tsvmm/virt-software';
import type { LocalApicAccess, LocalApicState, Partition } from '@tsvmm/virt';
import { main } from '../src/cli/main';
import { memoryIo } from '../src/cli/io';
import type { DemoResult } from '../src/demo/run-demo';
import { itKvm, runBin } from './helpers/run-cli';

function parse(stdout: string): DemoResult {
  return JSON.parse(stdout) as DemoResult;
}

/** A software partition whose local-APIC reads are tampered with by `fault`. */
function faulty(fault: (vcpu: number, s: LocalApicState) => LocalApicState): () => { partition: Partition & LocalApicAccess; settle: () => Promise<void> } {
  return () => {
    const real = SoftwarePartition.create({ vcpus: 2 });
    const partition = new Proxy(real, {
      get(target, prop, receiver) {
        if (prop === 'readLocalApic') return (vcpu: number) => fault(vcpu, target.readLocalApic(vcpu));
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
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

  itKvm('passes every observation on real KVM, through kernel irqfd', () => {
    const run = runBin(['demo', '--backend', 'kvm', '--json']);
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
  });

  itKvm('passes every observation on real KVM through the user-space relay (signals in flight are awaited)', () => {
    const run = runBin(['demo', '--backend', 'kvm-relay', '--json']);
    expect(run.status).toBe(0);
    const r = parse(run.stdout);
    expect(r.backend).toBe('kvm');
    expect(r.irqfd).toMatch(/^emulated/);
    expect(r.enableCommits).toBeNull();
    expect(r.ok).toBe(true);
  });

  it('prints the human report and exits 0 through the built binary (auto backend)', () => {
    const run = runBin(['demo']);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^Backend: (kvm|software)\b/);
    expect(run.stdout).toMatch(/All \d+ observations are correct\./);
  });

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
    const irrChecks = CHECKS.filter((c) => !/PBA|software-enabled/.test(c));
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
      const real = SoftwarePartition.create({ vcpus: 2 });
      const irqfd = real.irqfd()!;
      const lyingIrqFd = new Proxy(irqfd, {
        get(target, prop) {
          if (prop === 'newIrqFdRoute') {
            return () => {
              const route = target.newIrqFdRoute();
              return new Proxy(route, {
                get(r, p) {
                  if (p === 'consumePending') return () => false;
                  const v = Reflect.get(r, p, r) as unknown;
                  return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(r) : v;
                },
              });
            };
          }
          const v = Reflect.get(target, prop, target) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
      const partition = new Proxy(real, {
        get(target, prop) {
          if (prop === 'irqfd') return () => lyingIrqFd;
          const v = Reflect.get(target, prop, target) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
      return { partition, settle: () => Promise.resolve() };
    };
    expect(await main(['demo', '--json'], io, { demoPartition: denying })).toBe(1);
    const wrong = parse(io.stdout).observations.filter((o) => !o.ok);
    expect(wrong.map((o) => [o.what, o.observed])).toEqual([['guest reads the PBA: bit 3 set', 'PBA 0x0']]);
  });

  it('rejects an unknown backend with a usage error (exit 2)', async () => {
    const io = memoryIo();
    expect(await main(['demo', '--backend', 'qemu'], io)).toBe(2);
    expect(io.stderr).toMatch(/--backend must be one of auto, kvm, kvm-relay, mshv, whp, software, got .qemu./);
    expect(io.stderr).not.toMatch(/\n\s+at /);
  });
});
