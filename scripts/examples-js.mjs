#!/usr/bin/env node
// Writes the plain-JavaScript twin of a README's TypeScript example, so that the two cannot drift:
// the .ts is the source, and its .js (what a user runs with plain Node 20, CommonJS) is made from
// it here, keeping its text, comments and layout. A twin is a build output, not a tracked file:
// the package's build writes it (for its tests and for a user of a clone), and
// check-readme-examples.mjs compares the README's block with what the .ts makes (generatedTwin),
// so the README shows the exact file without a build. Each `import { a, type T } from 'm'` becomes
// `const { a } = require('m')`; each exported function loses `export` and its type annotations,
// which move into its JSDoc as `@param {import('m').T} name` and `@returns {import('m').T}`;
// `module.exports` names the exported functions. Any other TypeScript syntax (a `using`
// declaration, `as`, `!`, a typed variable, a type declaration) is refused: such an example is not
// "the .ts without types" and keeps a hand-written twin.
//
// Usage: node scripts/examples-js.mjs [--check]
//   Writes every twin listed in TWINS; with --check, writes nothing and exits 1 (saying which file
//   and where) if a written twin differs from what its .ts makes now (a stale build).
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The TypeScript examples whose .js twin is made from them (paths from the repository root). */
export const TWINS = ['packages/virt/examples/wire-device.ts'];

/** The text made for `jsFile` (an absolute path) when it is the twin of an example in TWINS, else undefined. */
export function generatedTwin(jsFile) {
  if (!jsFile.endsWith('.js')) return undefined;
  const rel = path.relative(ROOT, jsFile.replace(/\.js$/, '.ts')).split(path.sep).join('/');
  return TWINS.includes(rel) ? toJavaScript(readFileSync(path.join(ROOT, rel), 'utf8'), rel) : undefined;
}

/** The .js text for the TypeScript example `source` (named `file` in errors). */
export function toJavaScript(source, file) {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const edits = [];
  const typeModules = new Map(); // type name -> module it is imported from
  const exported = [];
  const refuse = (node, what) => {
    const { line, character } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
    throw new Error(`${file}:${line + 1}:${character + 1}: ${what}: not "the .ts without types"; keep a hand-written .js twin`);
  };
  const jsdocType = (typeNode) => {
    let text = typeNode.getText(sf);
    for (const [name, from] of typeModules) text = text.replace(new RegExp(`\\b${name}\\b`, 'g'), `import('${from}').${name}`);
    return text;
  };
  // Anything typed inside a body or a top-level statement other than those handled below.
  const assertPlain = (root) => {
    const visit = (n) => {
      if (ts.isTypeNode(n) || ts.isNonNullExpression(n) || ts.isAsExpression(n) || ts.isSatisfiesExpression(n) || ts.isTypeAssertionExpression(n)) refuse(n, `TypeScript syntax (${ts.SyntaxKind[n.kind]})`);
      if (ts.isVariableDeclarationList(n) && (n.flags & ts.NodeFlags.Using) !== 0) refuse(n, 'a `using` declaration (Node 20 cannot parse it)');
      if ((ts.isVariableDeclaration(n) || ts.isParameter(n)) && n.type !== undefined) refuse(n, 'a typed declaration');
      if ((ts.isFunctionLike(n) && n.typeParameters !== undefined) || (ts.isFunctionLike(n) && 'type' in n && n.type !== undefined)) refuse(n, 'a typed function');
      ts.forEachChild(n, visit);
    };
    visit(root);
  };
  for (const st of sf.statements) {
    if (ts.isImportDeclaration(st)) {
      const from = st.moduleSpecifier.text;
      const clause = st.importClause;
      const named = clause?.namedBindings;
      if (clause === undefined || clause.name !== undefined || named === undefined || !ts.isNamedImports(named)) refuse(st, 'an import other than `import { ... } from`');
      const values = [];
      for (const s of named.elements) {
        if (s.propertyName !== undefined) refuse(s, 'a renamed import');
        if (clause.isTypeOnly || s.isTypeOnly) typeModules.set(s.name.text, from);
        else values.push(s.name.text);
      }
      edits.push([st.getStart(sf), st.end, values.length === 0 ? '' : `const { ${values.join(', ')} } = require('${from}');`]);
      continue;
    }
    if (ts.isFunctionDeclaration(st) && st.body !== undefined && st.name !== undefined) {
      const mods = st.modifiers ?? [];
      if (mods.some((m) => m.kind !== ts.SyntaxKind.ExportKeyword) || st.typeParameters !== undefined || st.asteriskToken !== undefined) refuse(st, 'a function other than `export function`');
      if (mods.length > 0) {
        exported.push(st.name.text);
        const keyword = st.getChildren(sf).find((c) => c.kind === ts.SyntaxKind.FunctionKeyword);
        edits.push([mods[0].getStart(sf), keyword.getStart(sf), '']);
      }
      const params = [];
      for (const p of st.parameters) {
        if (!ts.isIdentifier(p.name) || p.initializer !== undefined || p.dotDotDotToken !== undefined || p.questionToken !== undefined) refuse(p, 'a parameter other than `name: Type`');
        if (p.type === undefined) refuse(p, 'an untyped parameter');
        params.push(`@param {${jsdocType(p.type)}} ${p.name.text}`);
        edits.push([p.name.end, p.type.end, '']);
      }
      if (st.type !== undefined) {
        params.push(`@returns {${jsdocType(st.type)}}`);
        edits.push([st.parameters.end, st.body.getStart(sf), ') ']);
      }
      assertPlain(st.body);
      const docs = ts.getJSDocCommentsAndTags(st).filter(ts.isJSDoc);
      if (docs.length !== 1 || docs[0].tags !== undefined) refuse(st, 'an exported function without exactly one tag-free JSDoc comment');
      const doc = docs[0];
      const text = typeof doc.comment === 'string' ? doc.comment : '';
      const lines = [...text.split('\n'), ...params].map((l) => (l === '' ? ' *' : ` * ${l}`));
      edits.push([doc.getStart(sf), doc.end, `/**\n${lines.join('\n')}\n */`]);
      continue;
    }
    assertPlain(st);
  }
  if (exported.length === 0) throw new Error(`${file}: exports no function; nothing for module.exports`);
  let out = source;
  for (const [start, end, text] of edits.sort((a, b) => b[0] - a[0])) out = out.slice(0, start) + text + out.slice(end);
  return `${out.replace(/\n*$/, '\n')}\nmodule.exports = { ${exported.join(', ')} };\n`;
}

function main(argv) {
  const check = argv.includes('--check');
  let stale = 0;
  for (const rel of TWINS) {
    const tsFile = path.join(ROOT, rel);
    const jsFile = tsFile.replace(/\.ts$/, '.js');
    const want = toJavaScript(readFileSync(tsFile, 'utf8'), rel);
    if (!check) {
      writeFileSync(jsFile, want);
      continue;
    }
    const have = readFileSync(jsFile, 'utf8');
    if (have === want) continue;
    stale++;
    const a = have.split('\n');
    const b = want.split('\n');
    const i = a.findIndex((l, k) => l !== b[k]);
    const line = i === -1 ? a.length : i;
    console.error(`examples-js: ${path.relative(ROOT, jsFile)} differs from what ${rel} makes at its line ${line + 1}:\n    file: ${JSON.stringify(a[line])}\n    made: ${JSON.stringify(b[line])}\n  run: node scripts/examples-js.mjs`);
  }
  if (stale > 0) process.exit(1);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
