'use strict';
// Runs in a child process: installs a seccomp filter that denies kcmp(2) with EPERM, as a
// container's default profile does without CAP_SYS_PTRACE, then creates and disposes `count`
// eventfds (each with its handed-out duplicate) and prints one JSON line: the raw kcmp result,
// the descriptors open before and after, and how many disposals could prove their duplicate.
const koffi = require('koffi');
const { readdirSync, readlinkSync } = require('node:fs');

const SYS_KCMP = 312; // x86_64 (arch/x86/entry/syscalls/syscall_64.tbl)
const PR_SET_NO_NEW_PRIVS = 38;
const PR_SET_SECCOMP = 22;
const SECCOMP_MODE_FILTER = 2;
const SECCOMP_RET_ERRNO = 0x00050000;
const SECCOMP_RET_ALLOW = 0x7fff0000;
const EPERM = 1;

const libc = koffi.load('libc.so.6');
const prctl = libc.func('int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)');
koffi.struct('tsvmm_sock_fprog', { len: 'uint16', filter: 'void *' });
const prctlFilter = libc.func('int prctl(int option, unsigned long mode, tsvmm_sock_fprog *prog, unsigned long a4, unsigned long a5)');
const syscall5 = libc.func('long syscall(long nr, long a, long b, long c, long d, long e)');

// struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; } (linux/filter.h); seccomp_data.nr at offset 0.
const program = Buffer.alloc(4 * 8);
[
  [0x20, 0, 0, 0], // BPF_LD | BPF_W | BPF_ABS: A = nr
  [0x15, 0, 1, SYS_KCMP], // BPF_JMP | BPF_JEQ | BPF_K: kcmp?
  [0x06, 0, 0, SECCOMP_RET_ERRNO | EPERM], // BPF_RET: EPERM
  [0x06, 0, 0, SECCOMP_RET_ALLOW], // BPF_RET: allow
].forEach(([code, jt, jf, k], i) => {
  program.writeUInt16LE(code, i * 8);
  program.writeUInt8(jt, i * 8 + 2);
  program.writeUInt8(jf, i * 8 + 3);
  program.writeUInt32LE(k >>> 0, i * 8 + 4);
});
if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) !== 0) throw new Error(`PR_SET_NO_NEW_PRIVS: errno ${koffi.errno()}`);
if (prctlFilter(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, { len: 4, filter: program }, 0, 0) !== 0) throw new Error(`PR_SET_SECCOMP: errno ${koffi.errno()}`);

const { EventFd, libcSyscalls } = require(process.argv[2]);
const count = Number(process.argv[3]);
const sys = libcSyscalls();
const probe = new EventFd(sys);
const rawKcmp = syscall5(SYS_KCMP, process.pid, process.pid, 0, probe.ownFd(), probe.fd) < 0 ? -koffi.errno() : 0;
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
process.stdout.write(`${JSON.stringify({ rawKcmp, before, after: open(), proven })}\n`);
