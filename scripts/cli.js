#!/usr/bin/env node
// Runs the tsvmm command line from a clone (`pnpm tsvmm probe`, `pnpm demo`, `pnpm bench`): builds
// the CLI and the packages it uses first, with every line of the build on stderr, so that stdout
// carries only the CLI's own output and `--json` stays one JSON document.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1' };
const build = spawnSync('turbo', ['run', 'build', '--filter=tsvmm...', '--output-logs=errors-only'], {
  cwd: root,
  env,
  stdio: ['ignore', 2, 2],
  shell: process.platform === 'win32',
});
if (build.error || build.status !== 0) {
  process.stderr.write(`tsvmm: building the command line failed${build.error ? `: ${build.error.message}` : ''}\n`);
  process.exit(build.status || 1);
}
const run = spawnSync(process.execPath, [path.join(root, 'packages', 'cli', 'dist', 'bin.js'), ...process.argv.slice(2)], { stdio: 'inherit' });
if (run.error) throw run.error;
process.exit(run.status ?? 1);
