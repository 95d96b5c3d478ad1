/**
 * Jest global teardown: once per run, after every test file, a run that skipped Windows says what
 * only Windows can show and why (one `DEVICE-ONLY` line each), so a host without WHP never passes
 * without saying what it did not check.
 */
import { windowsProbe } from './targets';
import { DEVICE_ONLY } from './device-only';

export default function deviceOnlyReport(): void {
  const found = windowsProbe();
  if (found.available) return;
  process.stderr.write(`\nChecked on the WHP model only (${found.reason}):\n`);
  for (const e of DEVICE_ONLY) process.stderr.write(`DEVICE-ONLY ${e.check}: ${e.why}\n`);
}
