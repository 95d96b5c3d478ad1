// Run by test/no-thread-wait.test.ts in a child process, with argv[2] naming what it calls:
//
//   entry-points  every public entry point of tsvmm that reaches native code or host detection,
//                 and the model partitions of each backend, with a relay's epoll worker running
//   probe         the CLI's probe of every backend, in a process where nothing else ran first
//
// Before either, a worker thread of its own (not tsvmm's) blocks in read(2) on a blocking eventfd,
// as a user's thread in a blocking native call would. Node cannot interrupt such a thread, so any
// call that waits for every thread to answer (as a diagnostic report does) never returns. One line
// `step: <name>` is written per step completed. TSVMM_WHP_MODEL names the WHP model library
// (packages/virt-whp/native/whp_model.c built without trigger exports, so its relay waiter runs).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { Worker } = require('node:worker_threads');

/** Written synchronously: a step's line must be out before the next step can hang. */
const step = (name) => fs.writeSync(1, `step: ${name}\n`);

const BLOCKED_READER = `
const { parentPort, workerData } = require('node:worker_threads');
const koffi = require(workerData.koffi);
const libc = koffi.load('libc.so.6');
const eventfd = libc.func('int eventfd(unsigned int initval, int flags)');
const read = libc.func('long read(int fd, void *buf, unsigned long count)');
const EFD_CLOEXEC = 0o2000000;
const fd = eventfd(0, EFD_CLOEXEC); // blocking: read(2) waits until the counter is non-zero
parentPort.postMessage({ fd });
read(fd, new Uint8Array(8), 8);
`;

/** Starts the blocked reader; resolves with its eventfd once it is about to block, and a little after. */
function startBlockedReader() {
  const worker = new Worker(BLOCKED_READER, { eval: true, workerData: { koffi: require.resolve('koffi') } });
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', ({ fd }) => setTimeout(() => resolve({ worker, fd }), 200));
  });
}

/** Node joins every worker at exit, so the blocked reader is woken (its eventfd written) first. */
async function release(reader) {
  const exited = new Promise((resolve) => reader.worker.once('exit', resolve));
  fs.writeSync(reader.fd, Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]));
  await exited;
}

const MODEL_FD_BASE = 1 << 20;
const MAKES_MODEL_FD = /CREATE_(VM|VCPU|PARTITION|VP)$/;

/**
 * Real eventfds, epoll sets and relay threads beside a kernel model for the device, its VMs and
 * vCPUs, so a model partition starts the real epoll relay. Model numbers are offset by
 * MODEL_FD_BASE and reach only the model; real ones reach only libc.
 */
function hybridSyscalls(model, real) {
  const isModel = (fd) => fd >= MODEL_FD_BASE;
  const fromModel = (r) => (r < 0 ? r : r + MODEL_FD_BASE);
  return {
    open: (p, flags) => fromModel(model.open(p, flags)),
    close: (fd) => (isModel(fd) ? model.close(fd - MODEL_FD_BASE) : real.close(fd)),
    ioctl(fd, request, arg) {
      if (!isModel(fd)) return real.ioctl(fd, request, arg);
      const r = model.ioctl(fd - MODEL_FD_BASE, request, arg);
      return MAKES_MODEL_FD.test(request.name) ? fromModel(r) : r;
    },
    read: (fd, buf, n) => (isModel(fd) ? model.read(fd - MODEL_FD_BASE, buf, n) : real.read(fd, buf, n)),
    write: (fd, buf, n) => (isModel(fd) ? model.write(fd - MODEL_FD_BASE, buf, n) : real.write(fd, buf, n)),
    eventfd: (initval, flags) => real.eventfd(initval, flags),
    poll: (fds, nfds, timeoutMs) => real.poll(fds, nfds, timeoutMs),
    epollCreate: () => real.epollCreate(),
    epollCtl: (epfd, op, fd, event) => real.epollCtl(epfd, op, fd, event),
    epollWait: (epfd, events, max, timeoutMs) => real.epollWait(epfd, events, max, timeoutMs),
    dup: (fd) => real.dup(fd),
    sameFile: (a, b) => real.sameFile(a, b),
  };
}

function check(what, actual, expected) {
  if (actual !== expected) throw new Error(`${what}: expected ${String(expected)}, got ${String(actual)}`);
}

