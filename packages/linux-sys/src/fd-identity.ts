/**
 * Whether two descriptor numbers name the same eventfd, told from procfs where kcmp(2) cannot be
 * used (kernels built without CONFIG_KCMP; container seccomp profiles, such as Docker's default
 * without CAP_SYS_PTRACE, that deny it).
 *
 * `fstat` cannot tell eventfds apart: every eventfd is an anonymous-inode file sharing one inode
 * (`anon_inode_getfile`, fs/anon_inodes.c), so two different eventfds report the same `st_dev` and
 * `st_ino`. `/proc/self/fdinfo/<fd>` (proc(5)) has an `eventfd-id:` row, the eventfd context's own
 * id (`eventfd_show_fdinfo`, fs/eventfd.c), which a dup shares and no other eventfd has while both
 * are open.
 */
import { readFileSync } from 'node:fs';

/** The `eventfd-id:` of a `/proc/<pid>/fdinfo/<fd>` text, or undefined when it has none (not an eventfd, or a kernel without the row). */
export function parseEventFdId(fdinfo: string): string | undefined {
  return /^eventfd-id:\s*(\S+)/m.exec(fdinfo)?.[1];
}

function eventFdId(fd: number): string | undefined {
  try {
    return parseEventFdId(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  } catch {
    // closed number, or no procfs
    return undefined;
  }
}

/**
 * 1 when `a` and `b` are both open and name the same eventfd, 0 when both are eventfds and differ,
 * or when `a` is an eventfd and `b` is open but is not one; undefined when it cannot be told
 * (either is closed, `a` is not an eventfd, procfs is missing or has no `eventfd-id` row).
 */
export function sameEventFdByFdinfo(a: number, b: number): 0 | 1 | undefined {
  const idA = eventFdId(a);
  if (idA === undefined) return undefined;
  let infoB: string;
  try {
    infoB = readFileSync(`/proc/self/fdinfo/${b}`, 'utf8');
  } catch {
    return undefined;
  }
  const idB = parseEventFdId(infoB);
  return idB === idA ? 1 : 0;
}
