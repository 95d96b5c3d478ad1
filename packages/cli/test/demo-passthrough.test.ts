/**
 * The demo's passthrough scene (scene 6): a device assigned with AssignedPciDevice, MSI-X programmed
 * as a guest driver does, the device raising vector 0 into the route's eventfd, read back from IRR.
 * The same body runs on the VFIO kernel model and, where TSVMM_VFIO_DEVICE names a function bound
 * to vfio-pci and /dev/kvm works, on that device; a wrong delivery is a failed check.
 */
import { memoryIo } from '../src/cli/io';
import { main } from '../src/cli/main';
import type { DemoResult } from '../src/demo/run-demo';
import { type PassthroughHost, type PassthroughUnavailable, VFIO_DEVICE_ENV, openPassthroughHost } from '../src/demo/passthrough';
import { KVM_PROBLEM } from './support/run-cli';

const SECTION = /^6\. A passed-through PCI device/;

async function demo(passthroughHost: () => PassthroughHost | PassthroughUnavailable): Promise<{ code: number; r: DemoResult; text: string }> {
  const io = memoryIo();
  const code = await main(['demo', '--backend', 'software', '--json'], io, { passthroughHost });
  const text = memoryIo();
  await main(['demo', '--backend', 'software'], text, { passthroughHost });
  return { code, r: JSON.parse(io.stdout) as DemoResult, text: text.stdout };
}

const sceneChecks = (r: DemoResult): DemoResult['observations'] => r.observations.filter((o) => SECTION.test(o.section));

/** The model always; the named device where the host has one and /dev/kvm works. */
const TARGETS: { on: 'model' | 'device'; skip: string | undefined; env: NodeJS.ProcessEnv }[] = [
  { on: 'model', skip: undefined, env: {} },
  {
    on: 'device',
    skip:
      process.env[VFIO_DEVICE_ENV] === undefined
        ? `${VFIO_DEVICE_ENV} names no PCI function bound to vfio-pci on this host`
        : KVM_PROBLEM !== undefined
          ? `/dev/kvm is not usable here (${KVM_PROBLEM})`
          : undefined,
    env: process.env,
  },
];

