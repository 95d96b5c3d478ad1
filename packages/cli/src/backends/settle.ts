import type { IrqFd, Partition } from '@tsvmm/virt';

/**
 * How to wait until every signal raised so far was delivered or latched: the irqfd's own
 * `settle()` where it has one (a relay with a waiter thread has signals in flight); kernel irqfd
 * injects inside the eventfd write, so there is nothing to wait for.
 */
export function settleFor(partition: Partition): () => Promise<void> {
  const irqfd: (IrqFd & { settle?: () => Promise<void> }) | undefined = partition.irqfd();
  if (irqfd !== undefined && typeof irqfd.settle === 'function') return () => irqfd.settle!();
  return () => Promise.resolve();
}
