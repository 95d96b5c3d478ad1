import { VirtError } from '@tsvmm/virt';

/** The demo needs routes: a partition without any irqfd cannot run it (exit 3). */
export function noIrqFd(backend: string): VirtError {
  return new VirtError('UNSUPPORTED', {
    operation: 'tsvmm demo',
    detail: `the ${backend} partition offers neither kernel irqfd nor a user-space relay`,
    hint: "Run 'tsvmm probe' to see what this host supports.",
  });
}