describe('tsvmm demo: the passthrough scene', () => {
  for (const target of TARGETS) {
    if (target.skip !== undefined) {
      it.skip(`on the ${target.on}: SKIPPED, ${target.skip}`, () => {});
      console.warn(`SKIPPED passthrough scene on a real device: ${target.skip}`);
      continue;
    }
    it(`on the ${target.on}: assigns the device, binds vector 0 at unmask, and the device's vector lands in vCPU 1's IRR`, async () => {
      const { code, r, text } = await demo(() => openPassthroughHost(target.env));
      expect(code).toBe(0);
      expect(r.passthrough.on).toBe(target.on);
      expect(r.passthrough.boundVectors).toEqual([0]);
      const checks = sceneChecks(r);
      expect(checks.filter((o) => !o.ok)).toEqual([]);
      expect(checks.map((o) => o.what)).toEqual(
        expect.arrayContaining(["vector 0 unmasked: its route's eventfd bound in vfio-pci", 'no guest-path errors']),
      );
      if (target.on === 'model') {
        expect(r.passthrough.device).toBe('0000:01:00.0');
        expect(r.passthrough.why).toMatch(/^no device is named \(TSVMM_VFIO_DEVICE\): the VFIO kernel model's device/);
        expect(checks.find((o) => o.what === 'vector 0 → APIC 1 vector 0x45')).toMatchObject({ observed: 'vCPU 0 IRR [], vCPU 1 IRR [0x45]', ok: true });
        // INTx once, on the KVM model's level route: asserted, EOI'd while asserted (re-raised), then cleared and EOI'd.
        expect(checks.slice(0, 3).map((o) => [o.what, o.observed])).toEqual([
          ['INTx asserted → IOAPIC pin 10 (level) → APIC 1 vector 0x46', 'vCPU 0 IRR [], vCPU 1 IRR [0x46]'],
          ['EOI while the device still asserts: resampled, vfio-pci unmasks, raised again', 'vCPU 0 IRR [], vCPU 1 IRR [0x46]'],
          ['the driver clears the cause, then EOI: the line stays low', 'vCPU 0 IRR [], vCPU 1 IRR []'],
        ]);
        expect(text).toContain("  on the VFIO kernel model's device and the KVM model (no device named in\n");
      } else {
        expect(r.passthrough.device).toBe(process.env[VFIO_DEVICE_ENV]);
      }
    });
  }

  type Check = ReturnType<typeof sceneChecks>[number];
  // The scene's own host with one part broken (what a broken device or wiring looks like), and the
  // failed checks it must show, each read as the row says.
  it.each<[string, (host: PassthroughHost) => PassthroughHost, (o: Check) => unknown, unknown[]]>([
    [
      'a device raise that reaches no vCPU is a failed check, and the demo exits 1',
      // The device claims it signalled, but nothing is written to the route's eventfd.
      (host) => ({ ...host, raise: () => 'signalled' }),
      (o) => [o.what, o.expected, o.observed],
      [['vector 0 → APIC 1 vector 0x45', 'vCPU 0 IRR [], vCPU 1 IRR [0x45]', 'vCPU 0 IRR [], vCPU 1 IRR []']],
    ],
    [
      'an INTx assertion that reaches no vCPU is a failed check, and so is the EOI that finds nothing to resample',
      // The device claims it asserted, but vfio-pci never sees the line.
      (host) => (host.intx === undefined ? host : { ...host, intx: { ...host.intx, assert: () => 'signalled' } }),
      (o) => [o.what, o.observed],
      [
        ['INTx asserted → IOAPIC pin 10 (level) → APIC 1 vector 0x46', 'vCPU 0 IRR [], vCPU 1 IRR []'],
        ['EOI while the device still asserts: resampled, vfio-pci unmasks, raised again', 'vCPU 0 IRR [], vCPU 1 IRR []'],
      ],
    ],
    [
      'a device whose vector is not delivered (the model reports it masked) is a failed check',
      (host) => ({ ...host, raise: () => 'masked' }),
      (o) => o.what,
      ['the device raises vector 0', 'vector 0 → APIC 1 vector 0x45'],
    ],
  ])('%s', async (_title, breakIt, read, failed) => {
    const broken = (): PassthroughHost | PassthroughUnavailable => {
      const host = openPassthroughHost({});
      return 'unavailable' in host ? host : breakIt(host);
    };
    const { code, r } = await demo(broken);
    expect(code).toBe(1);
    expect(sceneChecks(r).filter((o) => !o.ok).map(read)).toEqual(failed);
  });

  it('where it cannot run, says why, records on: null, and the other scenes still pass', async () => {
    const { code, r, text } = await demo(() => ({ unavailable: 'the VFIO and KVM packages do not load here (test)' }));
    expect(code).toBe(0);
    expect(r.passthrough).toEqual({ on: null, why: 'the VFIO and KVM packages do not load here (test)', device: null, boundVectors: [] });
    expect(sceneChecks(r)).toEqual([]);
    expect(text).toContain('  not run here: the VFIO and KVM packages do not load here (test)\n');
  });

  it('a named device that cannot be opened is reported with the typed error', () => {
    const r = openPassthroughHost({ [VFIO_DEVICE_ENV]: '0000:7f:1f.7' });
    expect(r).toEqual({
      unavailable: expect.stringMatching(/^TSVMM_VFIO_DEVICE=0000:7f:1f\.7 could not be opened: VfioDevice\.open: there is no PCI function 0000:7f:1f\.7 .*\[UNAVAILABLE\]/),
      named: '0000:7f:1f.7',
    });
    const bad = openPassthroughHost({ [VFIO_DEVICE_ENV]: '01:00.0' });
    expect(bad).toEqual({ unavailable: expect.stringMatching(/could not be opened: .*address must be a PCI name .*\[INVALID_ARGUMENT\]/), named: '01:00.0' });
  });

  it.each(['bogus', '01:00.0', '0000:01:00.0 ', '0000:01:00.8', '0000:01:20.0', '0000:0A:00.0'])('a malformed %j is a usage error naming the variable and the form, exit 2, before anything runs (text and JSON)', async (value) => {
    const env = { [VFIO_DEVICE_ENV]: value, COLUMNS: '1000' };
    let opened = 0;
    const hooks = { passthroughHost: () => (opened++, { unavailable: 'not reached' }) };
    const text = memoryIo(env);
    expect(await main(['demo', '--backend', 'software'], text, hooks)).toBe(2);
    expect(text.stdout).toBe('');
    expect(text.stderr).toBe(`tsvmm demo: TSVMM_VFIO_DEVICE must name a PCI function as dddd:bb:dd.f in lower-case hex (e.g. 0000:01:00.0), got '${value}'. Run 'tsvmm demo --help' for usage.\n`);
    const json = memoryIo(env);
    expect(await main(['demo', '--backend', 'software', '--json'], json, hooks)).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ schema: 'tsvmm-error/1', error: { code: 'USAGE' } });
    expect(opened).toBe(0);
  });

  it('a device the user named and the demo could not use: a SKIPPED line saying why, one line on stderr, exit 3 (text and JSON)', async () => {
    const env = { [VFIO_DEVICE_ENV]: '0000:7f:1f.7', COLUMNS: '1000' };
    const text = memoryIo(env);
    expect(await main(['demo', '--backend', 'software'], text)).toBe(3);
    expect(text.stdout).toMatch(/^ {2}SKIPPED: TSVMM_VFIO_DEVICE=0000:7f:1f\.7 could not be opened: .*\[UNAVAILABLE\]/m);
    expect(text.stdout).not.toMatch(/not run here: TSVMM_VFIO_DEVICE/);
    expect(text.stderr).toMatch(/^tsvmm demo: TSVMM_VFIO_DEVICE=0000:7f:1f\.7 was not used: TSVMM_VFIO_DEVICE=0000:7f:1f\.7 could not be opened: .*\n$/);
    expect(text.stderr.trimEnd().split('\n')).toHaveLength(1);
    const json = memoryIo(env);
    expect(await main(['demo', '--backend', 'software', '--json'], json)).toBe(3);
    const r = JSON.parse(json.stdout) as DemoResult;
    expect([r.ok, r.passthrough.on, r.passthrough.why]).toEqual([true, null, expect.stringMatching(/^TSVMM_VFIO_DEVICE=0000:7f:1f\.7 could not be opened/)]);
    // Naming nothing (empty) is the model, exit 0.
    expect(await main(['demo', '--backend', 'software'], memoryIo({ [VFIO_DEVICE_ENV]: '' }))).toBe(0);
  });
});
