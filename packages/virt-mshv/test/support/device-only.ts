/**
 * What a run without /dev/mshv cannot check, one entry per `target.real` branch (or device-only
 * path) of the behaviour tests, with why the model cannot stand in. Printed once at the end of a
 * run that skipped the device (./device-only-report, the jest global teardown).
 */
export const DEVICE_ONLY: ReadonlyArray<{ readonly check: string; readonly why: string }> = [
  {
    check:
      'injection by the mshv driver itself: a write(2) to an assigned eventfd, seen in IRR through MSHV_GET_VP_STATE or queued in the VP register page (byte 688 of the mmap of the VP fd)',
    why: 'the model injects as written from drivers/hv/mshv_eventfd.c and mshv_irq.c, and only into IRR; the fast-path queue of root-scheduler hosts exists only on a host',
  },
  {
    check: "HvCallAssertVirtualInterrupt through MSHV_ROOT_HVCALL (the kernel's hypercall allow-list and the hypervisor's acceptance) for fixed, logical, NMI and level-triggered messages",
    why: 'the model decodes the hypercall input from the reference and accepts what it describes; only a hypervisor says what it accepts',
  },
  {
    check: "the hypervisor's 176-byte LAPIC state as MSHV_GET_VP_STATE returns it (IRR words at a 4-byte stride from byte 84, the apic_id encoding) and the APIC software-enable written back with MSHV_SET_VP_STATE",
    why: 'the model writes the format as the reference describes it, so a misread reference would agree with itself',
  },
  {
    check: 'an x2APIC-capable partition (MSHV_CREATE_PARTITION with LAPIC|X2APIC) accepted by the kernel and the hypervisor, its VPs keeping APIC ID = VP index',
    why: 'the model accepts the flag as the upstream driver does (it passes it on as HV_PARTITION_CREATION_FLAG_X2APIC_CAPABLE) and changes nothing else; only a hypervisor says it creates such a partition and which APIC IDs its VPs get',
  },
  {
    check: 'that the committed routing table and the assigned irqfds are what the engine recorded',
    why: 'mshv has no call to read them back, so a device checks them by delivery; the model is read back instead',
  },
  {
    check: 'delivery by the overflow relay\'s epoll worker thread (routes beyond the GSIs), its hypercalls on its own thread, and its descriptors closed by whenClosed()',
    why: 'the model stands in with a waiter on the test thread; only a device runs the worker against a kernel',
  },
  {
    check: 'the defaults of MshvPartition.create and probe(): libc system calls and koffi-allocated, page-aligned buffers whose addresses the kernel is given',
    why: "the model hands out addresses in its own address space and resolves them itself; descriptors are counted in the process's /proc/self/fd only on a device",
  },
];
