/**
 * The backend registry: every command iterates one list of descriptors, decides on the probe's
 * reason code (never on its sentence), and reports a backend package that cannot load or lacks
 * its descriptor as unavailable, with a code, instead of crashing.
 */
import { VirtError } from '@tsvmm/virt';
import { FaultInjector } from '@tsvmm/linux-sys/testing';
import { kvmBackend } from '@tsvmm/virt-kvm';
import { SoftwarePartition, softwareBackend } from '@tsvmm/virt-software';
import type { BackendDescriptor, CodedBackendProbe } from '../src/backends/descriptor';
import { BACKENDS, fromPackage } from '../src/backends/registry';
import { settleFor } from '../src/backends/settle';
import { main } from '../src/cli/main';
import { memoryIo } from '../src/cli/io';
import type { DemoResult } from '../src/demo/run-demo';
import type { ProbeReport } from '../src/probe/backends';

function fake(name: string, probe: Omit<CodedBackendProbe, 'backend'>, open: BackendDescriptor['open'] = () => { throw new VirtError('UNAVAILABLE', { operation: `open ${name}`, detail: 'fake' }); }): BackendDescriptor {
  return { name, probe: () => ({ backend: name, ...probe }), open };
}

describe('backend registry', () => {
  it('lists kvm, mshv, whp and software in order, each probe with a code', async () => {
    expect(BACKENDS.map((b) => b.name)).toEqual(['kvm', 'mshv', 'whp', 'software']);
    const io = memoryIo();
    expect(await main(['probe', '--json'], io)).toBe(0);
    const r = JSON.parse(io.stdout) as ProbeReport;
    for (const b of r.backends) expect(b.code).toMatch(/^(ok|platform|no-device|permission|unsupported|missing-export|load-failed|error)$/);
    expect(r.backends.find((b) => b.backend === 'software')!.code).toBe('ok');
    if (process.platform !== 'win32') expect(r.backends.find((b) => b.backend === 'whp')!.code).toBe('platform');
  });

  it('a backend added to the list is probed, chosen by the demo and opened through its descriptor', async () => {
    let opened = 0;
    const extra: BackendDescriptor = {
      name: 'extra',
      probe: () => ({ backend: 'extra', available: true, code: 'ok', reason: 'a test backend.' }),
      open(options) {
        opened++;
        return SoftwarePartition.create({ vcpus: options.vcpus });
      },
    };
    const backends = [fake('kvm', { available: false, code: 'no-device', reason: 'none here.' }), extra, softwareBackend];
    const probe = memoryIo();
    expect(await main(['probe', '--json'], probe, { backends })).toBe(0);
    expect((JSON.parse(probe.stdout) as ProbeReport).best).toBe('extra');
    const demo = memoryIo();
    expect(await main(['demo', '--json', '--backend', 'extra'], demo, { backends })).toBe(0);
    expect(opened).toBe(1);
    expect((JSON.parse(demo.stdout) as DemoResult).ok).toBe(true);
    const auto = memoryIo();
    expect(await main(['demo', '--json'], auto, { backends })).toBe(0);
    expect(opened).toBe(2);
    expect((JSON.parse(auto.stdout) as DemoResult).why).toMatch(/not usable here: kvm: none here\./);
  });

  it('decides exit codes on the reason code, not on the wording of the sentence', async () => {
    const wordedLikePermission = [fake('kvm', { available: false, code: 'no-device', reason: 'Permission denied, says the sentence.' })];
    const a = memoryIo();
    expect(await main(['probe', '--backend', 'kvm'], a, { backends: wordedLikePermission })).toBe(3);
    const coded = [fake('kvm', { available: false, code: 'permission', reason: 'Access to the device is refused.' })];
    const b = memoryIo();
    expect(await main(['probe', '--backend', 'kvm'], b, { backends: coded })).toBe(4);
    const c = memoryIo();
    expect(await main(['demo', '--backend', 'kvm', '--json'], c, { backends: coded })).toBe(4);
    expect(JSON.parse(c.stdout)).toEqual({ schema: 'tsvmm-error/1', error: expect.objectContaining({ code: 'PERMISSION', exitCode: 4 }) });
  });

  it('reports a package that fails to load, or lacks its descriptor, as unavailable with a code', () => {
    const broken = fromPackage('kvm', '@tsvmm/virt-kvm', 'kvmBackend', () => {
      throw new Error('Cannot find module koffi');
    });
    expect(broken.probe()).toMatchObject({ backend: 'kvm', available: false, code: 'load-failed', reason: expect.stringMatching(/Cannot find module koffi/) });
    expect(() => broken.open({ vcpus: 1 })).toThrow(expect.objectContaining({ code: 'UNAVAILABLE' }));
    const old = fromPackage('kvm', '@tsvmm/virt-kvm', 'kvmBackend', () => ({ probe: () => null }));
    expect(old.probe()).toMatchObject({ available: false, code: 'missing-export', reason: expect.stringMatching(/does not export the backend descriptor kvmBackend/) });
    const renamed = fromPackage('kvm', '@tsvmm/virt-software', 'softwareBackend', () => ({ softwareBackend }));
    expect(renamed.probe().code).toBe('missing-export');
  });

  it('a probe that throws is unavailable with code error, never a crash', async () => {
    const io = memoryIo();
    const throwing: BackendDescriptor = {
      name: 'kvm',
      probe: () => {
        throw new Error('boom');
      },
      open: () => {
        throw new Error('unreachable');
      },
    };
    expect(await main(['probe', '--json'], io, { backends: [throwing, softwareBackend] })).toBe(0);
    expect((JSON.parse(io.stdout) as ProbeReport).backends[0]).toMatchObject({ available: false, code: 'error', reason: 'The probe itself failed: boom' });
  });
});

describe('the backend packages\' descriptors', () => {
  it('kvm: a missing device node is no-device, EACCES is permission, a failure of anything else is error', () => {
    expect(kvmBackend.probe({ device: '/nonexistent/kvm' })).toMatchObject({ backend: 'kvm', available: false, code: 'no-device' });
    const denied = new FaultInjector().fail('open', 13);
    expect(kvmBackend.probe({ sys: denied, device: '/dev/null' })).toMatchObject({ available: false, code: 'permission', reason: expect.stringMatching(/\[PERMISSION\]/) });
    // /dev/null opens but answers no KVM ioctl.
    expect(kvmBackend.probe({ device: '/dev/null' }).code).not.toBe('ok');
  });

  it('software: always ok, and open gives a partition with the asked vCPUs', () => {
    expect(softwareBackend.probe()).toMatchObject({ backend: 'software', available: true, code: 'ok' });
    using p = softwareBackend.open({ vcpus: 3 });
    expect(p.vcpuCount).toBe(3);
  });

  it('settle uses the irqfd\'s own settle() where it has one, and resolves at once otherwise', async () => {
    using p = SoftwarePartition.create({ vcpus: 1 });
    const irqfd = p.irqfd()!;
    const spy = jest.spyOn(irqfd as unknown as { settle: () => Promise<void> }, 'settle');
    await settleFor(p)();
    expect(spy).toHaveBeenCalledTimes(1);
    const bare = { irqfd: () => undefined } as unknown as Parameters<typeof settleFor>[0];
    await expect(settleFor(bare)()).resolves.toBeUndefined();
  });
});
