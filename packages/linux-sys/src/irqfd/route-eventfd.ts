/**
 * A route's eventfd, made one way by the irqfd engine and by both relay platforms (the epoll worker's
 * and the kernel models'): an {@link EventFd} whose EMFILE or ENFILE, descriptors running out before
 * the route budget, is EXHAUSTED naming the budget and what to raise (eventfd(2), dup(2)).
 */
import { VirtError } from '@tsvmm/virt';
import { EMFILE, ENFILE } from '../errno';
import { EventFd } from '../eventfd';
import type { Syscalls } from '../syscalls';

/**
 * Descriptors one route holds: its eventfd, and the close-on-exec duplicate handed out as
 * `event.fd` (see {@link EventFd}) where `sys` can duplicate.
 */
export function descriptorsPerRoute(sys: Syscalls): number {
  return typeof sys.dup === 'function' ? 2 : 1;
}

/** How many routes the caller holds and may hold, for the EXHAUSTED message. */
export interface RouteCount {
  /** Routes the caller holds now. */
  readonly inUse: number;
  /** Routes it may hold at most (its `maxRoutes`). */
  readonly capacity: number;
}

/**
 * A new route eventfd on `sys` for `operation`. Throws EXHAUSTED (with the errno, and the error
 * of eventfd or dup as `cause`) when the process (EMFILE: RLIMIT_NOFILE) or the system (ENFILE)
 * has no descriptor left; any other failure as {@link EventFd} throws it. Nothing is left open.
 */
export function routeEventFd(sys: Syscalls, operation: string, routes?: RouteCount): EventFd {
  try {
    return new EventFd(sys, operation);
  } catch (e) {
    throw descriptorsExhausted(operation, e, sys, routes);
  }
}

function descriptorsExhausted(operation: string, error: unknown, sys: Syscalls, routes: RouteCount | undefined): unknown {
  if (!(error instanceof VirtError) || (error.errno !== EMFILE && error.errno !== ENFILE)) return error;
  const per = descriptorsPerRoute(sys);
  const budget = sys.descriptorBudget?.();
  const limit = budget === undefined ? 'RLIMIT_NOFILE' : `RLIMIT_NOFILE (${budget.limit === Infinity ? 'unlimited' : budget.limit}, ${budget.open} open)`;
  const held = routes === undefined ? '' : ` with ${routes.inUse} of its ${routes.capacity} routes in use`;
  return new VirtError('EXHAUSTED', {
    operation,
    detail:
      error.errno === EMFILE
        ? `${error.detail}: this process has no file descriptor left for a route's ${per} (${limit})${held}`
        : `${error.detail}: the system's file table is full (ENFILE)${held}`,
    hint:
      error.errno === EMFILE
        ? `Each route holds ${per} descriptors, and the limit is shared with everything else the process opens: raise RLIMIT_NOFILE (ulimit -n, prlimit, LimitNOFILE= in a systemd unit), close descriptors held elsewhere, or dispose unused routes. Nothing was left open.`
        : 'Raise fs.file-max (sysctl) or close files elsewhere on the host. Nothing was left open.',
    errno: error.errno,
    ...(error.errnoName === undefined ? {} : { errnoName: error.errnoName }),
    cause: error,
  });
}
