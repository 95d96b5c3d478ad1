/**
 * `tsvmm <command> [options]`: dispatch, help, and the one place errors become exit codes.
 */
import { formatOptions, parseArgs } from './args';
import type { CliHooks, Command } from './command';
import { UsageError, reportError } from './errors';
import { EXIT_CODE_HELP, ExitCode } from './exit-codes';
import { type CliIo, processIo } from './io';
import { probeCommand } from './probe-command';
import { demoCommand } from './demo-command';
import { benchCommand } from './bench-command';

/** The commands of `tsvmm`, in the order `tsvmm --help` lists them: `probe`, `demo`, `bench`. */
export const COMMANDS: readonly Command[] = [probeCommand, demoCommand, benchCommand];

/** This package's version (package.json ships with the package, two levels above src/cli and dist/cli). */
function version(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../../package.json') as { version: string }).version;
}

export function topLevelHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'tsvmm: irqfd for Node.js virtual machine monitors',
    '',
    'Usage: tsvmm <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'tsvmm <command> --help' for a command's options; 'tsvmm --version' for the version.",
    '',
    EXIT_CODE_HELP,
    '',
  ].join('\n');
}

export function commandHelp(c: Command): string {
  return [`tsvmm ${c.name}: ${c.summary}`, '', `Usage: ${c.usage}`, '', 'Options:', formatOptions(c.options), '', c.details, '', EXIT_CODE_HELP, ''].join('\n');
}

/** Runs one command line; resolves to the exit code. Never throws. */
export async function main(argv: readonly string[], io: CliIo = processIo(), hooks: CliHooks = {}): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    if (name === 'help' && rest[0]) return main([rest[0], '--help'], io, hooks);
    if (name === undefined) io.err(topLevelHelp());
    else io.out(topLevelHelp());
    return name === undefined ? ExitCode.Usage : ExitCode.Ok;
  }
  if (name === '--version' || name === '-V') {
    io.out(`tsvmm ${version()}\n`);
    return ExitCode.Ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    const r = reportError(new UsageError('', `unknown command '${name}' (commands: ${COMMANDS.map((c) => c.name).join(', ')})`));
    io.err(`${r.message}\n`);
    return r.exitCode;
  }
  // Until the options parse, guess whether the caller wants errors as JSON on stdout (bench: only `--json -`).
  const at = rest.indexOf('--json');
  let json = rest.includes('--json=-') || (at >= 0 && (command.name !== 'bench' || rest[at + 1] === '-'));
  try {
    const opts = parseArgs(command.name, rest, command.options);
    json = command.jsonErrors(opts);
    if (opts.help === true) {
      io.out(commandHelp(command));
      return ExitCode.Ok;
    }
    return await command.run(opts, { io, hooks });
  } catch (e) {
    const r = reportError(e);
    io.err(`${r.message}\n`);
    if (json) io.out(`${JSON.stringify({ error: r.json }, null, 2)}\n`);
    return r.exitCode;
  }
}
