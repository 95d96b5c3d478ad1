// docs/architecture.md states what one guest unmask crosses; scripts/unmask-walk.mjs measures it on
// the built packages. A change that adds or removes calls on that path must bring the doc along.
// `node --test scripts/unmask-walk.test.mjs` (after `pnpm build`).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SCRIPTS = path.dirname(fileURLToPath(import.meta.url));
const DOC = path.join(SCRIPTS, '..', 'docs', 'architecture.md');

/** "15 calls in 9 files → 11 in 7": the figure after the arrow; "none" stays "none". */
function after(cell) {
  const text = cell.includes('→') ? cell.split('→')[1] : cell;
  const m = /(\d+)(?: calls)? in (\d+)(?: files)?/.exec(text);
  return m ? { calls: Number(m[1]), files: Number(m[2]) } : text.trim();
}

/** The table's rows: [scenario, chain to KVM_SET_GSI_ROUTING, chain to KVM_IRQFD, all calls], the current figures. */
function docFigures() {
  const rows = readFileSync(DOC, 'utf8')
    .split('\n')
    .filter((l) => /^\| message /.test(l))
    .map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
  assert.equal(rows.length, 2, 'docs/architecture.md: the unmask table has its two rows');
  const [notInTable, preloaded] = rows.map(([, routing, irqfd, all]) => ({ routing: after(routing), irqfd: after(irqfd), all: after(all) }));
  return { messageNotInTable: notInTable, preloaded };
}

function measured() {
  const figures = JSON.parse(execFileSync(process.execPath, [path.join(SCRIPTS, 'unmask-walk.mjs'), '--json'], { encoding: 'utf8', timeout: 120_000 }));
  const pick = ({ chains, calls }) => {
    const chain = (name) => {
      const c = chains.find((x) => x.ioctl === name);
      return c ? { calls: c.calls, files: c.files } : 'none';
    };
    return { routing: chain('KVM_SET_GSI_ROUTING'), irqfd: chain('KVM_IRQFD'), all: calls };
  };
  return { messageNotInTable: pick(figures.messageNotInTable), preloaded: pick(figures.preloaded) };
}

test('the unmask figures in docs/architecture.md are what scripts/unmask-walk.mjs measures', () => {
  assert.deepEqual(docFigures(), measured());
});

test('the doc parser reads the figure after the arrow, and "none"', () => {
  assert.deepEqual(after('15 calls in 9 files → 11 in 7'), { calls: 11, files: 7 });
  assert.deepEqual(after('59 in 13 files → 47 in 11'), { calls: 47, files: 11 });
  assert.equal(after('none'), 'none');
});
