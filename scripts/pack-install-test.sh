#!/usr/bin/env bash
# Installs the packages as a user would: packs every package (pnpm pack), installs only
# @tsvmm/virt, @tsvmm/virt-kvm and @tsvmm/pci-core (and the @tsvmm packages they depend on, from the
# same tarballs) with npm into an empty project outside the workspace, and runs one small program from
# ESM and from CommonJS: a KVM partition, an irqfd route programmed through the MSI-X emulator, the
# device's signal, the vector read back from the vCPU's IRR. Where /dev/kvm is missing the program
# must get the typed UNAVAILABLE error from KvmPartition.create, and the delivery part is reported
# loudly as SKIPPED. Fails if the mshv or WHP packages, the CLI's dependencies or a test-only library
# (fast-check, jest, ts-jest, esbuild, echarts) are pulled in, or if the testing entry points need
# fast-check to load.
#
# Types: every package's root and public subpaths type-check from the tarballs under node10, node16
# and bundler resolution, with and without the ESNext.Disposable lib, with the repository's TypeScript and
# with 5.7, the oldest supported (scripts/check-types.mjs).
#
# The CLI: installs `tsvmm` alone, its @tsvmm dependencies taken from the same tarballs (npm
# overrides), as `npm i tsvmm` would. Fails if that takes more than 10 MB, if `tsvmm probe --json`
# does not print JSON, or if a platform-specific package (`os`, `cpu`, `libc`) is required somewhere
# in its tree rather than optional on its path from the CLI (scripts/check-platform-deps.mjs: npm
# refuses such an install with EBADPLATFORM on every other platform). Then installs it as npm would
# on Windows x64, macOS arm64 and Linux arm64 (`--os`, `--cpu`): each install must succeed and hold no
# package that declares another platform, and the CLI, run here without the packages that install
# skipped, must list every backend (the skipped ones unavailable, with the reason) and run its demo.
#
# Packing runs each package's prepack script, which builds it: no build is needed first.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/tsvmm-pack-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "pack-install: FAILED: $*" >&2; exit 1; }
# A failed check that does not stop the run: every such check still runs, and the run fails at the end.
failed=0
problem() { echo "pack-install: FAILED: $*" >&2; failed=1; }

