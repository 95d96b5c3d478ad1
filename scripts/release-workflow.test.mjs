// The release publishes on the Node.js LTS the CI fetches, and checks every tarball before the
// changesets action can publish; CI installs the tarballs on that LTS too.
// `node --test scripts/release-workflow.test.mjs`.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const read = (f) => readFileSync(path.join(ROOT, f), 'utf8');
const lts = Number(/^CURRENT_LTS=(\d+)$/m.exec(read('scripts/node-runtime.sh'))?.[1]);
const workflow = read('.github/workflows/release.yml');

test('the release runs on the current LTS that scripts/node-runtime.sh fetches, an LTS line (even major above 20)', () => {
  assert.ok(Number.isInteger(lts) && lts > 20 && lts % 2 === 0, `CURRENT_LTS=${lts}`);
  const versions = [...workflow.matchAll(/node-version:\s*['"]?([^\s'"]+)/g)].map((m) => m[1]);
  assert.deepEqual(versions, [String(lts)]);
});

test('the release checks every tarball (scripts/check-pack.mjs) before the changesets action publishes, and so does pnpm release', () => {
  const check = workflow.indexOf('node scripts/check-pack.mjs');
  assert.ok(check > 0, 'no check-pack step');
  assert.ok(check < workflow.indexOf('changesets/action'), 'check-pack runs after the publishing step');
  const release = JSON.parse(read('package.json')).scripts.release.split('&&').map((s) => s.trim());
  assert.ok(release.indexOf('pnpm run check:pack') >= 0 && release.indexOf('pnpm run check:pack') < release.indexOf('pnpm publish -r'), release.join(' && '));
  assert.equal(JSON.parse(read('package.json')).scripts['check:pack'], 'node scripts/check-pack.mjs');
});

test('.ci/run runs the tarball check and the pack-and-install test on the LTS as well as on the machine\'s Node.js', () => {
  const ci = read('.ci/run');
  assert.match(ci, /^node scripts\/check-pack\.mjs$/m);
  assert.match(ci, /^node --test scripts\/\*\.test\.mjs$/m);
  assert.match(ci, /^bash scripts\/pack-install-test\.sh$/m);
  assert.match(ci, /^PATH="\$lts_bin:\$PATH" bash scripts\/pack-install-test\.sh$/m);
});
