/**
 * Jest global setup: one directory for this run's model libraries (test/support/native-model.ts builds each into
 * a directory of its own inside it), removed by the global teardown. Jest workers end without
 * running `process.on('exit')` handlers reliably, so a directory each worker removed itself would
 * be left behind by most runs; the run's directory is removed once, from the parent process.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The environment variable that hands the run's directory to the workers (they inherit the parent's environment). */
export const MODEL_RUN_DIR_ENV = 'TSVMM_WHP_MODEL_RUN_DIR';

export default function globalSetup(): void {
  process.env[MODEL_RUN_DIR_ENV] = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvmm-whp-run-'));
}
