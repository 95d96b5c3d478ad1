// Copies the one file of echarts the HTML report needs (its minified browser bundle) into
// dist/assets/, so that the published package ships it instead of depending on all of echarts.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const from = require.resolve('echarts/dist/echarts.min.js');
const dir = path.join(__dirname, '..', 'dist', 'assets');
fs.mkdirSync(dir, { recursive: true });
fs.copyFileSync(from, path.join(dir, 'echarts.min.js'));
// echarts is Apache-2.0: its licence and notice travel with the copy.
const pkg = path.dirname(require.resolve('echarts/package.json'));
for (const f of ['LICENSE', 'NOTICE']) {
  if (fs.existsSync(path.join(pkg, f))) fs.copyFileSync(path.join(pkg, f), path.join(dir, `echarts.${f}`));
}
