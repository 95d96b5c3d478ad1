import { VirtError } from '@tsvmm/virt';
import { CliFailure, UsageError, reportError } from '../src/cli/errors';
import { ExitCode } from '../src/cli/exit-codes';

describe('reportError', () => {
  it.each([
    ['UNAVAILABLE', ExitCode.Unavailable],
    ['UNSUPPORTED', ExitCode.Unavailable],
    ['PERMISSION', ExitCode.Permission],
    ['SYSCALL', ExitCode.BackendError],
    ['BUSY', ExitCode.BackendError],
    ['INTERNAL', ExitCode.Internal],
  ] as const)('maps VirtError %s to exit code %d with its one-line message, no stack', (code, exit) => {
    const r = reportError(new VirtError(code, { operation: 'open(/dev/kvm)', detail: 'No such file', hint: 'Load kvm.' }));
    expect(r.exitCode).toBe(exit);
    expect(r.message).toBe(`open(/dev/kvm): No such file [${code}]. Load kvm.`);
    expect(r.json.code).toBe(code);
  });

  it('maps usage errors to 2 and points at --help', () => {
    const r = reportError(new UsageError('bench', 'unknown option --x'));
    expect(r.exitCode).toBe(2);
    expect(r.message).toBe("tsvmm bench: unknown option --x. Run 'tsvmm bench --help' for usage.");
  });

  it('keeps the exit code of an expected failure', () => {
    expect(reportError(new CliFailure('kvm is not available', ExitCode.Unavailable)).exitCode).toBe(3);
  });

  it('prints a stack only for real bugs (exit 70)', () => {
    const r = reportError(new TypeError('x is undefined'));
    expect(r.exitCode).toBe(70);
    expect(r.message).toMatch(/internal error, please report it: TypeError: x is undefined\n\s+at /);
  });
});
