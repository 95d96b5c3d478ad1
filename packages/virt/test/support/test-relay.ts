import { InProcessRelayPlatform, RelayIrqFd, type RelayIrqFdOptions } from '../../src/implement';

/**
 * A user-space relay irqfd for tests of the contract itself: backend `test`, 4 routes, a nonzero
 * upper address rejected, every injection accepted and dropped (or given to `options.inject`), on
 * the in-process platform; `options` replace any of these.
 */
export function testRelay(options: Partial<RelayIrqFdOptions> = {}): RelayIrqFd {
  const inject = options.inject ?? (() => true);
  return new RelayIrqFd({
    backend: 'test',
    maxRoutes: 4,
    policy: { addressHi: 'reject', backend: 'test' },
    reason: 'test',
    platform: (t) => new InProcessRelayPlatform(t, inject),
    ...options,
    inject,
  });
}
