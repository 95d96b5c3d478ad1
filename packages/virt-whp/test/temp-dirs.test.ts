/**
 * A jest run leaves no model build directory behind: the libraries are built inside the run's
 * directory, which the global teardown removes (jest workers do not reliably run `exit` handlers).
 * Checked on a nested run of one model test file, with a temporary folder of its own.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

test('a jest run that builds the WHP model leaves nothing in the temporary folder', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvmm-whp-leak-check-'));
  try {
    const jest = require.resolve('jest/bin/jest');
    const r = spawnSync(process.execPath, [jest, '--ci', '--runInBand', 'test/example.test.ts'], {
      cwd: path.resolve(__dirname, '..'),
      env: { ...process.env, TMPDIR: tmp, TMP: tmp, TEMP: tmp },
      encoding: 'utf8',
      timeout: 180_000,
    });
    expect(r.error).toBeUndefined();
    expect(r.stderr).toMatch(/Tests:\s+1 passed, 1 total/);
    expect(r.status).toBe(0);
    // jest's own cache may live elsewhere; nothing of the model's may stay here.
    expect(fs.readdirSync(tmp).filter((f) => f.startsWith('tsvmm-whp-'))).toEqual([]);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}, 200_000);
