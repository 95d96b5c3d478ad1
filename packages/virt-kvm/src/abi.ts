/**
 * The KVM userspace ABI (x86_64) that tsvmm uses: ioctl numbers, struct layouts and constants,
 * each defined once. `test/c-abi-check.test.ts` of this package compiles a C program against the installed
 * `<linux/kvm.h>` and compares every value here with it.
 */
import { type IoctlDef, _IO, _IOR, _IOW, defineIoctl } from '@tsvmm/linux-sys';
import { defineLayout } from '@tsvmm/ffi';

export const KVMIO = 0xae;
export const KVM_API_VERSION = 12;

export const KVM_IRQ_ROUTING = defineLayout('struct kvm_irq_routing', 8, {
  nr: { offset: 0, type: 'u32' },
  flags: { offset: 4, type: 'u32' },
});

export const KVM_IRQ_ROUTING_ENTRY = defineLayout('struct kvm_irq_routing_entry', 48, {
  gsi: { offset: 0, type: 'u32' },
  type: { offset: 4, type: 'u32' },
  flags: { offset: 8, type: 'u32' },
  pad: { offset: 12, type: 'u32' },
  msiAddressLo: { offset: 16, type: 'u32', c: 'u.msi.address_lo' },
  msiAddressHi: { offset: 20, type: 'u32', c: 'u.msi.address_hi' },
  msiData: { offset: 24, type: 'u32', c: 'u.msi.data' },
  msiDevid: { offset: 28, type: 'u32', c: 'u.msi.devid' },
  irqchip: { offset: 16, type: 'u32', c: 'u.irqchip.irqchip' },
  pin: { offset: 20, type: 'u32', c: 'u.irqchip.pin' },
});

export const KVM_IRQFD_LAYOUT = defineLayout('struct kvm_irqfd', 32, {
  fd: { offset: 0, type: 'u32' },
  gsi: { offset: 4, type: 'u32' },
  flags: { offset: 8, type: 'u32' },
  resamplefd: { offset: 12, type: 'u32' },
});

export const KVM_MSI_LAYOUT = defineLayout('struct kvm_msi', 32, {
  addressLo: { offset: 0, type: 'u32', c: 'address_lo' },
  addressHi: { offset: 4, type: 'u32', c: 'address_hi' },
  data: { offset: 8, type: 'u32' },
  flags: { offset: 12, type: 'u32' },
  devid: { offset: 16, type: 'u32' },
});

/** The raw APIC register page; registers sit at their architectural offsets (see LAPIC_*). */
export const KVM_LAPIC_STATE = defineLayout('struct kvm_lapic_state', 1024, {});

export const KVM_GET_API_VERSION: IoctlDef = defineIoctl('KVM_GET_API_VERSION', _IO(KVMIO, 0x00));
export const KVM_CREATE_VM: IoctlDef = defineIoctl('KVM_CREATE_VM', _IO(KVMIO, 0x01));
export const KVM_CHECK_EXTENSION: IoctlDef = defineIoctl('KVM_CHECK_EXTENSION', _IO(KVMIO, 0x03));
export const KVM_CREATE_VCPU: IoctlDef = defineIoctl('KVM_CREATE_VCPU', _IO(KVMIO, 0x41));
export const KVM_CREATE_IRQCHIP: IoctlDef = defineIoctl('KVM_CREATE_IRQCHIP', _IO(KVMIO, 0x60));
export const KVM_SET_GSI_ROUTING: IoctlDef = defineIoctl('KVM_SET_GSI_ROUTING', _IOW(KVMIO, 0x6a, KVM_IRQ_ROUTING.size));
export const KVM_IRQFD: IoctlDef = defineIoctl('KVM_IRQFD', _IOW(KVMIO, 0x76, KVM_IRQFD_LAYOUT.size));
export const KVM_SIGNAL_MSI: IoctlDef = defineIoctl('KVM_SIGNAL_MSI', _IOW(KVMIO, 0xa5, KVM_MSI_LAYOUT.size));
export const KVM_GET_LAPIC: IoctlDef = defineIoctl('KVM_GET_LAPIC', _IOR(KVMIO, 0x8e, KVM_LAPIC_STATE.size));
export const KVM_SET_LAPIC: IoctlDef = defineIoctl('KVM_SET_LAPIC', _IOW(KVMIO, 0x8f, KVM_LAPIC_STATE.size));

export const KVM_IOCTLS: readonly IoctlDef[] = [
  KVM_GET_API_VERSION,
  KVM_CREATE_VM,
  KVM_CHECK_EXTENSION,
  KVM_CREATE_VCPU,
  KVM_CREATE_IRQCHIP,
  KVM_SET_GSI_ROUTING,
  KVM_IRQFD,
  KVM_SIGNAL_MSI,
  KVM_GET_LAPIC,
  KVM_SET_LAPIC,
];

export const KVM_LAYOUTS = [KVM_IRQ_ROUTING, KVM_IRQ_ROUTING_ENTRY, KVM_IRQFD_LAYOUT, KVM_MSI_LAYOUT, KVM_LAPIC_STATE] as const;

/** KVM_CHECK_EXTENSION capability numbers. */
export const KVM_CAP = Object.freeze({
  KVM_CAP_IRQCHIP: 0,
  KVM_CAP_NR_VCPUS: 9,
  KVM_CAP_IRQ_ROUTING: 25,
  KVM_CAP_IRQFD: 32,
  KVM_CAP_MAX_VCPUS: 66,
  KVM_CAP_SIGNAL_MSI: 77,
  KVM_CAP_IRQFD_RESAMPLE: 82,
  KVM_CAP_SPLIT_IRQCHIP: 121,
  KVM_CAP_X2APIC_API: 129,
  KVM_CAP_MSI_DEVID: 131,
});

export const KVM_IRQ_ROUTING_IRQCHIP = 1;
export const KVM_IRQ_ROUTING_MSI = 2;
export const KVM_IRQFD_FLAG_DEASSIGN = 1;
export const KVM_IRQFD_FLAG_RESAMPLE = 2;
export const KVM_IRQCHIP_PIC_MASTER = 0;
export const KVM_IRQCHIP_PIC_SLAVE = 1;
export const KVM_IRQCHIP_IOAPIC = 2;
/** KVM_MAX_IRQ_ROUTES on current kernels; KVM_CHECK_EXTENSION(KVM_CAP_IRQ_ROUTING) reports it. */
export const KVM_MAX_IRQ_ROUTES = 4096;

/** Constants the C check compares with the header. */
export const KVM_CONSTANTS: Readonly<Record<string, number>> = Object.freeze({
  KVM_API_VERSION,
  ...KVM_CAP,
  KVM_IRQ_ROUTING_IRQCHIP,
  KVM_IRQ_ROUTING_MSI,
  KVM_IRQFD_FLAG_DEASSIGN,
  KVM_IRQFD_FLAG_RESAMPLE,
  KVM_IRQCHIP_PIC_MASTER,
  KVM_IRQCHIP_PIC_SLAVE,
  KVM_IRQCHIP_IOAPIC,
});

/** Local APIC register offsets in the KVM_GET_LAPIC page (architectural xAPIC layout). */
export const LAPIC_ID = 0x20;
export const LAPIC_SVR = 0xf0;
export const LAPIC_SVR_ENABLE = 0x100;
export const LAPIC_ISR = 0x100;
export const LAPIC_TMR = 0x180;
export const LAPIC_IRR = 0x200;
