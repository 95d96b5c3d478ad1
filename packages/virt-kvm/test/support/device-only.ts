/**
 * What a run without /dev/kvm cannot check, one entry per `target.real` branch (or device-only case)
 * of the behaviour tests, with why the model cannot stand in. Printed once at the end of a run that
 * skipped the device (./device-only-report, the jest global teardown).
 */
export const DEVICE_ONLY: ReadonlyArray<{ readonly check: string; readonly why: string }> = [
  {
    check: 'injection by KVM itself: a write(2) to an assigned eventfd, KVM_SIGNAL_MSI and a signal racing with the assign, seen in IRR through KVM_GET_LAPIC',
    why: 'the model injects as written from virt/kvm/eventfd.c and irqchip.c; only a kernel runs that code',
  },
  {
    check: 'the routing-table limit the kernel reports (KVM_CAP_IRQ_ROUTING), and its EINVAL for a table one entry past it',
    why: 'the model enforces the limit it was built with',
  },
  {
    check: 'that the committed routing table and the assigned irqfds are what the engine recorded',
    why: 'KVM has no call to read them back, so a device checks them by delivery; the model is read back instead',
  },
  {
    check: 'the user-space relay (irqfd: "relay", or no KVM_CAP_IRQFD) waiting in its own epoll worker thread and injecting from there, in its conformance run for xAPIC and x2APIC partitions (APIC IDs above 255)',
    why: "the model's relay platform runs the worker's own KVM_SIGNAL_MSI injector on the model's VM from the main thread: a worker thread's ioctl reaches only a real VM descriptor",
  },
  {
    check: 'that the model answers every raw call as the kernel does (the differential test: seeded sequences of eventfd, dup, close, write, read, routing-table, irqfd and KVM_SIGNAL_MSI calls, compared on results, open descriptors, eventfd counters and IRR)',
    why: 'it compares the model with a kernel; without one it only shows that it catches a deliberately drifted model',
  },
  {
    check: "that KVM accepts the x2APIC setup (KVM_ENABLE_CAP of KVM_CAP_X2APIC_API, a one-leaf KVM_SET_CPUID2, the IA32_APIC_BASE write) and delivers to APIC IDs above 255 and 255 itself, read back from each vCPU's IRR",
    why: 'the model follows kvm_vm_ioctl_enable_cap, kvm_apic_set_base, kvm_apic_state_fixup and kvm_apic_match_dest as read; only a kernel runs them',
  },
  {
    check: "that a Linux AIO read's completion eventfd, registered as a route's event, lands in IRR through KVM's own irqfd wakeup (no write(2) from user space, masked and retargeted routes included)",
    why: "on the model, ProcessEventFds copies the real eventfd's count into the model's before each call; only a kernel's irqfd_wakeup runs from the completion itself",
  },
  {
    check: "the guest's EOI of a level-triggered vector: a resample irqfd's line deasserted, its resamplefd signalled, remote IRR cleared and a still-asserted pin delivered again (the conformance suite's EOI case), and a guest's own unmask of a pin with a latched request",
    why: "no guest code runs on these machines' nested KVM (PVM delivers interrupts only to guests that speak its own protocol) and KVM has no ioctl that performs an EOI or a guest's IOAPIC write; the model plays both from arch/x86/kvm/ioapic.c and virt/kvm/eventfd.c as read",
  },
  {
    check: 'what each descriptor is (/proc/self/fd) and that every one is close-on-exec (/proc/self/fdinfo)',
    why: "model descriptors are not the process's and carry no flags",
  },
];
