'use strict';
// Runs in a child process: denies kcmp(2) with EPERM, as a container's default seccomp profile does
// without CAP_SYS_PTRACE, then creates and disposes `count` eventfds (each with its handed-out
// duplicate) and prints one JSON line: the raw kcmp result, the eventfds open before and after,
// how many disposals could prove their duplicate, and what hostLimits() says.
const koffi = require('koffi');
const { readdirSync, readlinkSync } = require('node:fs');
const dist = process.argv[2];
const { EPERM, EventFd, KCMP_FILE, SYS_KCMP, hostLimits, libcSyscalls } = require(dist);
const { denySyscalls } = require(`${dist}/testing`);

denySyscalls([SYS_KCMP], EPERM);

const count = Number(process.argv[3]);
const sys = libcSyscalls();
const syscall5 = koffi.load('libc.so.6').func('long syscall(long nr, long a, long b, long c, long d, long e)');
const probe = new EventFd(sys);
const rawKcmp = syscall5(SYS_KCMP, process.pid, process.pid, KCMP_FILE, probe.ownFd(), probe.fd) < 0 ? -koffi.errno() : 0;
probe.dispose();
// Eventfds only: Node opens descriptors of its own lazily (/dev/null, pipes) while this runs.
const open = () =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === 'anon_inode:[eventfd]';
    } catch {
      return false;
    }
  }).length;
const before = open();
let proven = 0;
for (let i = 0; i < count; i++) {
  const e = new EventFd(sys);
  if (sys.sameFile(e.ownFd(), e.fd) === 1) proven++;
  e.dispose();
}
process.stdout.write(`${JSON.stringify({ rawKcmp, before, after: open(), proven, limits: hostLimits() })}\n`);
