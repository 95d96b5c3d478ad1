#!/usr/bin/env node
// What one guest unmask of an MSI-X vector crosses on KVM (the kernel model stands in for the
// kernel): the call chain from `MsixEmulator.write32` to each system call it makes, and every
// JavaScript function of the VMM's packages the whole `write32` runs (V8 precise coverage, the
// kernel model left out). docs/architecture.md states these figures; scripts/unmask-walk.test.mjs
// holds the doc to them. Needs the packages built (`pnpm build`).
//
//   node scripts/unmask-walk.mjs          the figures, one line per scenario
//   node scripts/unmask-walk.mjs --json   the same as JSON
import inspector from 'node:inspector';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const packages = path.join(root, 'packages');
const require = createRequire(path.join(packages, 'cli', 'package.json'));
const { KvmPartition } = require('@tsvmm/virt-kvm');
const { KvmKernelModel } = require('@tsvmm/virt-kvm/testing');
const { MsixEmulator, createIrqFdMsixRoutes } = require('@tsvmm/pci-core');

const TABLE = 0x2000;
const MSI_X_CONTROL = 2; // Message Control: the upper half of the capability's first DWORD
const ENABLE = 0x8000;
const FUNCTION_MASK = 0x4000;

const session = new inspector.Session();
session.connect();
/** inspector's post is synchronous for the Profiler domain; its callback runs before post returns. */
function post(method, params = {}) {
  let result;
  let error;
  session.post(method, params, (e, r) => {
    error = e;
    result = r;
  });
  if (error) throw error;
  return result;
}

/** The package file a stack frame or a script URL names, relative to packages/ (dist and src alike). */
function packageFile(text) {
  const m = /(?:file:\/\/)?(\/[^():]+\.[cm]?js)/.exec(text);
  if (!m || !m[1].startsWith(packages + path.sep)) return undefined;
  return path.relative(packages, m[1]);
}

const isModel = (file) => file.includes(`${path.sep}testing${path.sep}`);

/**
 * One unmask of vector 0. `preloaded`: the message was written while the function was masked
 * (Linux's order), so it is in the route before the unmask; otherwise it was written to a masked
 * vector of an enabled, open function and reaches the kernel table with the unmask.
 */
function walk(preloaded) {
  const kvm = new KvmKernelModel({ apicIds: [0, 1] });
  const stacks = [];
  let capturing = false;
  const ioctl = kvm.ioctl.bind(kvm);
  kvm.ioctl = (fd, request, arg) => {
    if (capturing && (request?.name === 'KVM_SET_GSI_ROUTING' || request?.name === 'KVM_IRQFD')) stacks.push({ name: request.name, stack: new Error().stack });
    return ioctl(fd, request, arg);
  };
  const vm = KvmPartition.create({ vcpus: 2, sys: kvm, irqfd: 'kernel' });
  try {
    const msix = new MsixEmulator({ vectors: 4, table: { bir: 0, offset: TABLE }, pba: { bir: 0, offset: 0x3000 } });
    const routes = createIrqFdMsixRoutes(vm.irqfd(), 4);
    msix.setRoutes(routes.routes, { batch: routes.batch });
    msix.configWrite(MSI_X_CONTROL, 2, ENABLE | (preloaded ? FUNCTION_MASK : 0) | 3);
    msix.write32(0, TABLE, 0xfee01000);
    msix.write32(0, TABLE + 4, 0);
    msix.write32(0, TABLE + 8, 0x41);
    if (preloaded) msix.configWrite(MSI_X_CONTROL, 2, ENABLE | 3);
    post('Profiler.takePreciseCoverage'); // from zero
    capturing = true;
    msix.write32(0, TABLE + 12, 0); // Vector Control: Mask cleared
    capturing = false;
    const coverage = post('Profiler.takePreciseCoverage');
    return { chains: stacks.map(({ name, stack }) => chainOf(name, stack)), calls: callsOf(coverage) };
  } finally {
    vm.dispose();
  }
}

/** The frames from the system call's caller up to `MsixEmulator.write32`, without this script's wrapper. */
function chainOf(ioctl, stack) {
  const frames = stack.split('\n').slice(1).map((l) => l.trim());
  const top = frames.findIndex((f) => f.includes('MsixEmulator.write32'));
  if (top < 0) throw new Error(`the ${ioctl} stack does not reach MsixEmulator.write32`);
  // frames[0] is this script's wrapper of the model's ioctl.
  const files = frames.slice(1, top + 1).map(packageFile);
  if (files.some((f) => f === undefined)) throw new Error(`a frame of the ${ioctl} chain is outside packages/: ${stack}`);
  const chain = files.filter((f) => !isModel(f));
  return { ioctl, calls: chain.length, files: new Set(chain).size };
}

/** Every function call V8 counted in the packages' code, the kernel model left out. */
function callsOf(coverage) {
  let calls = 0;
  const files = new Set();
  for (const script of coverage.result) {
    const file = packageFile(script.url);
    if (file === undefined || isModel(file) || file.includes('node_modules')) continue;
    for (const fn of script.functions) {
      const count = fn.ranges[0].count;
      // The script's top-level "function" (offset 0, no name) is the module body, not a call.
      if (count === 0 || (fn.functionName === '' && fn.ranges[0].startOffset === 0)) continue;
      calls += count;
      files.add(file);
    }
  }
  return { calls, files: files.size };
}

Error.stackTraceLimit = Infinity;
post('Profiler.enable');
post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
walk(false); // a first walk, so lazy initialisation is not counted below
const figures = { messageNotInTable: walk(false), preloaded: walk(true) };
if (process.argv.includes('--json')) console.log(JSON.stringify(figures, null, 2));
else {
  for (const [scenario, { chains, calls }] of Object.entries(figures)) {
    const chain = chains.map((c) => `${c.ioctl} ${c.calls} calls in ${c.files} files`).join('; ') || 'no system call';
    console.log(`${scenario}: ${chain}; all calls ${calls.calls} in ${calls.files} files`);
  }
}
