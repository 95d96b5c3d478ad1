// Preloaded (`node -r`) by test/readme.test.ts to run an example written for /dev/kvm, unchanged,
// on the KVM model: KvmPartition.create gets the model as its system calls and overflow relay.
// At exit the model must show no hazard and no open fd, else the process fails.
const { KvmPartition } = require('@tsvmm/virt-kvm');
const { KvmKernelModel, modelRelayPlatform } = require('@tsvmm/virt-kvm/testing');

const create = KvmPartition.create;
/** @type {import('@tsvmm/virt-kvm/testing').KvmKernelModel[]} */
const models = [];
KvmPartition.create = function createOnModel(options) {
  const model = new KvmKernelModel({ apicIds: Array.from({ length: options.vcpus }, (_, i) => i) });
  models.push(model);
  return create.call(this, { ...options, sys: model, relayPlatform: modelRelayPlatform(model) });
};
process.on('exit', () => {
  for (const m of models) {
    if (m.hazards.length > 0 || m.openFds !== 0) {
      process.stderr.write(`on the KVM model: hazards ${JSON.stringify(m.hazards)}, open fds ${m.openFds}\n`);
      process.exitCode = 1;
    }
  }
});
