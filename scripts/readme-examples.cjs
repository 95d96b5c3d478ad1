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

module.exports = { CHECKER, readmeTools };
