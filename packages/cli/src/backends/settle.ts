import { type Partition, settleIrqFd } from '@tsvmm/virt';

/**
 * How to wait until every signal raised so far was delivered or latched: the irqfd's `settle()`.
 *
 * On KVM with kernel irqfd this resolves at once and covers only what KVM injects inside the
 * eventfd write (an MSI route the kernel's fast path takes). KVM injects a level route's line, a
 * broadcast MSI and a signal pending at unmask from the irqfd's work item after the write returns
 * (`virt/kvm/eventfd.c` `irqfd_inject`), which no call can wait for: whoever reads those results
 * (IRR, the IOAPIC pin) must poll for them with a deadline. For the relay, it waits for the worker.
 */
export function settleFor(partition: Partition): () => Promise<void> {
  const irqfd = partition.irqfd();
  if (irqfd === undefined) return () => Promise.resolve();
  return () => settleIrqFd(irqfd);
}
