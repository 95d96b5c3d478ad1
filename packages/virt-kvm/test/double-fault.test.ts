/**
 * The double-fault suite on the real /dev/kvm: every pair of system calls of every operation and
 * batch shape fails together; afterwards what each route reports is checked against real delivery
 * (IRR through KVM_GET_LAPIC, latched signals through consumePending), and one operation that
 * succeeds must converge every route. The model version (./model/double-fault.test.ts) also checks
 * the kernel's assigned irqfds and table directly, which KVM does not let user space read back.
 */
import { irqFdEveryPairTests } from '@tsvmm/linux-sys/testing';
import { kvmFaultAdapter } from './model/fault-adapter';
import { describeKvm } from './kvm-env';

describeKvm('every pair of system calls of every operation fails (real /dev/kvm)', () => irqFdEveryPairTests(kvmFaultAdapter({ real: true })));
