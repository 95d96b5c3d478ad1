/**
 * A child process with a deadline, for `bench --against`: each run of a bench section is a
 * `node <bin> bench …` whose output is collected. The child leads its own process group, so that at
 * the deadline it is killed together with everything it started (a bench that spawned a compiler,
 * a script that spawned a helper): killing only the leader could leave the rest running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { withDeadline } from '../deadline';

/** How a child ended: its exit code (or the signal that ended it) and what it printed. */
export interface ChildOutcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  /** The end of its stderr (at most {@link STDERR_KEPT} characters): where a failure's message is. */
  readonly stderr: string;
}

/** A bench's stderr is mostly progress; its last lines say why it failed, so only the end is kept. */
export const STDERR_KEPT = 16_384;

/** The groups of the children running now: an interrupted run takes them down with it. */
const live = new Set<number>();
let interruptHandlers: { signal: NodeJS.Signals; handler: () => void }[] = [];

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // The group is gone already.
  }
}

/**
 * The children are in their own process groups, so a Ctrl-C at the terminal no longer reaches
 * them: while any runs, SIGINT and SIGTERM kill their groups, then end this process as the signal
 * would have.
 */
function track(child: ChildProcess): void {
  if (child.pid === undefined) return;
  live.add(child.pid);
  if (interruptHandlers.length) return;
  interruptHandlers = (['SIGINT', 'SIGTERM'] as const).map((signal) => {
    const handler = (): void => {
      for (const pid of live) killGroup(pid);
      untrackAll();
      process.kill(process.pid, signal);
    };
    process.once(signal, handler);
    return { signal, handler };
  });
}

function untrackAll(): void {
  live.clear();
  for (const { signal, handler } of interruptHandlers) process.removeListener(signal, handler);
  interruptHandlers = [];
}

function untrack(pid: number | undefined): void {
  if (pid === undefined) return;
  live.delete(pid);
  if (live.size === 0) untrackAll();
}

/**
 * Runs `node <args>` (this Node binary) with `deadlineMs` to finish. Resolves with its outcome,
 * whatever its exit code; rejects with the spawn error, or with {@link Stalled} naming
 * `waitedFor` once the deadline passes, the child's whole process group killed by then.
 */
export async function runNodeChild(args: readonly string[], deadlineMs: number, waitedFor: string): Promise<ChildOutcome> {
  const child = spawn(process.execPath, [...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  track(child);
  const out: Buffer[] = [];
  let err = '';
  child.stdout.on('data', (b: Buffer) => void out.push(b));
  child.stderr.on('data', (b: Buffer) => {
    err = (err + b.toString()).slice(-STDERR_KEPT);
  });
  const ended = new Promise<ChildOutcome>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out).toString(), stderr: err }));
  });
  try {
    return await withDeadline(ended, deadlineMs, waitedFor);
  } catch (e) {
    killGroup(child.pid);
    // Not waiting for 'close': a member of the group that is slow to die must not hold the run.
    child.stdout.destroy();
    child.stderr.destroy();
    throw e;
  } finally {
    untrack(child.pid);
  }
}
