#!/usr/bin/env bash
# Checks every package as it would be published: packs it with pnpm (workspace ranges resolved),
# then runs publint (strict) and Are the Types Wrong (profile node16: the packages declare
# node >= 20 and are CommonJS, so ESM-importer and require resolution under Node's own rules is
# what matters). Also checks each package ships the root LICENSE and no source map. Expects a
# build (pnpm build) first.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail=0
for dir in packages/*/; do
  dir=${dir%/}
  name=$(node -p "require('./$dir/package.json').name")
  cmp -s LICENSE "$dir/LICENSE" || { echo "check:packages: $dir/LICENSE differs from the root LICENSE" >&2; fail=1; }
  tarball=$(cd "$dir" && npx -y pnpm@10 pack --pack-destination "$out" 2>/dev/null | tail -n1)
  [ -f "$tarball" ] || { echo "check:packages: packing $name failed" >&2; fail=1; continue; }
  tar -tzf "$tarball" >"$out/list"
  if grep -q '\.map$' "$out/list"; then echo "check:packages: $name ships source maps" >&2; fail=1; fi
  # Nothing marked @internal is published (every tsconfig.build.json sets stripInternal).
  if leaks=$(grep -rl '@internal' "$dir/dist" --include='*.d.ts' 2>/dev/null) && [ -n "$leaks" ]; then
    echo "check:packages: $name publishes @internal members in: $leaks" >&2; fail=1
  fi
  grep -qx 'package/LICENSE' "$out/list" || { echo "check:packages: $name does not ship LICENSE" >&2; fail=1; }
  echo "== $name ($(du -k "$tarball" | cut -f1) kB packed)"
  npx publint run "$dir" --strict --pack false || fail=1
  npx attw "$tarball" --profile node16 --format ascii || fail=1
done
[ "$fail" = 0 ] || { echo "check:packages: FAILED" >&2; exit 1; }
echo "check:packages: every package is clean"
