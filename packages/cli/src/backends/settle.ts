import { type Partition, settleIrqFd } from '@tsvmm/virt';

/**
 * How to wait until every signal raised so far was delivered or latched: the irqfd's `settle()`
 * (immediate for a kernel irqfd, which injects inside the eventfd write).
 */
export function settleFor(partition: Partition): () => Promise<void> {
  const irqfd = partition.irqfd();
  if (irqfd === undefined) return () => Promise.resolve();
  return () => settleIrqFd(irqfd);
}
