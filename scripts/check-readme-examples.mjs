#!/usr/bin/env node
// Keeps README code and example files from drifting apart. A README marks an example by putting
//
//   <!-- example: examples/irqfd.js -->
//
// on the line right before a fenced code block; the block must be byte-identical to that file
// (path relative to the README; for a JavaScript twin made from a TypeScript example, to what
// scripts/examples-js.mjs makes, since the twin is a build output), and its fence language must
// match the file (js or ts). Every
// `js` block must be such an example, and a JavaScript example must run on Node 20 as is (no
// `using` declarations, which Node 20 cannot parse). The package tests run the example files.
// Every package an example imports or requires must be named by an `npm install` command in the
// same README (in a code block or inline code): a package that only resolves because the package
// manager hoisted it is missing for a user of pnpm, or of npm with another layout.
//
// Usage: node scripts/check-readme-examples.mjs [--json] [README.md ...]
//   With no README named: the root README.md and every packages/*/README.md.
//   Prints one line per checked block (or, with --json, the examples of each README as JSON);
//   on any mismatch, says where on stderr and exits 1.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedTwin } from './examples-js.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MARKER = /^<!--\s*example:\s*(\S+)\s*-->\s*$/;
const OPEN = /^( {0,3})(`{3,}|~{3,})\s*([^\s`]*)[^`]*$/;
const LANGUAGES = { '.js': 'js', '.cjs': 'js', '.mjs': 'js', '.ts': 'ts', '.mts': 'ts', '.cts': 'ts' };
const JS_FENCES = new Set(['js', 'javascript', 'cjs', 'mjs']);
// A `using` or `await using` declaration: Node 20 rejects it as a syntax error.
const USING = /^\s*(?:await\s+)?using\s+[\p{L}_$][\p{L}\p{N}_$]*\s*=/mu;

/** The fenced blocks of a Markdown file: info string, content (each line with its newline), lines. */
function fencedBlocks(lines) {
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = OPEN.exec(lines[i]);
    if (!open) continue;
    const fence = open[2];
    const close = new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`);
    let j = i + 1;
    while (j < lines.length && !close.test(lines[j])) j++;
    if (j === lines.length) throw new Error(`line ${i + 1}: code block never closed`);
    const body = lines.slice(i + 1, j);
    blocks.push({ lang: open[3].toLowerCase(), start: i, end: j, content: body.map((l) => `${l}\n`).join('') });
    i = j;
  }
  return blocks;
}