/** Route A takes the only GSI (masked); route B, unmasked, finds none and starts the overflow relay. */
function overflow(irqfd, msi) {
  const a = irqfd.newIrqFdRoute();
  a.setMsi(msi.addressLo, msi.data);
  const b = irqfd.newIrqFdRoute();
  b.setMsi(msi.addressLo, msi.data);
  b.unmask();
  check('the second route', b.mediation, 'emulated');
}

async function entryPoints() {
  const linux = require('@tsvmm/linux-sys');
  linux.currentHost();
  step('currentHost');
  linux.libcFileName();
  step('libcFileName');
  linux.checkLinuxHost('x');
  step('checkLinuxHost');
  linux.libcSyscalls();
  step('libcSyscalls');
  new linux.EventFd().dispose();
  step('EventFd');

  const { encodeMsi } = require('@tsvmm/virt');
  const { RelayRouteTable } = require('@tsvmm/virt/implement');
  const record = () => ({ injector: linux.recordInjector(new SharedArrayBuffer(16)) });
  const first = new linux.EpollRelayPlatform(new RelayRouteTable(4), record());
  step('EpollRelayPlatform'); // its worker now waits in epoll_wait
  const second = new linux.EpollRelayPlatform(new RelayRouteTable(4), record());
  step('a second EpollRelayPlatform');

  const msi = encodeMsi({ destinationId: 1, vector: 0x41 });
  const { KvmPartition } = require('@tsvmm/virt-kvm');
  const { LEGACY_ROUTES } = require('@tsvmm/virt-kvm/implement');
  const { KvmKernelModel } = require('@tsvmm/virt-kvm/testing');
  const kvmRelay = KvmPartition.create({ vcpus: 2, irqfd: 'relay', sys: hybridSyscalls(new KvmKernelModel(), linux.libcSyscalls()) });
  check('KVM relay mode', kvmRelay.capabilities.irqfd, 'emulated');
  step('KVM model partition, relay mode');
  const kvmKernel = KvmPartition.create({ vcpus: 2, irqfd: 'kernel', routingEntries: LEGACY_ROUTES.length + 1, sys: hybridSyscalls(new KvmKernelModel(), linux.libcSyscalls()) });
  overflow(kvmKernel.irqfd(), msi);
  step('KVM model partition, overflow relay');

  const { MshvPartition } = require('@tsvmm/virt-mshv');
  const { MshvKernelModel } = require('@tsvmm/virt-mshv/testing');
  const mshvModel = new MshvKernelModel();
  const mshv = MshvPartition.create({ vcpus: 2, sys: hybridSyscalls(mshvModel, linux.libcSyscalls()), memory: mshvModel, maxKernelRoutes: 1 });
  overflow(mshv.irqfd(), msi);
  step('mshv model partition, overflow relay');

  const { WhpPartition } = require('@tsvmm/virt-whp');
  const whpLibrary = process.env.TSVMM_WHP_MODEL;
  if (!whpLibrary) throw new Error('TSVMM_WHP_MODEL names no WHP model library');
  const whp = WhpPartition.create({ vcpus: 2, library: { whp: whpLibrary, kernel32: whpLibrary } });
  check('WHP without triggers', whp.capabilities.irqfd, 'emulated');
  step('WHP model partition, relay waiter');

  const { probeAll } = require(path.resolve(__dirname, '..', '..', 'dist', 'index.js'));
  probeAll();
  step('probeAll');

  for (const p of [whp, mshv, kvmKernel, kvmRelay, second, first]) p.dispose();
  step('disposed');
}

async function probe() {
  const { probeAll } = require(path.resolve(__dirname, '..', '..', 'dist', 'index.js'));
  probeAll();
  step('probeAll');
}

async function main() {
  const mode = process.argv[2];
  if (mode !== 'entry-points' && mode !== 'probe') throw new Error(`unknown mode ${String(mode)}`);
  const reader = await startBlockedReader();
  step('a worker blocked in read(2)');
  await (mode === 'entry-points' ? entryPoints() : probe());
  await release(reader);
  step('done');
  process.exit(0);
}

main().catch((e) => {
  fs.writeSync(2, `${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
