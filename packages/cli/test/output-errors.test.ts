/**
 * When stdout cannot be written: a closed pipe ends quietly, anything else is one line on stderr
 * and exit 74 (EX_IOERR), never an uncaught stack trace.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { ExitCode } from '../src/cli/exit-codes';
import { onOutputError } from '../src/cli/output-errors';
import { BIN } from './support/run-cli';

function effects(pending?: number) {
  const seen = { stderr: '', exits: [] as number[] };
  return { seen, fx: { writeErr: (t: string) => void (seen.stderr += t), exit: (c: number) => void seen.exits.push(c), pendingExitCode: () => pending } };
}
const errno = (code: string, message: string): NodeJS.ErrnoException => Object.assign(new Error(message), { code });

describe('a stdout that cannot be written', () => {
  it('a closed pipe (EPIPE) ends quietly, keeping the exit code the command set', () => {
    for (const pending of [undefined, ExitCode.Failed]) {
      const { seen, fx } = effects(pending);
      onOutputError('stdout', errno('EPIPE', 'EPIPE: broken pipe, write'), fx);
      expect(seen).toEqual({ stderr: '', exits: [pending ?? ExitCode.Ok] });
    }
  });

  it.each(['ENOSPC', 'EIO', 'EBADF'])('%s is one line on stderr naming the error, and exit 74', (code) => {
    const { seen, fx } = effects(ExitCode.Ok);
    onOutputError('stdout', errno(code, `${code}: some text, write`), fx);
    expect(seen.exits).toEqual([74]);
    expect(seen.stderr).toBe(`tsvmm: cannot write to stdout (${code}: some text); the output is incomplete\n`);
  });

  it('a stderr that fails exits 74 without trying to write to it', () => {
    const { seen, fx } = effects();
    onOutputError('stderr', errno('EIO', 'EIO: i/o error, write'), fx);
    expect(seen).toEqual({ stderr: '', exits: [74] });
  });

  const full = fs.existsSync('/dev/full') ? undefined : '/dev/full does not exist on this host';
  if (full) process.stderr.write(`SKIPPED "tsvmm >/dev/full": ${full}\n`);
  (full ? it.skip : it).each([
    ['probe', ['probe']],
    ['demo', ['demo', '--backend', 'software']],
    ['probe --json', ['probe', '--json']],
  ])('tsvmm %s >/dev/full: one line on stderr and exit 74, no stack trace', (_, args) => {
    const fd = fs.openSync('/dev/full', 'w');
    try {
      const r = spawnSync(process.execPath, [BIN, ...args], { stdio: ['ignore', fd, 'pipe'], encoding: 'utf8', timeout: 120_000 });
      expect(r.error).toBeUndefined();
      expect(r.stderr).toMatch(/^(.*\n)*tsvmm: cannot write to stdout \(ENOSPC: no space left on device\); the output is incomplete\n$/);
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect(r.status).toBe(74);
    } finally {
      fs.closeSync(fd);
    }
  });
});
