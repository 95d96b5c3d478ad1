import { apicObserver } from '@tsvmm/virt/conformance';
import type { WhpPartition } from '../../src';

/**
 * A conformance case's partition on WHP: deliveries observed in each vCPU's IRR, settled by the
 * partition's own `settle()`; `afterDispose` runs once the partition is disposed (on the model, the
 * handle-ledger check: every event closed once, after its trigger was deleted).
 */
export function conformancePartition(partition: WhpPartition, afterDispose: () => void) {
  return {
    partition,
    observer: apicObserver(partition),
    settle: () => partition.settle(),
    dispose: () => {
      partition.dispose();
      afterDispose();
    },
  };
}
