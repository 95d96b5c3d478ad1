/**
 * The KVM ioctls tsvmm issues, one typed function each (numbers and layouts in `./abi`). Each
 * returns what the system call returned: the result, or `-errno`; callers turn failures into
 * typed errors with `check` / `failure`, or decide what a failure means for their state.
 */
import type { Syscalls } from '@tsvmm/linux-sys';
import * as kvm from './abi';

/** KVM_GET_API_VERSION on /dev/kvm: 12 on every kernel since 2.6.22. */
export const getApiVersion = (sys: Syscalls, kvmFd: number): number => sys.ioctl(kvmFd, kvm.KVM_GET_API_VERSION, 0);
/** KVM_CHECK_EXTENSION on /dev/kvm or a VM: > 0 when `cap` (see `KVM_CAP`) is present; some report a number. */
export const checkExtensionRaw = (sys: Syscalls, fd: number, cap: number): number => sys.ioctl(fd, kvm.KVM_CHECK_EXTENSION, cap);
/** KVM_CREATE_VM (machine type 0): the new VM fd. */
export const createVm = (sys: Syscalls, kvmFd: number): number => sys.ioctl(kvmFd, kvm.KVM_CREATE_VM, 0);
/** KVM_CREATE_IRQCHIP: the in-kernel PIC, IOAPIC and local APICs, with the default routes of GSIs 0-23. */
export const createIrqchip = (sys: Syscalls, vmFd: number): number => sys.ioctl(vmFd, kvm.KVM_CREATE_IRQCHIP, 0);
/** KVM_CREATE_VCPU: the new vCPU fd; `id` becomes its APIC ID. */
export const createVcpu = (sys: Syscalls, vmFd: number, id: number): number => sys.ioctl(vmFd, kvm.KVM_CREATE_VCPU, id);
/** KVM_IRQFD with a `struct kvm_irqfd`: a level route's resample irqfd (MSI routes' irqfds are the shared engine's, as is KVM_SET_GSI_ROUTING). */
export const irqfd = (sys: Syscalls, vmFd: number, arg: Uint8Array): number => sys.ioctl(vmFd, kvm.KVM_IRQFD, arg);
/** KVM_SIGNAL_MSI with a `struct kvm_msi`: > 0 delivered, 0 blocked by the guest. */
export const signalMsi = (sys: Syscalls, vmFd: number, msi: Uint8Array): number => sys.ioctl(vmFd, kvm.KVM_SIGNAL_MSI, msi);
/** KVM_GET_LAPIC into a 1024-byte `struct kvm_lapic_state`. */
export const getLapic = (sys: Syscalls, vcpuFd: number, page: Uint8Array): number => sys.ioctl(vcpuFd, kvm.KVM_GET_LAPIC, page);
/** KVM_SET_LAPIC from a 1024-byte `struct kvm_lapic_state`. */
export const setLapic = (sys: Syscalls, vcpuFd: number, page: Uint8Array): number => sys.ioctl(vcpuFd, kvm.KVM_SET_LAPIC, page);
/** KVM_ENABLE_CAP on a VM with a `struct kvm_enable_cap` (`cap`, `flags` 0, `args`). */
export const enableCap = (sys: Syscalls, vmFd: number, arg: Uint8Array): number => sys.ioctl(vmFd, kvm.KVM_ENABLE_CAP, arg);
/** KVM_SET_CPUID2 on a vCPU with a `struct kvm_cpuid2` header and its entries. */
export const setCpuid2 = (sys: Syscalls, vcpuFd: number, table: Uint8Array): number => sys.ioctl(vcpuFd, kvm.KVM_SET_CPUID2, table);
/** KVM_GET_SUPPORTED_CPUID on /dev/kvm into a `struct kvm_cpuid2` header with room for `nent` entries; 0, or -E2BIG when `nent` is too small. */
export const getSupportedCpuid = (sys: Syscalls, kvmFd: number, table: Uint8Array): number => sys.ioctl(kvmFd, kvm.KVM_GET_SUPPORTED_CPUID, table);
/** KVM_GET_MSRS on a vCPU: reads into the `struct kvm_msrs` entries' `data`; returns how many were read. */
export const getMsrs = (sys: Syscalls, vcpuFd: number, msrs: Uint8Array): number => sys.ioctl(vcpuFd, kvm.KVM_GET_MSRS, msrs);
/** KVM_SET_MSRS on a vCPU (host-initiated writes); returns how many were written, stopping at the first refused. */
export const setMsrs = (sys: Syscalls, vcpuFd: number, msrs: Uint8Array): number => sys.ioctl(vcpuFd, kvm.KVM_SET_MSRS, msrs);
/** KVM_GET_IRQCHIP with a `struct kvm_irqchip` whose `chip_id` is set: fills in that chip's state. */
export const getIrqchip = (sys: Syscalls, vmFd: number, chip: Uint8Array): number => sys.ioctl(vmFd, kvm.KVM_GET_IRQCHIP, chip);
/** KVM_SET_IRQCHIP with a `struct kvm_irqchip`: replaces that chip's state. */
export const setIrqchip = (sys: Syscalls, vmFd: number, chip: Uint8Array): number => sys.ioctl(vmFd, kvm.KVM_SET_IRQCHIP, chip);
