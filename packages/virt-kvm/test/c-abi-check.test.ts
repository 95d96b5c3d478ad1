import * as kvm from '../src/abi';
import { describeCCheck, requestNumbers } from '@tsvmm/ffi/testing';
import { HAND_WRITTEN_IOCTLS } from './support/kvm-raw';

// The check covers what the backend uses: every layout field, every ioctl and every constant.
describeCCheck(
  'the KVM ABI definitions match the installed <linux/kvm.h> (compiled with cc)',
  { headers: ['linux/kvm.h'], layouts: kvm.KVM_LAYOUTS, ioctls: kvm.KVM_IOCTLS, constants: kvm.KVM_CONSTANTS },
  { atLeast: 60 },
);

test("every request number written by hand from the UAPI header (./support/kvm-raw) is the backend's", () => {
  expect(HAND_WRITTEN_IOCTLS.length).toBeGreaterThanOrEqual(15);
  expect(requestNumbers(kvm.KVM_IOCTLS)).toMatchObject(requestNumbers(HAND_WRITTEN_IOCTLS));
});
