/**
 * The process's file-descriptor budget: how many descriptors it may hold (RLIMIT_NOFILE's soft
 * limit, getrlimit(2)) and how many it holds now. Read from procfs (`/proc/self/limits`, the
 * "Max open files" row; `/proc/self/fd`, one entry per open descriptor; proc(5)), synchronously and
 * without a native call, so it works on any thread and never waits on another one.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** A process's descriptor budget at one moment. */
export interface DescriptorBudget {
  /** The most descriptors the process may hold (RLIMIT_NOFILE, soft); `Infinity` when unlimited. */
  readonly limit: number;
  /** Descriptors open now. */
  readonly open: number;
}

/**
 * The soft RLIMIT_NOFILE in a `/proc/<pid>/limits` text: the number in the "Max open files" row,
 * `Infinity` for "unlimited", undefined when the row is missing or unreadable.
 */
export function parseOpenFilesLimit(limits: string): number | undefined {
  const row = /^Max open files\s+(\S+)/m.exec(limits);
  if (row === null) return undefined;
  if (row[1] === 'unlimited') return Infinity;
  const n = Number(row[1]);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * This process's budget now, or undefined where procfs cannot tell (not mounted, or a sandbox that
 * hides it). The open count excludes the descriptor the directory read itself used.
 */
export function processDescriptorBudget(): DescriptorBudget | undefined {
  try {
    const limit = parseOpenFilesLimit(readFileSync('/proc/self/limits', 'utf8'));
    if (limit === undefined) return undefined;
    return { limit, open: readdirSync('/proc/self/fd').length - 1 };
  } catch {
    return undefined;
  }
}
