module.exports = { ...require('../../jest.preset.js'), globalTeardown: '<rootDir>/test/support/device-only-report.ts' };
