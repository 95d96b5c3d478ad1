// What each package's README test needs: the examples a README shows (checked byte for byte by
// check-readme-examples.mjs) and a way to run an example as a user would, with plain `node` in a
// child process from the package's folder.
'use strict';
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const CHECKER = path.join(__dirname, 'check-readme-examples.mjs');

function readmeTools(packageDir) {
  const node = (args, env = {}) => execFileSync(process.execPath, args, { cwd: packageDir, encoding: 'utf8', env: { ...process.env, ...env } });
  const readmeExamples = (readme = 'README.md') => {
    const [result] = JSON.parse(node([CHECKER, '--json', readme]));
    return result.examples.map((e) => e.file);
  };
  return { node, readmeExamples };
}

/**
 * Registers (with jest's `test`) the README tests every package has: its README shows exactly the
 * example files `shows`, in order and byte for byte; each of `prints` runs in plain Node and
 * prints exactly its `lines`, each ending in a newline. Returns readmeTools(packageDir) for the
 * package's other README tests.
 */
function readmeTests(packageDir, { shows, prints = [] }) {
  const tools = readmeTools(packageDir);
  test('README blocks are byte-identical to the example files', () => {
    expect(tools.readmeExamples()).toEqual(shows);
  });
  for (const { example, does = 'prints what it promises', lines } of prints) {
    test(`${example} runs in plain Node and ${does}`, () => {
      expect(tools.node([example])).toBe([...lines, ''].join('\n'));
    });
  }
  return tools;
}

/**
 * The lines `run` prints with console.log while it runs, one per call: strings as they are, anything
 * else as JSON, joined by spaces. For an example run in the test's own process (its TypeScript
 * version, or a JavaScript one required as a user would), where there is no stdout to read. When
 * `run` returns a promise, so does printedBy, console.log put back once it settles.
 */
function printedBy(run) {
  const lines = [];
  const log = console.log;
  console.log = (...args) => void lines.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
  let result;
  try {
    result = run();
  } catch (e) {
    console.log = log;
    throw e;
  }
  if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
    return Promise.resolve(result)
      .finally(() => {
        console.log = log;
      })
      .then(() => lines);
  }
  console.log = log;
  return lines;
}

module.exports = { CHECKER, printedBy, readmeTests, readmeTools };