echo "== pack every package"
mkdir -p "$work/tarballs"
for dir in "$root"/packages/*/; do
  (cd "$dir" && npx -y pnpm@10 pack --pack-destination "$work/tarballs" >/dev/null 2>&1) || fail "pnpm pack in $dir"
done
ls "$work/tarballs"

# The tarballs a set of packages needs: the packages and, transitively, every @tsvmm dependency
# (optional ones included) named in their packed package.json.
closure() {
  node - "$work/tarballs" "$@" <<'JS'
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const [dir, ...wanted] = process.argv.slice(2);
const byName = new Map();
for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.tgz'))) {
  const pkg = JSON.parse(execFileSync('tar', ['-xzOf', path.join(dir, f), 'package/package.json'], { encoding: 'utf8' }));
  byName.set(pkg.name, { file: path.join(dir, f), deps: Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies }) });
}
const out = new Set();
const visit = (name) => {
  if (out.has(name)) return;
  const p = byName.get(name);
  if (!p) throw new Error(`no tarball for ${name}`);
  out.add(name);
  p.deps.filter((d) => d.startsWith('@tsvmm/') || d === 'tsvmm').forEach(visit);
};
wanted.forEach(visit);
console.log([...out].map((n) => byName.get(n).file).join('\n'));
JS
}

install() { # dir, package names...
  local dir=$1; shift
  mkdir -p "$dir"
  (cd "$dir" && npm init -y >/dev/null && mapfile -t files < <(closure "$@") && npm install --no-audit --no-fund --prefer-offline "${files[@]}" >/dev/null) ||
    fail "npm install of $* into $dir"
}

echo "== type-check every entry point from the tarballs: node10, node16, bundler x lib with and without ESNext.Disposable"
node "$root/scripts/check-types.mjs" "$work/tarballs" || problem "the packages' types do not compile in every setup"

echo "== install @tsvmm/virt, @tsvmm/virt-kvm and @tsvmm/pci-core into an empty project"
app="$work/app"
install "$app" @tsvmm/virt @tsvmm/virt-kvm @tsvmm/pci-core
installed=$(cd "$app" && npm ls --all --parseable 2>/dev/null | sed "s|^$app/node_modules/||" | grep -v "^$app$" | sort)
echo "$installed" | sed 's/^/   /'
# Every installed package by name, wherever npm put it (hoisted or nested under another package).
names=$(echo "$installed" | sed 's|.*node_modules/||' | sort -u)
[ -n "$names" ] || fail "found no installed package in $app/node_modules"
for unwanted in @tsvmm/virt-mshv @tsvmm/virt-whp @tsvmm/virt-software tsvmm cli-table3 playwright-core; do
  if echo "$names" | grep -qx -- "$unwanted"; then fail "$unwanted was installed, but nothing the user asked for needs it"; fi
done
# Test-only libraries: the published packages' runtime must not pull any of them in (the testing
# entry points load fast-check, an optional peer dependency, only when its property tests run).
for unwanted in fast-check jest ts-jest esbuild echarts; do
  if echo "$names" | grep -qx -- "$unwanted"; then fail "$unwanted was installed: it is a test-only library, and no runtime dependency may need it"; fi
done

echo "== the testing entry points load without fast-check"
(cd "$app" && node -e '
  const { createRequire } = require("node:module");
  let fastCheck = true;
  try { require.resolve("fast-check"); } catch { fastCheck = false; }
  if (fastCheck) throw new Error("fast-check is resolvable from the project");
  // From where @tsvmm/virt-kvm is installed: its own dependency, not whatever npm hoisted.
  const fromKvm = createRequire(require.resolve("@tsvmm/virt-kvm"));
  const kvmTesting = require("@tsvmm/virt-kvm/testing");
  const sysTesting = fromKvm("@tsvmm/linux-sys/testing");
  if (typeof kvmTesting.KvmKernelModel !== "function" || typeof sysTesting.FaultInjector !== "function" || typeof sysTesting.defineIrqFdFaultSuite !== "function")
    throw new Error("a testing export is missing");
  console.log("   @tsvmm/virt-kvm/testing and @tsvmm/linux-sys/testing loaded; fast-check is not installed");
') || fail "the testing entry points need fast-check or failed to load"

cat >"$app/program.cjs" <<'JS'
const { isVirtError } = require('@tsvmm/virt');
const { KvmPartition } = require('@tsvmm/virt-kvm');
const { MsixEmulator, createIrqFdMsixRoutes } = require('@tsvmm/pci-core');
require('./route-one.cjs')({ isVirtError, KvmPartition, MsixEmulator, createIrqFdMsixRoutes }, 'CommonJS').catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
JS
cat >"$app/program.mjs" <<'JS'
import { isVirtError } from '@tsvmm/virt';
import { KvmPartition } from '@tsvmm/virt-kvm';
import { MsixEmulator, createIrqFdMsixRoutes } from '@tsvmm/pci-core';
import { createRequire } from 'node:module';
await createRequire(import.meta.url)('./route-one.cjs')({ isVirtError, KvmPartition, MsixEmulator, createIrqFdMsixRoutes }, 'ESM');
JS
# What both programs do with what they imported (the imports themselves are the part under test).
cat >"$app/route-one.cjs" <<'JS'
module.exports = async function routeOne({ isVirtError, KvmPartition, MsixEmulator, createIrqFdMsixRoutes }, how) {
  for (const [name, value] of Object.entries({ isVirtError, KvmPartition, MsixEmulator, createIrqFdMsixRoutes })) {
    if (typeof value !== 'function') throw new Error(`${how}: ${name} is not exported`);
  }
  let partition;
  try {
    partition = KvmPartition.create({ vcpus: 1 });
  } catch (e) {
    if (isVirtError(e) && e.code === 'UNAVAILABLE') {
      console.log(`${how}: imports OK; KvmPartition.create threw the typed UNAVAILABLE error: ${e.message}`);
      console.log(`${how}: SKIPPED the delivery (partition, route, vector in IRR): this host has no usable /dev/kvm`);
      return;
    }
    throw e;
  }
  try {
    const irqfd = partition.irqfd();
    const set = createIrqFdMsixRoutes(irqfd, 1);
    const msix = new MsixEmulator({ vectors: 1, table: { bir: 0, offset: 0 }, pba: { bir: 0, offset: 0x800 } });
    msix.setRoutes(set.routes, { batch: set.batch });
    const dword = (offset, value) => {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint32(0, value, true);
      msix.write(0, offset, b);
    };
    msix.configWrite(2, 2, 0x8000); // Message Control: Enable
    dword(0, 0xfee00000); // entry 0: APIC 0
    dword(8, 0x45); // vector 0x45, fixed, edge
    dword(12, 0); // unmask
    partition.clearIrr(0);
    set.irqfdRoutes[0].event.signal();
    if (typeof irqfd.settle === 'function') await irqfd.settle();
    const irr = partition.readLocalApic(0).irr;
    if (!irr.includes(0x45)) throw new Error(`${how}: vector 0x45 is not in vCPU 0's IRR: [${irr.map((v) => v.toString(16))}]`);
    console.log(`${how}: a route programmed through the MSI-X table delivered vector 0x45 into vCPU 0's IRR`);
    msix.clearRoutes();
    set.dispose();
  } finally {
    partition.dispose();
  }
};
JS
echo "== run from CommonJS and from ESM"
for program in program.cjs program.mjs; do
  out=$(cd "$app" && node "$program" 2>&1) || { echo "$out" >&2; fail "node $program"; }
  echo "$out"
  if echo "$out" | grep -q SKIPPED; then
    echo "=================================================================================" >&2
    echo "pack-install: /dev/kvm is MISSING: the delivery part of $program was SKIPPED, not passed." >&2
    echo "=================================================================================" >&2
  fi
done

# A project that depends on `tsvmm` alone, every @tsvmm package resolved to its tarball wherever it
# appears in the tree (npm overrides), so that each dependency keeps the kind (required, optional)
# the CLI's package.json gives it.
install_cli() { # dir, extra npm arguments...
  local dir=$1; shift
  mkdir -p "$dir"
  node - "$work/tarballs" "$dir/package.json" <<'JS'
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const [dir, out] = process.argv.slice(2);
const overrides = {};
for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.tgz'))) {
  const { name } = JSON.parse(execFileSync('tar', ['-xzOf', path.join(dir, f), 'package/package.json'], { encoding: 'utf8' }));
  overrides[name] = `file:${path.join(dir, f)}`;
}
if (!overrides.tsvmm) throw new Error('no tarball for tsvmm');
const pkg = { name: 'tsvmm-cli-install', version: '1.0.0', private: true, dependencies: { tsvmm: overrides.tsvmm }, overrides };
fs.writeFileSync(out, `${JSON.stringify(pkg, null, 2)}\n`);
JS
  (cd "$dir" && npm install --no-audit --no-fund --prefer-offline "$@" >"$dir/npm.log" 2>&1) || { cat "$dir/npm.log" >&2; fail "npm install tsvmm $* in $dir"; }
}

echo "== install the CLI (tsvmm) alone into another empty project"
cli="$work/cli"
install_cli "$cli"
size=$(du -sk "$cli/node_modules" | cut -f1)
echo "   node_modules: $((size / 1024)) MB (${size} kB)"
[ "$size" -le $((10 * 1024)) ] || fail "installing the CLI takes ${size} kB, more than 10 MB"
(cd "$cli" && npx --no-install tsvmm probe --json | node -e 'JSON.parse(require("fs").readFileSync(0, "utf8"))') || fail "tsvmm probe --json did not print JSON"

echo "== every platform-specific package in the CLI's tree is optional on its path from the CLI"
node "$root/scripts/check-platform-deps.mjs" "$cli" tsvmm || problem "npm i -g tsvmm fails with EBADPLATFORM off Linux x64"

# What npm installs on another platform: optional packages are checked against --os/--cpu and
# skipped when they do not match; required ones are checked against this host only, so a package
# of another platform in the tree is one that every other platform refuses.
for platform in win32/x64 darwin/arm64 linux/arm64; do
  os=${platform%/*} cpu=${platform#*/}
  echo "== install the CLI as npm would on $os $cpu (npm --os=$os --cpu=$cpu)"
  sim="$work/cli-$os-$cpu"
  install_cli "$sim" --os="$os" --cpu="$cpu" --ignore-scripts
  report=$(node - "$sim" "$os" "$cpu" <<'JS'
const fs = require('node:fs');
const path = require('node:path');
const [dir, os, cpu] = process.argv.slice(2);
const lock = JSON.parse(fs.readFileSync(path.join(dir, 'package-lock.json'), 'utf8'));
const fits = (list, value) => list === undefined || [].concat(list).some((v) => (v.startsWith('!') ? v.slice(1) !== value : v === value));
const wrong = [];
const installed = [];
for (const [where, entry] of Object.entries(lock.packages)) {
  if (!where || !fs.existsSync(path.join(dir, where, 'package.json'))) continue; // the root; skipped optional packages
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, where, 'package.json'), 'utf8'));
  installed.push(pkg.name);
  if (!fits(pkg.os, os) || !fits(pkg.cpu, cpu)) wrong.push(`${pkg.name} (os: ${pkg.os ?? 'any'}, cpu: ${pkg.cpu ?? 'any'})${entry.optional ? '' : ', required'}`);
}
const tsvmm = installed.filter((n) => n === 'tsvmm' || n.startsWith('@tsvmm/')).sort();
console.log(JSON.stringify({ wrong, tsvmm }));
JS
  ) || fail "reading the $os $cpu install"
  echo "   installed: $(node -p 'JSON.parse(process.argv[1]).tsvmm.join(", ")' "$report")"
  wrong=$(node -p 'JSON.parse(process.argv[1]).wrong.join("; ")' "$report")
  [ -z "$wrong" ] || problem "installing tsvmm for $os $cpu installs packages of another platform, which npm refuses there (EBADPLATFORM): $wrong"

  # The CLI on a host where those packages are missing: this host's install, without what the
  # $os $cpu install skipped (koffi keeps this host's binary, so the rest loads as it would there).
  echo "== run the CLI without the packages the $os $cpu install skipped"
  here="$work/cli-without-$os-$cpu"
  cp -a "$cli" "$here"
  skipped=$(node -e '
    const [report, dir] = process.argv.slice(1);
    const kept = new Set(JSON.parse(report).tsvmm);
    const fs = require("node:fs");
    const all = ["tsvmm", ...fs.readdirSync(dir + "/node_modules/@tsvmm").map((n) => "@tsvmm/" + n)];
    console.log(all.filter((n) => !kept.has(n)).join(" "));
  ' "$report" "$here")
  for name in $skipped; do rm -rf "${here:?}/node_modules/$name"; done
  echo "   removed: ${skipped:-nothing}"
  probe=$(cd "$here" && npx --no-install tsvmm probe --json 2>"$here/probe.err") || true
  node - "$probe" "$skipped" <<'JS' || problem "tsvmm probe without ${skipped:-nothing} (as on $os $cpu): $(head -c 600 "$here/probe.err")"
const [text, skipped] = process.argv.slice(2);
const report = JSON.parse(text);
const backends = report.backends ?? [];
const missing = new Map([['@tsvmm/virt-kvm', 'kvm'], ['@tsvmm/virt-mshv', 'mshv'], ['@tsvmm/virt-whp', 'whp'], ['@tsvmm/virt-software', 'software']]);
for (const name of ['kvm', 'mshv', 'whp', 'software']) {
  const b = backends.find((x) => x.backend === name);
  if (!b) throw new Error(`probe does not list the ${name} backend: ${text}`);
}
for (const pkg of skipped.split(' ').filter(Boolean)) {
  const name = missing.get(pkg);
  if (!name) continue;
  const b = backends.find((x) => x.backend === name);
  if (b.available || !/not installed/.test(b.reason)) throw new Error(`${name}: expected unavailable because ${pkg} is not installed, got ${JSON.stringify(b)}`);
  console.log(`   probe: ${name} unavailable (${b.code}): ${b.reason}`);
}
if (!backends.find((x) => x.backend === 'software')?.available) throw new Error('the software backend is not available');
JS
  if demo=$(cd "$here" && npx --no-install tsvmm demo --json 2>"$here/demo.err"); then
    node -e 'console.log(`   demo: ran on the ${JSON.parse(process.argv[1]).backend} backend`)' "$demo"
  else
    problem "tsvmm demo without ${skipped:-nothing} (as on $os $cpu): $(head -c 600 "$here/demo.err")"
  fi
done
[ "$failed" = 0 ] || { echo "pack-install: FAILED (see above)" >&2; exit 1; }
echo "pack-install: OK"
