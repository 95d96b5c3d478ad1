// The README's example must run and print what the README says it prints.
test('examples/unit-test-a-device.ts runs and observes the delivery and the pending bit', () => {
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- runs the example's top level now
      require('../examples/unit-test-a-device');
    });
    expect(log.mock.calls).toEqual([[[0x41]], [true]]);
  } finally {
    log.mockRestore();
  }
});
