// Preloaded (`node -r`) by test/readme.test.ts to run an example written for Windows, unchanged,
// on the native WHP model named by TSVMM_WHP_MODEL_LIBRARY (built by test/support/native-model.ts):
// WhpPartition.create gets the model through its `library` test seam. At exit the model's handle
// ledger must be clean (every handle closed once, after its trigger; nothing alive), else the
// process fails.
const koffi = require('koffi');
const { WhpPartition } = require('@tsvmm/virt-whp');

const lib = process.env.TSVMM_WHP_MODEL_LIBRARY;
if (!lib) throw new Error('TSVMM_WHP_MODEL_LIBRARY names no WHP model library');
const create = WhpPartition.create;
WhpPartition.create = function createOnModel(options) {
  return create.call(this, { ...options, library: { whp: lib, kernel32: lib } });
};
process.on('exit', () => {
  const ledger = koffi.load(lib).func('long model_ledger(const char *which)');
  const entries = ['open_events', 'close_errors', 'order_violations', 'bad_handle_uses', 'live_partitions', 'live_triggers'];
  const report = Object.fromEntries(entries.map((e) => [e, Number(ledger(e))]));
  if (entries.some((e) => report[e] !== 0)) {
    process.stderr.write(`on the WHP model: handle ledger not clean: ${JSON.stringify(report)}\n`);
    process.exitCode = 1;
  }
});
