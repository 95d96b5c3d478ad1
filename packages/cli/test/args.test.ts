import { thrownBy } from '@tsvmm/virt/testing';
import { formatOptions, parseArgs, type OptionSpec } from '../src/cli/args';
import { UsageError } from '../src/cli/errors';

const specs: OptionSpec[] = [
  { name: 'json', type: 'string', short: 'j', description: 'file' },
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
    [['--nope'], "unknown option '--nope'"],
    [['-x'], "unknown option '-x'"],
    [['stray'], "unexpected argument 'stray' (this command takes options only)"],
    [['--json'], '--json needs a value'],
    [['-j'], '--json needs a value'],
    [['--json', '--quick'], "--json needs a value, got the option '--quick' (a value that starts with '-' is written --json=<value>)"],
    [['-j', '--quick'], "--json needs a value, got the option '--quick' (a value that starts with '-' is written --json=<value>)"],
    [['--rounds', 'many'], "--rounds needs a number, got 'many'"],
    [['--rounds', ' '], "--rounds needs a number, got ' '"],
    [['--quick=yes'], '--quick takes no value'],
  ])('rejects %j in the CLI\'s own words, not parseArgs\'', (argv, message) => {
    expect(() => parseArgs('bench', argv, specs)).toThrow(UsageError);
    const said = (thrownBy(() => parseArgs('bench', argv, specs)) as Error).message;
    expect(said).toBe(message);
    // Node's phrasings, capitalised, with "Option '...' argument ...", never reach the user.
    expect(said).not.toMatch(/^[A-Z]|Option '|argument missing|ambiguous/);
  });

  it('lists visible options in help, not hidden ones', () => {
    const help = formatOptions(specs);
    expect(help).toContain('--json <string>');
    expect(help).toContain('-h, --help');
    expect(help).not.toContain('--secret');
  });
});
