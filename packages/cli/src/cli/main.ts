/**
 * `tsvmm <command> [options]`: dispatch, help, and the one place errors become exit codes.
 */
import { type OptionSpec, formatOptions, parseArgs } from './args';
import type { CliHooks, Command } from './command';
import { ERROR_SCHEMA, UsageError, reportError } from './errors';
import { EXIT_CODES, ExitCode, formatExitCodes } from './exit-codes';
import { type CliIo, errWidth, outWidth, processIo } from './io';
import { wrapBlock } from '../output/wrap';
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

/** The spellings that print the version: `-v` and `-V` both, as most command-line tools accept. */
export const VERSION_FLAGS: readonly string[] = ['--version', '-v', '-V'];

/**
 * The options `tsvmm` takes without a command: `--help` (`-h`) and `--version` (`-v`; `-V` is read
 * as `-v`, so `-v -V` is the option given twice). `--help` with `--version` prints the help.
 */
const TOP_LEVEL_OPTIONS: readonly OptionSpec[] = [
  { name: 'help', type: 'boolean', short: 'h', description: 'the commands and every exit code' },
  { name: 'version', type: 'boolean', short: 'v', description: 'the version' },
];

/** `tsvmm --help`, wrapped to `width` columns: the commands, and every exit code. */
export function topLevelHelp(width: number): string {
  const nameWidth = Math.max(...COMMANDS.map((c) => c.name.length));
  const text = [
    'tsvmm: irqfd for Node.js virtual machine monitors',
    '',
    'Usage: tsvmm <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(nameWidth)}  ${c.summary}`),
    '',
    "Run 'tsvmm <command> --help' for a command's options, 'tsvmm --version' (also -v, -V) for the version.",
    '',
    formatExitCodes(EXIT_CODES),
    '',
  ].join('\n');
  return wrapBlock(text, width);
}

/**
 * What `tsvmm` alone prints on stderr before exiting 2: the usage line, the commands, where the help
 * is. A command line without a command is a usage error, as with git or ip; the full help is
 * `tsvmm --help`, on stdout, exit 0.
 */
export function shortUsage(width: number): string {
  return wrapBlock(
    ['Usage: tsvmm <command> [options]', `Commands: ${COMMANDS.map((c) => c.name).join(', ')}`, "Run 'tsvmm --help' for the commands and exit codes.", ''].join('\n'),
    width,
    2,
  );
}

/** A stand-in for the spaces inside `[...]`, so that a usage line breaks between option groups only. */
const GLUE = '\uE000';

/** One usage line wrapped to `width`, its continuations `hang` columns in, inside a `[...]` group only when it is too long for a line. */
function wrapUsage(line: string, width: number, hang: number): string {
  const glued = line.replace(/\[[^\]]*\]/g, (group) => (group.length <= width - hang ? group.replace(/ /g, GLUE) : group));
  return wrapBlock(glued, width, hang).split(GLUE).join(' ');
}

/** `tsvmm <command> --help`, wrapped to `width` columns: its usage, options, details and its own exit codes. */
export function commandHelp(c: Command, width: number): string {
  const usage = c.usage.split('\n').map((l) => l.trim());
  return [
    wrapBlock(`tsvmm ${c.name}: ${c.summary}`, width, 2),
    '',
    wrapUsage(`Usage: ${usage[0]}`, width, 9),
    ...usage.slice(1).map((l) => wrapUsage(`       ${l}`, width, 2)),
    '',
    'Options:',
    formatOptions(c.options, width),
    '',
    wrapBlock(c.details, width),
    '',
    wrapBlock(formatExitCodes(c.exitCodes), width),
    '',
  ].join('\n');
}

/** Runs one command line; resolves to the exit code. Never throws. */
export async function main(argv: readonly string[], io: CliIo = processIo(), hooks: CliHooks = {}): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.err(shortUsage(errWidth(io)));
    return ExitCode.Usage;
  }
  if (name === 'help') {
    if (rest[0]) return main([rest[0], '--help'], io, hooks);
    io.out(topLevelHelp(outWidth(io)));
    return ExitCode.Ok;
  }
  if (name === '--help' || name === '-h' || VERSION_FLAGS.includes(name)) {
    // The whole line goes through the parser the commands use, so `tsvmm -h --help` and
    // `tsvmm --help --bogus` are usage errors here as `tsvmm demo -h --help` is.
    let opts: ReturnType<typeof parseArgs>;
    try {
      opts = parseArgs('', argv.map((a) => (a === '-V' ? '-v' : a)), TOP_LEVEL_OPTIONS);
    } catch (e) {
      const stray = argv.find((a) => !a.startsWith('-'));
      const problem = stray !== undefined ? `unexpected argument '${stray}' (the command comes first: 'tsvmm ${stray} --help')` : undefined;
      const r = reportError(problem !== undefined ? new UsageError('', problem) : e);
      printError(io, r.message, r.exitCode);
      return r.exitCode;
    }
    if (opts.help === true) io.out(topLevelHelp(outWidth(io)));
    else io.out(`tsvmm ${version()}\n`);
    return ExitCode.Ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    const commands = `commands: ${COMMANDS.map((c) => c.name).join(', ')}`;
    // `tsvmm --nope`: an option where the command should be.
    const problem = name.startsWith('-') && name !== '-' ? `unknown option '${name}' (the command comes first; ${commands})` : `unknown command '${name}' (${commands})`;
    const r = reportError(new UsageError('', problem));
    printError(io, r.message, r.exitCode);
    return r.exitCode;
  }
  // Until the options parse, guess whether the caller wants errors as JSON on stdout (bench: only `--json -`).
  const at = rest.indexOf('--json');
  let json = rest.includes('--json=-') || (at >= 0 && (command.name !== 'bench' || rest[at + 1] === '-'));
  try {
    const opts = parseArgs(command.name, rest, command.options);
    json = command.jsonErrors(opts);
    if (opts.help === true) {
      io.out(commandHelp(command, outWidth(io)));
      return ExitCode.Ok;
    }
    return await command.run(opts, { io, hooks });
  } catch (e) {
    const r = reportError(e);
    printError(io, r.message, r.exitCode);
    if (json) io.out(`${JSON.stringify({ schema: ERROR_SCHEMA, error: r.json }, null, 2)}\n`);
    return r.exitCode;
  }
}

/** An error on stderr, wrapped to its width; an internal error's stack trace is left as it is, to be reported. */
function printError(io: CliIo, message: string, exitCode: ExitCode): void {
  if (exitCode !== ExitCode.Internal) {
    io.err(wrapBlock(`${message}\n`, errWidth(io), 2));
    return;
  }
  const [first = '', ...stack] = message.split('\n');
  io.err(`${[wrapBlock(first, errWidth(io), 2), ...stack].join('\n')}\n`);
}
