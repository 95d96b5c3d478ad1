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

module.exports = { CHECKER, readmeTests, readmeTools };
