/**
 * What this process's confinement costs the Linux backends, for `tsvmm probe` and for people: the
 * descriptor budget (RLIMIT_NOFILE, and so the routes a partition can promise), whether a seccomp
 * filter is installed (`Seccomp:` in /proc/self/status, proc(5)), and how a disposed event proves
 * that its handed-out duplicate is still its own (kcmp(2), else the eventfd's id in
 * /proc/self/fdinfo, else it cannot, and leaves that number open).
 */
import { readFileSync } from 'node:fs';
import { type DescriptorBudget, processDescriptorBudget } from './fd-budget';
import { routeBudget } from './irqfd/engine';
import { kcmpStatus, libcSyscalls } from './libc';

/** What {@link hostLimits} reports. */
export interface HostLimits {
  /** The seccomp mode of this thread (`none`, `strict`, `filter`), undefined where procfs does not say. */
  readonly seccomp: 'none' | 'strict' | 'filter' | undefined;
  /** kcmp(2) here: `available`, `denied` (a seccomp profile, ptrace rules) or `missing` (no CONFIG_KCMP). */
  readonly kcmp: 'available' | 'denied' | 'missing';
  /** How an event's handed-out duplicate is proven its own at dispose: `kcmp`, `fdinfo`, or `none` (left open). */
  readonly eventFdIdentity: 'kcmp' | 'fdinfo' | 'none';
  /** RLIMIT_NOFILE and the descriptors open now, undefined where procfs does not say. */
  readonly descriptors: DescriptorBudget | undefined;
  /** The routes a partition created now would promise (`capabilities.maxRoutes`; see `routeBudget`). */
  readonly routesPerPartition: number;
}

/** The `Seccomp:` row of a /proc/<pid>/status text as a mode name, undefined when it has none. */
export function parseSeccompMode(status: string): HostLimits['seccomp'] {
  const m = /^Seccomp:\s*(\d+)/m.exec(status);
  if (m === null) return undefined;
  return m[1] === '0' ? 'none' : m[1] === '1' ? 'strict' : 'filter';
}

/** This process's limits (a few procfs reads, and one eventfd opened and closed). Never throws. */
export function hostLimits(): HostLimits {
  let seccomp: HostLimits['seccomp'];
  try {
    seccomp = parseSeccompMode(readFileSync('/proc/self/status', 'utf8'));
  } catch {
    seccomp = undefined;
  }
  let kcmp: HostLimits['kcmp'];
  try {
    kcmp = kcmpStatus();
  } catch {
    kcmp = 'missing';
  }
  const sys = libcSyscalls();
  let identity: HostLimits['eventFdIdentity'] = kcmp === 'available' ? 'kcmp' : 'none';
  if (identity === 'none') {
    // The fallback works where the eventfd's fdinfo has an id row: try it on a pair of numbers.
    const a = sys.eventfd(0, 0);
    if (a >= 0) {
      const b = sys.dup?.(a) ?? -1;
      if (b >= 0 && sys.sameFile?.(a, b) === 1) identity = 'fdinfo';
      if (b >= 0) sys.close(b);
      sys.close(a);
    }
  }
  return { seccomp, kcmp, eventFdIdentity: identity, descriptors: processDescriptorBudget(), routesPerPartition: routeBudget(sys, undefined) };
}
