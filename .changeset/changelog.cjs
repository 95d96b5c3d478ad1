// Each package's changelog carries only the notes written for that package: the default formatter's
// lines for its own changesets, and no "Updated dependencies" lines naming other packages (the
// dependency ranges in package.json say that already).
'use strict';
const base = require('@changesets/cli/changelog').default;

module.exports = {
  getReleaseLine: base.getReleaseLine,
  getDependencyReleaseLine: async () => '',
};
