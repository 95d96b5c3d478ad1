import { type Partition, RelayIrqFd } from '@tsvmm/virt';

/**
 * How to wait until every signal raised so far was delivered or latched. Kernel irqfd injects
 * inside the eventfd write and the in-process relay inside `signal()`; only a relay with a waiter
 * thread (KVM relay mode, or KVM without KVM_CAP_IRQFD) has signals in flight.
 */
export function settleFor(partition: Partition): () => Promise<void> {
  const irqfd = partition.irqfd();
  if (irqfd instanceof RelayIrqFd) return () => irqfd.settle();
  return () => Promise.resolve();
}
