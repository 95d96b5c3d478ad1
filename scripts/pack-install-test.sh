#!/usr/bin/env bash
# Installs the packages as a user would: packs every package (pnpm pack), installs only
# @tsvmm/virt, @tsvmm/virt-kvm and @tsvmm/pci-core (and the @tsvmm packages they depend on, from the
# same tarballs) with npm into an empty project outside the workspace, and runs one small program from
# ESM and from CommonJS: a KVM partition, an irqfd route programmed through the MSI-X emulator, the
# device's signal, the vector read back from the vCPU's IRR. Where /dev/kvm is missing the program
# must get the typed UNAVAILABLE error from KvmPartition.create, and the delivery part is reported
# loudly as SKIPPED. Fails if the mshv or WHP packages, the CLI's dependencies or a test-only library
# (fast-check, jest, ts-jest, esbuild, echarts) are pulled in, if the testing entry points need
# fast-check to load, or if installing the CLI takes more than 10 MB. Expects a build (pnpm build) first.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/tsvmm-pack-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "pack-install: FAILED: $*" >&2; exit 1; }

echo "== pack every package"
mkdir -p "$work/tarballs"
for dir in "$root"/packages/*/; do
  (cd "$dir" && npx -y pnpm@10 pack --pack-destination "$work/tarballs" >/dev/null 2>&1) || fail "pnpm pack in $dir"
done
ls "$work/tarballs"

# The tarballs a set of packages needs: the packages and, transitively, every @tsvmm dependency
# named in their packed package.json.
closure() {
  node - "$work/tarballs" "$@" <<'JS'
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const [dir, ...wanted] = process.argv.slice(2);
const byName = new Map();
for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.tgz'))) {
  const pkg = JSON.parse(execFileSync('tar', ['-xzOf', path.join(dir, f), 'package/package.json'], { encoding: 'utf8' }));
  byName.set(pkg.name, { file: path.join(dir, f), deps: Object.keys(pkg.dependencies ?? {}) });
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

echo "== install the CLI (tsvmm) into another empty project"
cli="$work/cli"
install "$cli" tsvmm
size=$(du -sk "$cli/node_modules" | cut -f1)
echo "   node_modules: $((size / 1024)) MB (${size} kB)"
[ "$size" -le $((10 * 1024)) ] || fail "installing the CLI takes ${size} kB, more than 10 MB"
(cd "$cli" && npx --no-install tsvmm probe --json | node -e 'JSON.parse(require("fs").readFileSync(0, "utf8"))') || fail "tsvmm probe --json did not print JSON"
echo "pack-install: OK"
