/**
 * The KVM ioctls tsvmm issues, one typed function each (numbers and layouts in `./abi`), made by
 * `ioctlCall` of `@tsvmm/linux-sys`. Each returns what the system call returned: the result, or
 * `-errno`; callers turn failures into typed errors with `check` / `failure`, or decide what a
 * failure means for their state.
 */
import { ioctlCall, ioctlCallWithoutArg } from '@tsvmm/linux-sys';
import * as kvm from './abi';

/** KVM_GET_API_VERSION on /dev/kvm (`fd`): 12 on every kernel since 2.6.22. */
export const getApiVersion = ioctlCallWithoutArg(kvm.KVM_GET_API_VERSION);
/** KVM_CHECK_EXTENSION on /dev/kvm or a VM, `arg` the capability (see `KVM_CAP`): > 0 when present; some report a number. */
export const checkExtensionRaw = ioctlCall<number>(kvm.KVM_CHECK_EXTENSION);
/** KVM_CREATE_VM on /dev/kvm (machine type 0): the new VM fd. */
export const createVm = ioctlCallWithoutArg(kvm.KVM_CREATE_VM);
/** KVM_CREATE_IRQCHIP on a VM: the in-kernel PIC, IOAPIC and local APICs, with the default routes of GSIs 0-23. */
export const createIrqchip = ioctlCallWithoutArg(kvm.KVM_CREATE_IRQCHIP);
/** KVM_CREATE_VCPU on a VM, `arg` the vCPU id (it becomes its APIC ID): the new vCPU fd. */
export const createVcpu = ioctlCall<number>(kvm.KVM_CREATE_VCPU);
/** KVM_IRQFD on a VM with a `struct kvm_irqfd`: a level route's resample irqfd (MSI routes' irqfds are the shared engine's, as is KVM_SET_GSI_ROUTING). */
export const irqfd = ioctlCall<Uint8Array>(kvm.KVM_IRQFD);
/** KVM_SIGNAL_MSI on a VM with a `struct kvm_msi`: > 0 delivered, 0 blocked by the guest. */
export const signalMsi = ioctlCall<Uint8Array>(kvm.KVM_SIGNAL_MSI);
/** KVM_GET_LAPIC on a vCPU into a 1024-byte `struct kvm_lapic_state`. */
export const getLapic = ioctlCall<Uint8Array>(kvm.KVM_GET_LAPIC);
/** KVM_SET_LAPIC on a vCPU from a 1024-byte `struct kvm_lapic_state`. */
export const setLapic = ioctlCall<Uint8Array>(kvm.KVM_SET_LAPIC);
/** KVM_ENABLE_CAP on a VM with a `struct kvm_enable_cap` (`cap`, `flags` 0, `args`). */
export const enableCap = ioctlCall<Uint8Array>(kvm.KVM_ENABLE_CAP);
/** KVM_SET_CPUID2 on a vCPU with a `struct kvm_cpuid2` header and its entries. */
export const setCpuid2 = ioctlCall<Uint8Array>(kvm.KVM_SET_CPUID2);
/** KVM_GET_SUPPORTED_CPUID on /dev/kvm into a `struct kvm_cpuid2` header with room for `nent` entries; 0, or -E2BIG when `nent` is too small. */
export const getSupportedCpuid = ioctlCall<Uint8Array>(kvm.KVM_GET_SUPPORTED_CPUID);
/** KVM_GET_MSRS on a vCPU: reads into the `struct kvm_msrs` entries' `data`; returns how many were read. */
export const getMsrs = ioctlCall<Uint8Array>(kvm.KVM_GET_MSRS);
/** KVM_SET_MSRS on a vCPU (host-initiated writes); returns how many were written, stopping at the first refused. */
export const setMsrs = ioctlCall<Uint8Array>(kvm.KVM_SET_MSRS);
/** KVM_GET_IRQCHIP on a VM with a `struct kvm_irqchip` whose `chip_id` is set: fills in that chip's state. */
export const getIrqchip = ioctlCall<Uint8Array>(kvm.KVM_GET_IRQCHIP);
/** KVM_SET_IRQCHIP on a VM with a `struct kvm_irqchip`: replaces that chip's state. */
export const setIrqchip = ioctlCall<Uint8Array>(kvm.KVM_SET_IRQCHIP);
