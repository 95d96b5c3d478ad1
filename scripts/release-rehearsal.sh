#!/usr/bin/env bash
# The next release, rehearsed on a copy of the working tree, as a maintainer's "Version" and "Release"
# steps would make it (CONTRIBUTING.md), without touching this tree, git or the registry:
#
#   1. copies the tracked and new (not ignored) files: no dist, no .turbo, as on a fresh clone;
#   2. runs `changeset version` there when changesets are pending, which bumps the versions and writes
#      each package's CHANGELOG.md (it creates the file on a package's first release);
#   3. packs every package there with pnpm, nothing built beforehand: each package's prepack script
#      must build it;
#
# and fails unless every tarball carries its new version, a CHANGELOG.md that starts with the
# package's name and has an entry for that version, and every file its package.json points at.
# Uses this checkout's node_modules (pnpm install first); run by scripts/check-packages.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/tsvmm-release-rehearsal.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "release-rehearsal: FAILED: $*" >&2; exit 1; }
[ -d "$root/node_modules" ] || fail "no node_modules in $root: run npx -y pnpm@10 install first"

copy="$work/repo"
mkdir -p "$copy"
echo "== copy the working tree (tracked and new files, nothing built) to $copy"
(cd "$root" && git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
  tar --null -T - -cf -) | tar -xf - -C "$copy"
[ ! -e "$copy/packages/virt/dist" ] || fail "the copy has a dist folder: it is not ignored by git"
# Dependencies: the root's through a link; each package's own links (pnpm's, relative) as they are,
# so that workspace packages resolve inside the copy.
rm -rf "$copy/node_modules" && ln -s "$root/node_modules" "$copy/node_modules"
for dir in "$root"/packages/*/; do
  name=$(basename "$dir")
  if [ -d "$dir/node_modules" ]; then rm -rf "$copy/packages/$name/node_modules" && cp -a "$dir/node_modules" "$copy/packages/$name/node_modules"; fi
done

pending=$(find "$copy/.changeset" -maxdepth 1 -name '*.md' ! -name 'README.md' | wc -l)
if [ "$pending" -gt 0 ]; then
  echo "== changeset version ($pending pending changesets)"
  (cd "$copy" && node "$root/node_modules/@changesets/cli/bin.js" version >"$work/version.log" 2>&1) || { cat "$work/version.log" >&2; fail "changeset version"; }
else
  echo "== no pending changeset: the versions and changelogs as they are"
fi

echo "== pack every package with pnpm, from nothing built"
mkdir -p "$work/tarballs"
for dir in "$copy"/packages/*/; do
  name=$(node -p "require('$dir/package.json').name")
  if ! (cd "$dir" && npx -y pnpm@10 pack --pack-destination "$work/tarballs" >"$work/pack.log" 2>&1); then
    tail -n 30 "$work/pack.log" >&2
    fail "pnpm pack of $name"
  fi
done

node - "$copy" "$work/tarballs" <<'JS' || fail "a tarball of the next release is incomplete (see above)"
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const [copy, dir] = process.argv.slice(2);
let ok = true;
for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.tgz')).sort()) {
  const file = path.join(dir, f);
  const list = new Set(execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).split('\n').filter(Boolean).map((p) => p.replace(/^package\//, '')));
  const read = (p) => execFileSync('tar', ['-xzOf', file, `package/${p}`], { encoding: 'utf8' });
  const pkg = JSON.parse(read('package.json'));
  const problems = [];
  const targets = new Set();
  const collect = (v) => (typeof v === 'string' ? targets.add(v.replace(/^\.\//, '')) : v && typeof v === 'object' ? Object.values(v).forEach(collect) : undefined);
  collect([pkg.main, pkg.types, pkg.bin, pkg.exports, pkg.typesVersions].filter((v) => v !== undefined));
  for (const t of targets) if (!t.includes('*') && !list.has(t)) problems.push(`does not ship ${t}, which its package.json points at`);
  if (!list.has('CHANGELOG.md')) problems.push('does not ship CHANGELOG.md');
  else {
    const log = read('CHANGELOG.md');
    if (!log.startsWith(`# ${pkg.name}\n`)) problems.push(`CHANGELOG.md does not start with "# ${pkg.name}"`);
    if (!log.includes(`\n## ${pkg.version}\n`)) problems.push(`CHANGELOG.md has no entry for ${pkg.version}`);
  }
  if (problems.length > 0) ok = false;
  const dist = [...list].filter((p) => p.startsWith('dist/')).length;
  console.log(`${problems.length ? 'FAIL' : 'ok  '}  ${pkg.name}@${pkg.version}: ${list.size} files (${dist} in dist), CHANGELOG.md ${list.has('CHANGELOG.md') ? 'shipped' : 'missing'}`);
  for (const p of problems) console.error(`release-rehearsal: ${pkg.name}@${pkg.version} ${p}`);
}
process.exit(ok ? 0 : 1);
JS
echo "release-rehearsal: every package of the next release packs from a fresh tree with its build and its changelog"
