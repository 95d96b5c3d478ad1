import { describeWithDevice } from '../src/testing';

/** Calls describeWithDevice with recording stand-ins for the runner's globals. */
function record(device: string, env: Record<string, string | undefined>) {
  const calls: string[] = [];
  const g = globalThis as unknown as Record<string, unknown>;
  const saved = { describe: g.describe, it: g.it, env: { ...process.env } };
  const describe = Object.assign((name: string, fn: () => void) => (calls.push(`describe ${name}`), fn()), {
    skip: (name: string) => calls.push(`skip ${name}`),
  });
  const it = (name: string, fn: () => void) => {
    try {
      fn();
      calls.push(`it ${name}: passes`);
    } catch (e) {
      calls.push(`it ${name}: fails: ${(e as Error).message}`);
    }
  };
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  Object.assign(process.env, env);
  g.describe = describe;
  g.it = it;
  try {
    describeWithDevice(device, 'TSVMM_TEST_ALLOW', 'suite', () => calls.push('body'));
  } finally {
    g.describe = saved.describe;
    g.it = saved.it;
    process.env = saved.env;
  }
  const warnings = warn.mock.calls.map((c) => String(c[0]));
  warn.mockRestore();
  return { calls, warnings };
}

test('runs the suite where the device exists', () => {
  expect(record('/dev/null', {})).toEqual({ calls: ['describe suite', 'body'], warnings: [] });
});

test('fails loudly where the device is missing', () => {
  const { calls, warnings } = record('/dev/tsvmm-no-such-device', { TSVMM_TEST_ALLOW: undefined });
  expect(calls).toEqual([
    'describe suite',
    'it needs /dev/tsvmm-no-such-device: fails: /dev/tsvmm-no-such-device is missing: these tests need it. Set TSVMM_TEST_ALLOW=1 to skip them on a host without it.',
  ]);
  expect(warnings).toEqual([]);
});

test('skips with a warning naming the device only when allowed', () => {
  const { calls, warnings } = record('/dev/tsvmm-no-such-device', { TSVMM_TEST_ALLOW: '1' });
  expect(calls).toEqual(['skip suite']);
  expect(warnings).toEqual(['SKIPPED "suite": /dev/tsvmm-no-such-device is missing on this host (TSVMM_TEST_ALLOW=1).']);
});
