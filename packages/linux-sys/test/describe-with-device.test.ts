import { describeWithDevice, deviceAbsenceReason } from '../src/testing';

/** Calls describeWithDevice with recording stand-ins for the runner's globals. */
function record(device: string, env: Record<string, string | undefined>, options: { skipByDefault?: boolean } = {}) {
  const calls: string[] = [];
  const g = globalThis as unknown as Record<string, unknown>;
  const saved = { describe: g.describe, it: g.it, env: { ...process.env } };
  const describe = (name: string, fn: () => void) => (calls.push(`describe ${name}`), fn());
  const it = Object.assign((name: string, fn: () => void) => {
    try {
      fn();
      calls.push(`it ${name}: passes`);
    } catch (e) {
      calls.push(`it ${name}: fails: ${(e as Error).message}`);
    }
  }, { skip: (name: string) => calls.push(`it.skip ${name}`) });
  const warn = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  Object.assign(process.env, env);
  g.describe = describe;
  g.it = it;
  try {
    describeWithDevice(device, 'TSVMM_TEST_ALLOW', 'suite', () => calls.push('body'), options);
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
  const why = deviceAbsenceReason('/dev/tsvmm-no-such-device');
  expect(calls).toEqual(['describe suite', `it needs /dev/tsvmm-no-such-device: fails: ${why}: these tests need it. Set TSVMM_TEST_ALLOW=1 to skip them on a host without it.`]);
  expect(warnings).toEqual([]);
});

test('when allowed, reports one skipped test naming the device and the reason, and one SKIPPED line; never runs the body', () => {
  const { calls, warnings } = record('/dev/tsvmm-no-such-device', { TSVMM_TEST_ALLOW: '1' });
  const why = deviceAbsenceReason('/dev/tsvmm-no-such-device');
  expect(calls).toEqual(['describe suite', `it.skip needs /dev/tsvmm-no-such-device: ${why}`]);
  expect(warnings).toEqual([`SKIPPED "suite": ${why} (TSVMM_TEST_ALLOW=1)\n`]);
});

test('the reason tells an unregistered driver apart from a missing node', () => {
  expect(deviceAbsenceReason('/dev/tsvmm-no-such-device')).toMatch(/registered no tsvmm-no-such-device device|does not exist on this host$/);
  // /proc/misc always lists at least one registered misc device, e.g. the loop control node.
  expect(deviceAbsenceReason('/dev/loop-control')).toMatch(/although the kernel registered the loop-control device/);
});

test('a device most hosts lack is skipped loudly by default, and fails when the variable is 0', () => {
  const why = deviceAbsenceReason('/dev/tsvmm-no-such-device');
  const skipped = record('/dev/tsvmm-no-such-device', { TSVMM_TEST_ALLOW: undefined }, { skipByDefault: true });
  expect(skipped.calls).toEqual(['describe suite', `it.skip needs /dev/tsvmm-no-such-device: ${why}`]);
  expect(skipped.warnings).toEqual([`SKIPPED "suite": ${why} (skipped by default; TSVMM_TEST_ALLOW=0 makes it fail)\n`]);
  const required = record('/dev/tsvmm-no-such-device', { TSVMM_TEST_ALLOW: '0' }, { skipByDefault: true });
  expect(required.calls[1]).toMatch(/fails: /);
  expect(record('/dev/null', {}, { skipByDefault: true }).calls).toEqual(['describe suite', 'body']);
});
