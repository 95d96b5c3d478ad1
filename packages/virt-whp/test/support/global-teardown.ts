/**
 * Jest global teardown: removes the run's model directory (see global-setup.ts), then reports what
 * only Windows can show (device-only-report.ts).
 */
import * as fs from 'node:fs';
import deviceOnlyReport from './device-only-report';
import { MODEL_RUN_DIR_ENV } from './global-setup';

export default function globalTeardown(): void {
  const dir = process.env[MODEL_RUN_DIR_ENV];
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  deviceOnlyReport();
}
