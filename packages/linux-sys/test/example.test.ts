// The README's runnable example (examples/eventfd.ts) must run and print what it says.
import { main } from '../examples/eventfd';

test('examples/eventfd.ts: signals and consumes an eventfd, turns a failed open into a typed error, injects a failure', () => {
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    main();
    expect(log.mock.calls.map((c) => c.join(' '))).toEqual([
      'eventfd open, consumed 2 signals, then 0',
      'open failed: ENOENT',
      'injected: BUSY error',
    ]);
  } finally {
    log.mockRestore();
  }
});