// `npm install a b` up to the end of the line, a backtick or a comment; options are not packages.
const NPM_INSTALL = /\bnpm (?:install|i|add)\b([^`#\n]*)/g;
// require('x'), import('x'), import ... from 'x', import 'x', export ... from 'x'.
const SPECIFIER = /\b(?:require|import)\s*\(\s*(['"])([^'"]+)\1\s*\)|\bfrom\s+(['"])([^'"]+)\3|^\s*import\s+(['"])([^'"]+)\5/gm;
const BUILTINS = new Set(builtinModules);

/** The packages the README's `npm install` commands name (each without a version range). */
function installedPackages(text) {
  const names = new Set();
  for (const m of text.matchAll(NPM_INSTALL)) {
    for (const arg of m[1].trim().split(/\s+/)) {
      if (arg === '' || arg.startsWith('-')) continue;
      names.add(arg.replace(/(?!^)@.*$/, '')); // @scope/name@^1 -> @scope/name
    }
  }
  return names;
}

/** The packages a source file imports or requires: bare specifiers, not Node's own modules. */
function importedPackages(source) {
  const names = new Set();
  for (const m of source.matchAll(SPECIFIER)) {
    const spec = m[2] ?? m[4] ?? m[6];
    if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:') || BUILTINS.has(spec.split('/')[0])) continue;
    const parts = spec.split('/');
    names.add(spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]);
  }
  return names;
}

/** The first line (1-based) where two texts differ, each without its final newline. */
function firstDifference(a, b) {
  if (a === b) return undefined;
  const x = a.replace(/\n$/, '').split('\n');
  const y = b.replace(/\n$/, '').split('\n');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] !== y[i]) return { line: i + 1, readme: x[i], file: y[i] };
  }
  return { line: x.length, readme: x.at(-1), file: y.at(-1) }; // only the final newline differs
}

/** Checks one README; returns its examples and the problems found. */
export function checkReadme(readme) {
  const dir = path.dirname(readme);
  const text = readFileSync(readme, 'utf8');
  const lines = text.split('\n');
  const installed = installedPackages(text);
  const rel = path.relative(ROOT, readme) || readme;
  const examples = [];
  const errors = [];
  let blocks;
  try {
    blocks = fencedBlocks(lines);
  } catch (e) {
    return { readme: rel, examples, errors: [`${rel}: ${e.message}`] };
  }
  const byStart = new Map(blocks.map((b) => [b.start, b]));
  lines.forEach((line, i) => {
    const m = MARKER.exec(line);
    if (!m) return;
    const block = byStart.get(i + 1);
    if (!block) {
      errors.push(`${rel}:${i + 1}: the example marker for ${m[1]} is not directly followed by a fenced code block`);
      return;
    }
    block.file = m[1];
    const file = path.resolve(dir, m[1]);
    const where = `${rel}:${block.start + 1}`;
    const before = errors.length;
    const expected = LANGUAGES[path.extname(file)];
    if (!expected) return void errors.push(`${where}: ${m[1]} is neither JavaScript nor TypeScript`);
    const lang = JS_FENCES.has(block.lang) ? 'js' : block.lang;
    if (lang !== expected) errors.push(`${where}: the block is marked \`${block.lang || '(none)'}\` but ${m[1]} is ${expected}`);
    // A generated twin is compared with what its .ts makes: it exists only once the package is built.
    const made = generatedTwin(file);
    if (made === undefined && !existsSync(file)) return void errors.push(`${where}: ${m[1]} does not exist`);
    const content = made ?? readFileSync(file, 'utf8');
    const diff = firstDifference(block.content, content);
    if (diff && !content.endsWith('\n') && block.content === `${content}\n`) {
      errors.push(`${where}: ${m[1]} does not end with a newline (the block does)`);
    } else if (diff) {
      errors.push(
        `${where}: the block differs from ${m[1]} at its line ${diff.line}:\n` +
          `    README: ${diff.readme === undefined ? '(the block ends here)' : JSON.stringify(diff.readme)}\n` +
          `    file:   ${diff.file === undefined ? '(the file ends here)' : JSON.stringify(diff.file)}`,
      );
    }
    if (expected === 'js' && USING.test(content)) errors.push(`${where}: ${m[1]} has a \`using\` declaration, which Node 20 cannot run`);
    for (const name of importedPackages(content)) {
      if (!installed.has(name)) errors.push(`${where}: ${m[1]} needs ${name}, which no \`npm install\` command in ${rel} names`);
    }
    examples.push({ file: path.relative(dir, file).split(path.sep).join('/'), lang: expected, line: block.start + 1, ok: errors.length === before });
  });
  for (const b of blocks) {
    if (JS_FENCES.has(b.lang) && b.file === undefined) {
      errors.push(`${rel}:${b.start + 1}: a JavaScript block without an example marker (<!-- example: path -->): JavaScript shown must be a file the tests run`);
    }
  }
  return { readme: rel, examples, errors };
}

function allReadmes() {
  const packages = path.join(ROOT, 'packages');
  return [
    path.join(ROOT, 'README.md'),
    ...readdirSync(packages)
      .map((p) => path.join(packages, p, 'README.md'))
      .filter((f) => existsSync(f))
      .sort(),
  ];
}

function main(argv) {
  const json = argv.includes('--json');
  const named = argv.filter((a) => a !== '--json').map((a) => path.resolve(a));
  const results = (named.length > 0 ? named : allReadmes()).map(checkReadme);
  const errors = results.flatMap((r) => r.errors);
  if (json) process.stdout.write(`${JSON.stringify(results.map(({ readme, examples }) => ({ readme, examples })), null, 2)}\n`);
  else for (const r of results) for (const e of r.examples) if (e.ok) console.log(`ok  ${r.readme}:${e.line}  ${e.file}`);
  if (errors.length > 0) {
    for (const e of errors) console.error(`check-readme-examples: ${e}`);
    process.exit(1);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
