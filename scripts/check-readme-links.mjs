#!/usr/bin/env node
// Checks the links of a package's README as published: npm shows the README from the tarball, so a
// relative link must name a file the tarball ships (`../virt/README.md`, `examples/x.js` do not), and
// a link into this repository must be absolute, in the form the package.json `repository` and
// `homepage` fields use (https://github.com/tsvmm/tsvmm/tree/main/<folder>, .../blob/main/<file>,
// the branch `main`), and name a file or folder that exists in the repository.
//
// Reads Markdown links and images ([text](target), ![alt](target), [ref]: target) and HTML
// href/src attributes, outside code blocks and inline code. Anchors (#...) and other sites are not
// checked.
//
// Usage: node scripts/check-readme-links.mjs <package folder> <packed .tgz>
// Prints each link checked; on a problem says where on stderr and exits 1.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [dirArg, tarball] = process.argv.slice(2);
if (!dirArg || !tarball) {
  console.error('usage: node scripts/check-readme-links.mjs <package folder> <packed .tgz>');
  process.exit(2);
}
const dir = path.resolve(dirArg);
const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
const shipped = new Set(
  execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((f) => f.replace(/^package\//, '')),
);
const shippedDirs = new Set([...shipped].flatMap((f) => f.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/'))));

// The repository's web address, from package.json: git+https://github.com/o/r.git -> https://github.com/o/r
const repoUrl = String(pkg.repository?.url ?? '')
  .replace(/^git\+/, '')
  .replace(/\.git$/, '');
if (!/^https:\/\/github\.com\/[^/]+\/[^/]+$/.test(repoUrl)) {
  console.error(`check-readme-links: ${pkg.name}: package.json repository.url is not a GitHub repository: ${pkg.repository?.url}`);
  process.exit(1);
}

// The package's folder in the repository (package.json repository.directory, as npm shows it).
const folder = pkg.repository?.directory ?? path.relative(ROOT, dir).split(path.sep).join('/');
const readme = path.join(dir, 'README.md');
const lines = readFileSync(readme, 'utf8').split('\n');
const rel = `${folder}/README.md`;

// Links outside fenced code blocks and inline code spans.
const links = [];
let fence = null;
lines.forEach((line, i) => {
  const open = /^ {0,3}(`{3,}|~{3,})/.exec(line);
  if (fence) {
    if (open && open[1][0] === fence[0] && open[1].length >= fence.length && line.trim() === open[1]) fence = null;
    return;
  }
  if (open) {
    fence = open[1];
    return;
  }
  const text = line.replace(/(`+)(?:(?!\1).)+?\1/g, (m) => ' '.repeat(m.length));
  for (const m of text.matchAll(/!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) links.push({ line: i + 1, target: m[1] });
  for (const m of text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/g)) links.push({ line: i + 1, target: m[1] });
  for (const m of text.matchAll(/\b(?:href|src)\s*=\s*(["'])([^"']+)\1/gi)) links.push({ line: i + 1, target: m[2] });
});

const problems = [];
for (const { line, target } of links) {
  const where = `${rel}:${line}`;
  const [base] = target.split('#');
  if (target.startsWith('#') || /^mailto:/i.test(target)) continue;
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
    if (!target.startsWith(`${repoUrl}/`) && target !== repoUrl && !target.startsWith(`${repoUrl}#`)) continue;
    // Into this repository: tree/main/<folder> or blob/main/<file>, which must exist.
    const m = /^\/(tree|blob)\/main(?:\/([^?#]*))?/.exec(base.slice(repoUrl.length));
    if (!m && base !== repoUrl) {
      problems.push(`${where}: ${target} is not in the form ${repoUrl}/tree/main/<folder> or ${repoUrl}/blob/main/<file>`);
      continue;
    }
    if (!m) continue;
    const inRepo = path.join(ROOT, decodeURIComponent(m[2] ?? ''));
    if (!existsSync(inRepo)) problems.push(`${where}: ${target} names ${m[2]}, which is not in the repository`);
    else console.log(`   ok  ${where}  ${target}`);
    continue;
  }
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname('README.md'), decodeURIComponent(base)));
  if (resolved.startsWith('../') || resolved === '..') {
    const inRepo = path.posix.normalize(path.posix.join(folder, decodeURIComponent(base)));
    problems.push(`${where}: ${target} points outside the package, at ${inRepo}, which the tarball cannot hold; link to ${repoUrl}/tree/main/<folder> or ${repoUrl}/blob/main/<file> instead`);
  } else if (!shipped.has(resolved) && !shippedDirs.has(resolved.replace(/\/$/, ''))) {
    problems.push(`${where}: ${target} is not in the published tarball (files: ${JSON.stringify(pkg.files)}); ship it or link to ${repoUrl}/blob/main/${path.posix.join(folder, resolved)}`);
  } else {
    console.log(`   ok  ${where}  ${target}`);
  }
}
if (problems.length > 0) {
  for (const p of problems) console.error(`check-readme-links: ${p}`);
  process.exit(1);
}
console.log(`check-readme-links: ${pkg.name}: ${links.length} links, every one works from the tarball`);
