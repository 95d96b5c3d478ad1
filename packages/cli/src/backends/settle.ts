import { type Partition, settleIrqFd } from '@tsvmm/virt';

/**
 * How to wait until the signals raised so far were delivered or latched: the irqfd's `settle()`.
 *
 * On KVM with kernel irqfd it resolves at once, and that covers only what KVM injects inside the
 * eventfd write: an MSI route the kernel's fast path takes. A level route's line, a broadcast MSI
 * and a signal racing an unmask KVM injects from the irqfd's work item after the write returns
 * (`virt/kvm/eventfd.c` `irqfd_inject`, queued by `schedule_work`), and no call can wait for that:
 * code that must see those results (IRR, the IOAPIC pin) polls for them with a deadline. For the
 * user-space relay, `settle()` waits for its worker.
 */
export function settleFor(partition: Partition): () => Promise<void> {
  const irqfd = partition.irqfd();
  if (irqfd === undefined) return () => Promise.resolve();
  return () => settleIrqFd(irqfd);
}
