import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as kvm from '../src/abi';
import { generateCCheck } from '@tsvmm/ffi';

function compileAndRun(source: string): string[] {
  const cc = spawnSync('cc', ['--version']);
  if (cc.error || cc.status !== 0) {
    throw new Error('cc (a C compiler) is missing: install gcc (apt-get install gcc) so the ABI check can run; it is never skipped.');
  }
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-abi-'));
  try {
    writeFileSync(join(dir, 'check.c'), source);
    execFileSync('cc', ['-Wall', '-Werror', '-o', join(dir, 'check'), join(dir, 'check.c')], { stdio: 'pipe' });
    return execFileSync(join(dir, 'check'), { encoding: 'utf8' }).trim().split('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the KVM ABI definitions match the installed <linux/kvm.h> (compiled with cc)', () => {
  it('every KVM size, offset, member width, ioctl number and constant', () => {
    const check = generateCCheck({ headers: ['linux/kvm.h'], layouts: kvm.KVM_LAYOUTS, ioctls: kvm.KVM_IOCTLS, constants: kvm.KVM_CONSTANTS });
    const actual = compileAndRun(check.source);
    expect(actual).toEqual(check.expected);
    // The check covers what the backend uses: every layout field and every ioctl.
    expect(check.expected.filter((l) => l.startsWith('ioctl ')).length).toBe(kvm.KVM_IOCTLS.length);
    expect(check.expected.length).toBeGreaterThan(60);
  });

  it('a wrong definition is caught', () => {
    const wrong = { ...kvm.KVM_IRQFD_LAYOUT, size: 24 };
    const check = generateCCheck({ headers: ['linux/kvm.h'], layouts: [wrong], ioctls: [] });
    expect(compileAndRun(check.source)).not.toEqual(check.expected);
  });

  it('the numbers in the reference table', () => {
    expect(kvm.KVM_SET_GSI_ROUTING.request).toBe(0x4008ae6a);
    expect(kvm.KVM_IRQFD.request).toBe(0x4020ae76);
    expect(kvm.KVM_SIGNAL_MSI.request).toBe(0x4020aea5);
    expect(kvm.KVM_GET_LAPIC.request).toBe(0x8400ae8e);
    expect(kvm.KVM_SET_LAPIC.request).toBe(0x4400ae8f);
  });
});
