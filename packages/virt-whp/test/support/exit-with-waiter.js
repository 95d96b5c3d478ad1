'use strict';
// Runs in a child process: a WHP partition on the model library named by argv[2] (built without
// trigger exports, so irqfd() is the relay with its waiter thread), one armed route so the waiter
// sits in its wait, then the process exits without disposing anything. Node joins every worker
// thread at exit, so a waiter still blocked in its native wait would hang the exit.
const { WhpPartition } = require(process.argv[3]);
const library = { whp: process.argv[2], kernel32: process.argv[2] };
const p = WhpPartition.create({ vcpus: 2, library });
const r = p.irqfd().newIrqFdRoute();
r.setMsi(0xfee00000, 0x41);
r.unmask();
// Let the waiter reach its wait before exiting.
setTimeout(() => {
  process.stdout.write('exiting\n');
  process.exit(0);
}, 200);
