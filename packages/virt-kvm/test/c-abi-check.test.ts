import * as kvm from '../src/abi';
import { describeCCheck, requestNumbers } from '@tsvmm/ffi/testing';

// The check covers what the backend uses: every layout field, every ioctl and every constant.
describeCCheck(
  'the KVM ABI definitions match the installed <linux/kvm.h> (compiled with cc)',
  { headers: ['linux/kvm.h'], layouts: kvm.KVM_LAYOUTS, ioctls: kvm.KVM_IOCTLS, constants: kvm.KVM_CONSTANTS },
  { atLeast: 60 },
);

test('the numbers in the reference table', () => {
  expect(requestNumbers(kvm.KVM_IOCTLS)).toMatchObject({
    KVM_SET_GSI_ROUTING: 0x4008ae6a,
    KVM_IRQFD: 0x4020ae76,
    KVM_SIGNAL_MSI: 0x4020aea5,
    KVM_GET_LAPIC: 0x8400ae8e,
    KVM_SET_LAPIC: 0x4400ae8f,
  });
});
