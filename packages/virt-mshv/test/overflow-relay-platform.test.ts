/**
 * The overflow relay's platform at the first route past the kernel's GSIs (the shared suite of
 * @tsvmm/linux-sys/testing): refused platforms are typed errors that leave the route as it was, on
 * the mshv model and on the real /dev/mshv where it exists. The model has no epoll for the default
 * worker thread, so there the default platform's ENOSYS says which platform to pass; a real
 * /dev/mshv host has epoll, and its default relay starts its worker.
 */
import { REFUSED_RELAY_PLATFORMS, type RefusedRelayPlatform, overflowRelayPlatformTests } from '@tsvmm/linux-sys/testing';
import { describeOnTargets, linuxIrqFdTarget } from './support/targets';

/** The partition's default platform on the mshv model, which has no epoll. */
const MODEL_DEFAULT: RefusedRelayPlatform = {
  what: "is the partition's default on the mshv model (no epoll)",
  factory: undefined,
  code: 'SYSCALL',
  errnoName: 'ENOSYS',
  hint: 'relayPlatform: modelRelayPlatform(model) (from @tsvmm/virt-mshv/testing)',
  modelOnly: true,
};

describeOnTargets("the overflow relay's platform", (target) => {
  overflowRelayPlatformTests(linuxIrqFdTarget(target), [...REFUSED_RELAY_PLATFORMS, MODEL_DEFAULT]);
});
