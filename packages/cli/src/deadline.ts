/**
 * Bounds for the waits of the demo and the bench (a delivery, a relay settling, a compiler, a
 * run of rounds). A wait that reaches its deadline becomes a {@link Stalled} error that names what
 * was waited for; callers report it as a failed check, so a stalled delivery ends the command with
 * exit 1 and a message instead of hanging it.
 */

/** A wait that reached its deadline. */
export class Stalled extends Error {
  override readonly name = 'Stalled';
  /**
   * @param waitedFor - what never came, as a noun phrase (`vector 0x41 in vCPU 0's IRR`).
   * @param deadlineMs - how long it was given, in milliseconds.
   */
  constructor(
    readonly waitedFor: string,
    readonly deadlineMs: number,
  ) {
    super(`gave up after ${deadlineMs} ms waiting for ${waitedFor}`);
  }
}

/**
 * `promise`, or a rejection with {@link Stalled} once `deadlineMs` milliseconds pass before it
 * settles. The timer keeps the event loop alive meanwhile: a promise that nothing else holds open
 * (a relay whose worker is gone) would otherwise let the process exit silently, with code 0, half
 * way through. The timer is cleared as soon as `promise` settles; a rejection of `promise` after the
 * deadline is ignored.
 */
export function withDeadline<T>(promise: PromiseLike<T>, deadlineMs: number, waitedFor: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Stalled(waitedFor, deadlineMs)), deadlineMs);
    Promise.resolve(promise)
      .finally(() => clearTimeout(timer))
      .then(resolve, reject);
  });
}

/** A budget for a loop of waits, each bounded on its own but together unbounded. */
export interface Budget {
  /** Throws {@link Stalled} (naming what the loop was waiting for) once the budget is spent. */
  check(): void;
}

/** A {@link Budget} of `budgetMs` milliseconds from now, for a loop that waits for `waitedFor`. */
export function budget(budgetMs: number, waitedFor: string): Budget {
  const end = Date.now() + budgetMs;
  return {
    check() {
      if (Date.now() > end) throw new Stalled(waitedFor, budgetMs);
    },
  };
}
