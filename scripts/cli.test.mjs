// Tests of scripts/cli.js where the clone cannot build: each ends with the script's own exit code
// 78 and one line on stderr saying what to run, never a spawn error; on a throwaway copy of the
// script, so nothing is built: `node --test scripts/cli.test.mjs`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SCRIPTS = path.dirname(fileURLToPath(import.meta.url));
const root = mkdtempSync(path.join(tmpdir(), 'tsvmm-cli-script-'));
after(() => rmSync(root, { recursive: true, force: true }));
mkdirSync(path.join(root, 'scripts'));
cpSync(path.join(SCRIPTS, 'cli.js'), path.join(root, 'scripts', 'cli.js'));

/** Runs the copied script with `args` and PATH set to `dirs` only (never the caller's pnpm). */
function run(args, dirs) {
  return spawnSync(process.execPath, [path.join(root, 'scripts', 'cli.js'), ...args], {
    encoding: 'utf8',
    env: { PATH: dirs.join(path.delimiter) },
    timeout: 30_000,
  });
}

test('without node_modules/.bin/turbo: exit 78, what to install, nothing on stdout', () => {
  const r = run(['probe'], []);
  assert.equal(r.status, 78);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^tsvmm: this clone has no node_modules[/\\]\.bin[/\\]turbo: its dependencies are not installed\. Run 'pnpm install' in .*\n$/);
});

test('with turbo but no pnpm on PATH: exit 78, the pnpm command line to run instead, and turbo never started', () => {
  const bin = path.join(root, 'node_modules', '.bin');
  mkdirSync(bin, { recursive: true });
  const marker = path.join(root, 'turbo-ran');
  // A turbo that leaves a mark: the script must stop before it.
  writeFileSync(path.join(bin, 'turbo'), `#!/bin/sh\ntouch '${marker}'\nexit 0\n`);
  chmodSync(path.join(bin, 'turbo'), 0o755);
  const r = run(['demo', '--json'], []);
  assert.equal(r.status, 78);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^tsvmm: the build runs through pnpm, which is not on PATH\. Run 'npx -y pnpm@10 tsvmm demo --json' in .* instead, or install pnpm 10\.\n$/);
  assert.equal(existsSync(marker), false);
});
