#!/usr/bin/env bash
# Checks every package as it would be published: packs it with pnpm (workspace ranges resolved; the
# package's prepack script builds it first, so no build is needed beforehand), then runs publint
# (strict) and Are the Types Wrong with its default profile (every resolution: node10, which ignores
# `exports` and reads the subpaths from `typesVersions`, node16 from CommonJS and from ESM, and
# bundler). Also checks each package ships the root LICENSE and no source map, lists CHANGELOG.md in
# `files` and has the prepack script, and that its README's links work from the tarball
# (scripts/check-readme-links.mjs). Then rehearses the next release on a copy of the tree
# (scripts/release-rehearsal.sh): changesets applied, every package packed from nothing built, each
# tarball with its build and its CHANGELOG.md.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail=0
for dir in packages/*/; do
  dir=${dir%/}
  name=$(node -p "require('./$dir/package.json').name")
  cmp -s LICENSE "$dir/LICENSE" || { echo "check:packages: $dir/LICENSE differs from the root LICENSE" >&2; fail=1; }
  # The first published tarball must carry the changelog: `changeset version` writes CHANGELOG.md,
  # and `files` must name it. Packing must build: the prepack script.
  node -e '
    const pkg = require(`./${process.argv[1]}/package.json`);
    const problems = [];
    if (!(pkg.files ?? []).includes("CHANGELOG.md")) problems.push("does not list CHANGELOG.md in files");
    if (pkg.scripts?.prepack !== "node ../../scripts/prepack.mjs") problems.push("has no prepack script that builds it (node ../../scripts/prepack.mjs)");
    for (const p of problems) console.error(`check:packages: ${pkg.name} ${p}`);
    process.exit(problems.length ? 1 : 0);
  ' "$dir" || fail=1
  tarball=$(cd "$dir" && npx -y pnpm@10 pack --pack-destination "$out" 2>"$out/pack.err" | tail -n1)
  [ -f "$tarball" ] || { cat "$out/pack.err" >&2; echo "check:packages: packing $name failed" >&2; fail=1; continue; }
  tar -tzf "$tarball" >"$out/list"
  if grep -q '\.map$' "$out/list"; then echo "check:packages: $name ships source maps" >&2; fail=1; fi
  # Nothing marked @internal is published (every tsconfig.build.json sets stripInternal).
  if leaks=$(grep -rl '@internal' "$dir/dist" --include='*.d.ts' 2>/dev/null) && [ -n "$leaks" ]; then
    echo "check:packages: $name publishes @internal members in: $leaks" >&2; fail=1
  fi
  grep -qx 'package/LICENSE' "$out/list" || { echo "check:packages: $name does not ship LICENSE" >&2; fail=1; }
  if [ -f "$dir/CHANGELOG.md" ] && ! grep -qx 'package/CHANGELOG.md' "$out/list"; then
    echo "check:packages: $name has a CHANGELOG.md but does not ship it" >&2; fail=1
  fi
  echo "== $name ($(du -k "$tarball" | cut -f1) kB packed)"
  npx publint run "$dir" --strict --pack false || fail=1
  npx attw "$tarball" --format ascii || fail=1
  node scripts/check-readme-links.mjs "$dir" "$tarball" || fail=1
done
node scripts/check-changesets.mjs || fail=1
echo "== the next release, rehearsed on a copy of the tree"
bash scripts/release-rehearsal.sh || fail=1
[ "$fail" = 0 ] || { echo "check:packages: FAILED" >&2; exit 1; }
echo "check:packages: every package is clean"
