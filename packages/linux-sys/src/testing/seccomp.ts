/**
 * A seccomp filter for tests of confined processes (a container's default profile denies kcmp(2)
 * without CAP_SYS_PTRACE, for one): the calling process's chosen system calls fail with an errno
 * from then on. Irreversible, and inherited by every thread and child it makes: call it only in a
 * child process made for the test.
 *
 * The filter is classic BPF over `struct seccomp_data` (its `nr` at offset 0), installed with
 * prctl(PR_SET_NO_NEW_PRIVS) and prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER) (seccomp(2),
 * `include/uapi/linux/filter.h`, `include/uapi/linux/seccomp.h`). It does not check the
 * architecture field: x86-64 only, like the rest of this package.
 */
import { loadLibrary } from '@tsvmm/ffi';
import { VirtError } from '@tsvmm/virt';
import { checkLinuxHost, libcFileName } from '../platform';

const PR_SET_NO_NEW_PRIVS = 38;
const PR_SET_SECCOMP = 22;
const SECCOMP_MODE_FILTER = 2;
const SECCOMP_RET_ERRNO = 0x0005_0000;
const SECCOMP_RET_ALLOW = 0x7fff_0000;
// struct sock_filter opcodes: BPF_LD|BPF_W|BPF_ABS, BPF_JMP|BPF_JEQ|BPF_K, BPF_RET|BPF_K.
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const RET_K = 0x06;

interface Koffi {
  struct(name: string, fields: Record<string, string>): unknown;
  errno(): number;
}

/**
 * From now on, in this process, each system call in `numbers` (x86-64 numbers, e.g. 312 for kcmp)
 * fails with `errno` without reaching the kernel. Throws UNSUPPORTED off Linux x86-64 and SYSCALL
 * when the kernel refuses the filter.
 */
export function denySyscalls(numbers: readonly number[], errno: number): void {
  checkLinuxHost('denySyscalls');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const koffi = require('koffi') as Koffi;
  // The struct type first: the second prototype names it.
  koffi.struct('tsvmm_sock_fprog', { len: 'uint16', filter: 'void *' });
  const libc = loadLibrary({
    path: libcFileName(),
    required: {
      prctl: 'int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)',
      prctlFilter: 'int prctl(int option, unsigned long mode, tsvmm_sock_fprog *prog, unsigned long a4, unsigned long a5)',
    },
  }).functions;
  const prctl = libc.prctl as (...a: number[]) => number;
  const prctlFilter = libc.prctlFilter as (
    o: number,
    m: number,
    p: { len: number; filter: Uint8Array },
    a: number,
    b: number,
  ) => number;
  // One test per number: equal → return the errno, else fall through to the next; last: allow.
  const code: Array<[number, number, number, number]> = [[LD_W_ABS, 0, 0, 0]];
  for (const nr of numbers) code.push([JEQ_K, 0, 1, nr], [RET_K, 0, 0, SECCOMP_RET_ERRNO | (errno & 0xffff)]);
  code.push([RET_K, 0, 0, SECCOMP_RET_ALLOW]);
  const program = new Uint8Array(code.length * 8);
  const v = new DataView(program.buffer);
  code.forEach(([op, jt, jf, k], i) => {
    v.setUint16(i * 8, op, true);
    v.setUint8(i * 8 + 2, jt);
    v.setUint8(i * 8 + 3, jf);
    v.setUint32(i * 8 + 4, k >>> 0, true);
  });
  const fail = (what: string): never => {
    throw new VirtError('SYSCALL', { operation: 'denySyscalls', detail: `${what} failed (errno ${koffi.errno()})`, hint: 'The kernel needs CONFIG_SECCOMP_FILTER.' });
  };
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) !== 0) fail('prctl(PR_SET_NO_NEW_PRIVS)');
  if (prctlFilter(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, { len: code.length, filter: program }, 0, 0) !== 0) fail('prctl(PR_SET_SECCOMP)');
}
