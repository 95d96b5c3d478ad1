import { formatOptions, parseArgs, type OptionSpec } from '../src/cli/args';
import { UsageError } from '../src/cli/errors';

const specs: OptionSpec[] = [
  { name: 'json', type: 'string', description: 'file' },
  { name: 'quick', type: 'boolean', description: 'quick' },
  { name: 'rounds', type: 'number', description: 'rounds' },
  { name: 'secret', type: 'boolean', description: 'hidden', hidden: true },
  { name: 'help', short: 'h', type: 'boolean', description: 'help' },
];

describe('parseArgs', () => {
  it('parses flags, values in both spellings, numbers and short aliases', () => {
    expect(parseArgs('bench', ['--quick', '--json', 'out.json', '--rounds=3', '-h'], specs)).toEqual({
      quick: true,
      json: 'out.json',
      rounds: 3,
      help: true,
    });
    expect(parseArgs('bench', ['--json', '-'], specs)).toEqual({ json: '-' });
  });

  it.each([
    [['--nope'], /Unknown option '--nope'/],
    [['-x'], /Unknown option '-x'/],
    [['stray'], /Unexpected argument 'stray'/],
    [['--json'], /Option '--json <value>' argument missing/],
    [['--json', '--quick'], /Option '--json' argument is ambiguous/],
    [['--rounds', 'many'], /--rounds needs a number, got 'many'/],
    [['--rounds', ' '], /--rounds needs a number/],
    [['--quick=yes'], /Option '--quick' does not take an argument/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseArgs('bench', argv, specs)).toThrow(UsageError);
    expect(() => parseArgs('bench', argv, specs)).toThrow(message);
  });

  it('lists visible options in help, not hidden ones', () => {
    const help = formatOptions(specs);
    expect(help).toContain('--json <string>');
    expect(help).toContain('-h, --help');
    expect(help).not.toContain('--secret');
  });
});
