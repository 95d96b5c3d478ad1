import * as kvm from '../src/abi';
import { generateCCheck, runCCheck } from '@tsvmm/ffi';

describe('the KVM ABI definitions match the installed <linux/kvm.h> (compiled with cc)', () => {
  it('every KVM size, offset, member width, ioctl number and constant', () => {
    const check = generateCCheck({ headers: ['linux/kvm.h'], layouts: kvm.KVM_LAYOUTS, ioctls: kvm.KVM_IOCTLS, constants: kvm.KVM_CONSTANTS });
    const actual = runCCheck(check);
    expect(actual).toEqual(check.expected);
    // The check covers what the backend uses: every layout field and every ioctl.
    expect(check.expected.filter((l) => l.startsWith('ioctl ')).length).toBe(kvm.KVM_IOCTLS.length);
    expect(check.expected.length).toBeGreaterThan(60);
  });

  it('a wrong definition is caught', () => {
    const wrong = { ...kvm.KVM_IRQFD_LAYOUT, size: 24 };
    const check = generateCCheck({ headers: ['linux/kvm.h'], layouts: [wrong], ioctls: [] });
    expect(runCCheck(check)).not.toEqual(check.expected);
  });

  it('the numbers in the reference table', () => {
    expect(kvm.KVM_SET_GSI_ROUTING.request).toBe(0x4008ae6a);
    expect(kvm.KVM_IRQFD.request).toBe(0x4020ae76);
    expect(kvm.KVM_SIGNAL_MSI.request).toBe(0x4020aea5);
    expect(kvm.KVM_GET_LAPIC.request).toBe(0x8400ae8e);
    expect(kvm.KVM_SET_LAPIC.request).toBe(0x4400ae8f);
  });
});
