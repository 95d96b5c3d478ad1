#!/usr/bin/env node
// Fails when a package that only installs on some platforms is a hard requirement of another one.
//
// npm refuses to install a package whose `os`, `cpu` or `libc` field excludes the host (EBADPLATFORM)
// unless every path to it from what the user asked for goes through an optional dependency; then it
// skips the package and installs the rest. So `npm i -g tsvmm` works on Windows, macOS and arm64 only if
// each platform-specific package in the CLI's tree is optional somewhere on every path from the CLI.
//
// This walks the dependency tree of an installed package, resolving each dependency the way Node does
// (node_modules folders up from the dependent), and reports each platform-specific package reachable
// from it through required edges only (`dependencies`, non-optional `peerDependencies`), with that path.
// A required dependency that is not installed at all is reported too.
//
// Usage: node scripts/check-platform-deps.mjs <project directory> <package name>
//   e.g. node scripts/check-platform-deps.mjs /tmp/app tsvmm
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import * as path from 'node:path';

const [projectArg, start] = process.argv.slice(2);
if (!projectArg || !start) {
  console.error('usage: node scripts/check-platform-deps.mjs <project directory> <package name>');
  process.exit(2);
}
const project = path.resolve(projectArg);

/** The directory of `name` as `from` (a package directory) would load it, or undefined. */
function resolvePackage(name, from) {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(candidate, 'package.json'))) return realpathSync(candidate);
    if (path.dirname(dir) === dir) return undefined;
  }
}

const readPackage = (dir) => JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));

/** The dependencies of a package: name, and whether the edge is optional. */
function edges(pkg) {
  const out = new Map();
  for (const name of Object.keys(pkg.peerDependencies ?? {})) out.set(name, pkg.peerDependenciesMeta?.[name]?.optional === true);
  for (const name of Object.keys(pkg.dependencies ?? {})) out.set(name, false);
  // optionalDependencies win over dependencies of the same name, as in npm.
  for (const name of Object.keys(pkg.optionalDependencies ?? {})) out.set(name, true);
  return out;
}

const platformFields = (pkg) =>
  ['os', 'cpu', 'libc'].filter((f) => pkg[f] !== undefined).map((f) => `${f}: ${[].concat(pkg[f]).join(', ')}`);

const startDir = resolvePackage(start, project);
if (!startDir) {
  console.error(`check-platform-deps: ${start} is not installed in ${project}`);
  process.exit(1);
}

// Breadth first over (package directory, reached through required edges only?). A package reached
// both ways is visited again when first reached the required way, which is the one that matters.
const required = new Map(); // dir -> path of names through required edges only
const optional = new Map(); // dir -> a path with an optional edge
const problems = [];
const platformSpecific = [];
const queue = [{ dir: startDir, trail: [start], hard: true }];
while (queue.length > 0) {
  const { dir, trail, hard } = queue.shift();
  if (hard ? required.has(dir) : required.has(dir) || optional.has(dir)) continue;
  (hard ? required : optional).set(dir, trail);
  const pkg = readPackage(dir);
  const fields = platformFields(pkg);
  if (fields.length > 0) platformSpecific.push({ name: pkg.name, fields, trail, hard });
  for (const [name, isOptional] of edges(pkg)) {
    const depDir = resolvePackage(name, dir);
    const edgeHard = hard && !isOptional;
    if (!depDir) {
      if (edgeHard && !Object.keys(pkg.peerDependencies ?? {}).includes(name)) {
        problems.push(`${[...trail, name].join(' > ')}: a required dependency that is not installed`);
      }
      continue;
    }
    queue.push({ dir: depDir, trail: [...trail, name], hard: edgeHard });
  }
}

const byName = new Map();
for (const p of platformSpecific) if (!byName.has(p.name) || p.hard) byName.set(p.name, p);
for (const p of [...byName.values()].sort((a, b) => a.name.localeCompare(b.name))) {
  const line = `${p.name} (${p.fields.join('; ')})`;
  if (p.hard) {
    problems.push(`${line} is required on every platform through ${p.trail.join(' > ')}: make it optional on that path (optionalDependencies)`);
  } else {
    console.log(`   optional: ${line}, through ${p.trail.join(' > ')}`);
  }
}
const total = required.size + [...optional.keys()].filter((d) => !required.has(d)).length;
if (problems.length > 0) {
  for (const p of problems) console.error(`check-platform-deps: ${p}`);
  console.error(`check-platform-deps: FAILED: installing ${start} fails (EBADPLATFORM) wherever one of these packages does not install`);
  process.exit(1);
}
console.log(`check-platform-deps: ${start}: ${total} installed packages in its tree; every platform-specific one is optional on its path`);
