// The README's runnable example (examples/eventfd.ts) must run and print what it says.
import { existsSync } from 'node:fs';
import { main } from '../examples/eventfd';

test('examples/eventfd.ts: signals and consumes an eventfd, asks /dev/kvm its API version, injects a failure', () => {
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    main();
    expect(log.mock.calls.map((c) => c.join(' '))).toEqual([
      'eventfd open, consumed 2 signals, then 0',
      ...(existsSync('/dev/kvm') ? ['KVM API version 12'] : []),
      'injected: BUSY error',
    ]);
  } finally {
    log.mockRestore();
  }
});
