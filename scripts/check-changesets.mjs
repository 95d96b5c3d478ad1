#!/usr/bin/env node
// Keeps each package's first changelog honest. Until a package's first release (its version is still
// 0.0.0), its changelog must say what the package IS, not how it got there: exactly one changeset
// names it, `.changeset/<folder>-first-release.md` (<folder> is the package's folder under packages/),
// and that file names that package alone with the bump `minor` (0.0.0 -> 0.1.0). A user-visible
// change before then edits that entry instead of adding a changeset. After the first release, one
// changeset per change as usual: this check no longer looks at the package.
//
// Fails (exit 1) with one line per problem on stderr when a never-released package
//   - has no `<folder>-first-release.md`,
//   - is named by any other changeset,
//   - or its first-release file names another package, or a bump other than minor;
// also when a changeset's front matter cannot be read (then it cannot be checked). Private packages
// are never published and are not checked. On success prints one summary line.
//
// The front matter is parsed by hand (lines of `"package": bump` between two `---` lines), as
// changesets writes it; no YAML parser is a direct dependency of the repository.
//
// Usage: node scripts/check-changesets.mjs [repository root]   (default: this script's repository)
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
const CHANGESETS = path.join(ROOT, '.changeset');
const BUMPS = new Set(['major', 'minor', 'patch', 'none']);

/** The front matter of a changeset: `{ releases: [{ name, bump }] }` or `{ error }`. */
function parseFrontMatter(text) {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (lines[0]?.trim() !== '---') return { error: 'does not start with a `---` line' };
  const end = lines.findIndex((l, i) => i > 0 && l.trim() === '---');
  if (end === -1) return { error: 'has no closing `---` line' };
  const releases = [];
  for (const [i, raw] of lines.slice(1, end).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:"([^"]+)"|'([^']+)'|([^\s:'"#][^\s:'"]*))\s*:\s*([A-Za-z]+)\s*(?:#.*)?$/.exec(line);
    if (!m) return { error: `line ${i + 2} is not \`"package": bump\`: ${line}` };
    const bump = m[4];
    if (!BUMPS.has(bump)) return { error: `line ${i + 2} has the bump "${bump}", not one of ${[...BUMPS].join(', ')}` };
    releases.push({ name: m[1] ?? m[2] ?? m[3], bump });
  }
  return { releases };
}

// The packages, by folder.
const packages = [];
for (const folder of readdirSync(path.join(ROOT, 'packages')).sort()) {
  const file = path.join(ROOT, 'packages', folder, 'package.json');
  if (!existsSync(file)) continue;
  const pkg = JSON.parse(readFileSync(file, 'utf8'));
  packages.push({ folder, name: pkg.name, version: pkg.version, private: pkg.private === true });
}

// Every changeset: `.changeset/*.md` but the README, as `changeset version` reads them.
const problems = [];
const named = new Map(); // package name -> [{ file, bump }]
const files = existsSync(CHANGESETS) ? readdirSync(CHANGESETS).filter((f) => f.endsWith('.md') && f !== 'README.md').sort() : [];
for (const file of files) {
  const parsed = parseFrontMatter(readFileSync(path.join(CHANGESETS, file), 'utf8'));
  if (parsed.error) {
    problems.push(`.changeset/${file}: its front matter ${parsed.error}`);
    continue;
  }
  for (const { name, bump } of parsed.releases) {
    if (!named.has(name)) named.set(name, []);
    named.get(name).push({ file, bump });
  }
}

const unreleased = packages.filter((p) => p.version === '0.0.0' && !p.private);
const firstReleaseFiles = new Set(unreleased.map((p) => `${p.folder}-first-release.md`));
for (const p of unreleased) {
  const first = `${p.folder}-first-release.md`;
  if (!files.includes(first)) {
    problems.push(`${p.name} (0.0.0, never released) has no .changeset/${first}: its first release needs that one entry describing the package`);
  }
  for (const { file, bump } of named.get(p.name) ?? []) {
    if (file === first) {
      if (bump !== 'minor') problems.push(`.changeset/${file} gives ${p.name} the bump "${bump}": a first release is minor (0.0.0 -> 0.1.0)`);
    } else if (!firstReleaseFiles.has(file)) {
      // (another package's first-release entry naming this one is reported below, once)
      problems.push(`.changeset/${file} names ${p.name} (0.0.0, never released): until its first release, edit .changeset/${first} instead`);
    }
  }
}
// A first-release file names its own package and nothing else.
for (const p of unreleased) {
  const first = `${p.folder}-first-release.md`;
  for (const [name, uses] of named) {
    if (name !== p.name && uses.some((u) => u.file === first)) {
      problems.push(`.changeset/${first} names ${name}: a first-release entry names ${p.name} alone`);
    }
  }
}

if (problems.length > 0) {
  for (const line of problems) console.error(`check-changesets: ${line}`);
  process.exit(1);
}
const released = packages.filter((p) => !p.private).length - unreleased.length;
console.log(
  `check-changesets: ok: ${unreleased.length} never-released package(s), each with its one first-release entry; ` +
    `${files.length} changeset(s)${released > 0 ? `; ${released} released package(s) not checked` : ''}`,
);
