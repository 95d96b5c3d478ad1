/**
 * Jest global teardown: once per run, after every test file, a run that skipped the real device
 * says what only a device can show and why (one `DEVICE-ONLY` line each), so a host without
 * /dev/mshv never passes without saying what it did not check.
 */
import { existsSync } from 'node:fs';
import { DEVICE_ONLY } from './device-only';

export default function deviceOnlyReport(): void {
  if (existsSync('/dev/mshv')) return;
  process.stderr.write('\nChecked on the mshv model only (no /dev/mshv on this host):\n');
  for (const e of DEVICE_ONLY) process.stderr.write(`DEVICE-ONLY ${e.check}: ${e.why}\n`);
}
