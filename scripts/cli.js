#!/usr/bin/env node
// Runs the tsvmm command line from a clone (`pnpm tsvmm probe`, `pnpm demo`, `pnpm bench`, or
// `node scripts/cli.js <command>` without pnpm): builds the CLI and the packages it uses first with
// the clone's own turbo (node_modules/.bin, so no PATH set up by pnpm is needed), with every line of
// the build on stderr, so that stdout carries only the CLI's own output and `--json` stays one JSON
// document.
//
// Usage: node scripts/cli.js <command> [options]     (what `tsvmm <command> [options]` takes)
// Exit codes: the CLI's own (`node scripts/cli.js --help` lists them), and
//   78  this clone cannot build here, so nothing was built or run: it has no turbo in
//       node_modules/.bin (its dependencies are not installed: run `pnpm install` at its root), or
//       pnpm, which turbo builds with, is not on PATH (run `npx -y pnpm@10 tsvmm <command>`)
//   the build's own non-zero status (1 when it has none) when the build fails.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

/** This script's own exit code for a clone that cannot build here (sysexits EX_CONFIG): no turbo, or no pnpm on PATH. */
const NOT_INSTALLED = 78;

const root = path.join(__dirname, '..');
const turbo = path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'turbo.cmd' : 'turbo');
if (!existsSync(turbo)) {
  process.stderr.write(
    `tsvmm: this clone has no ${path.relative(root, turbo)}: its dependencies are not installed. ` +
      `Run 'pnpm install' in ${root} (pnpm 10: 'npx pnpm@10 install'), then run this again.\n`,
  );
  process.exit(NOT_INSTALLED);
}
// turbo runs the build through the package manager the clone names (pnpm), found on PATH.
const pnpmOnPath = (process.env.PATH ?? '')
  .split(path.delimiter)
  .some((dir) => dir !== '' && (process.platform === 'win32' ? ['pnpm.cmd', 'pnpm.exe'] : ['pnpm']).some((name) => existsSync(path.join(dir, name))));
if (!pnpmOnPath) {
  const again = ['npx -y pnpm@10 tsvmm', ...process.argv.slice(2)].join(' ');
  process.stderr.write(`tsvmm: the build runs through pnpm, which is not on PATH. Run '${again}' in ${root} instead, or install pnpm 10.\n`);
  process.exit(NOT_INSTALLED);
}
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1' };
const build = spawnSync(turbo, ['run', 'build', '--filter=tsvmm...', '--output-logs=errors-only'], {
  cwd: root,
  env,
  stdio: ['ignore', 2, 2],
  shell: process.platform === 'win32',
});
if (build.error || build.status !== 0) {
  process.stderr.write(`tsvmm: building the command line failed${build.error ? `: ${build.error.message}` : ''}\n`);
  process.exit(build.status || 1);
}
const args = process.argv.slice(2);
const run = spawnSync(process.execPath, [path.join(root, 'packages', 'cli', 'dist', 'bin.js'), ...args], { stdio: 'inherit' });
if (run.error) throw run.error;
if (run.status === 0 && args.length === 1 && (args[0] === '--help' || args[0] === '-h')) {
  process.stdout.write(
    `\nRun from a clone (node scripts/cli.js), it builds first and can also exit with:\n` +
      `  ${NOT_INSTALLED}  the clone cannot build here: its dependencies are not installed (no node_modules/.bin/turbo: run 'pnpm install'),\n` +
      `      or pnpm, which the build runs through, is not on PATH (run 'npx -y pnpm@10 tsvmm <command>')\n` +
      `  the build's own status (1 when it has none) when the build fails\n`,
  );
}
process.exit(run.status ?? 1);
