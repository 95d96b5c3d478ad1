import { existsSync, readFileSync } from 'node:fs';

interface RunnerGlobals {
  readonly describe: (name: string, fn: () => void) => void;
  readonly it: ((name: string, fn: () => void) => void) & { readonly skip: (name: string, fn: () => void) => void };
}

/**
 * Why `device` is missing, in one sentence: the node is absent, and for a misc device (`/dev/kvm`,
 * `/dev/mshv`) whether the kernel registered it at all (`/proc/misc`), which tells "no driver bound"
 * apart from "the node was not created".
 */
export function deviceAbsenceReason(device: string): string {
  const name = device.replace(/^\/dev\//, '');
  let misc: string | undefined;
  try {
    misc = readFileSync('/proc/misc', 'utf8');
  } catch {
    misc = undefined;
  }
  if (misc === undefined) return `${device} does not exist on this host`;
  const registered = misc.split('\n').some((line) => line.trim().split(/\s+/)[1] === name);
  return registered
    ? `${device} does not exist on this host, although the kernel registered the ${name} device (create the node, e.g. with mknod)`
    : `${device} does not exist on this host: the kernel registered no ${name} device (/proc/misc), so no ${name} driver is bound here`;
}

/**
 * `describe` for tests that need a device node (`/dev/kvm`, `/dev/mshv`): they run where it exists.
 * Where it is missing they fail, so a host without the device never passes silently, unless the
 * environment variable `allowMissingEnv` is `1`: then the file reports one skipped test that names
 * the device and the reason, and prints one `SKIPPED` line to stderr. A skip is never a pass.
 * With `options.skipByDefault` (a device most hosts cannot have, such as `/dev/mshv`), a missing
 * device is skipped that way unless `allowMissingEnv` is `0`, which makes it fail.
 * Uses the test runner's globals (jest, vitest, mocha).
 */
export function describeWithDevice(device: string, allowMissingEnv: string, name: string, fn: () => void, options: { skipByDefault?: boolean } = {}): void {
  const globals: unknown = globalThis;
  const { describe, it } = globals as RunnerGlobals;
  if (existsSync(device)) {
    describe(name, fn);
    return;
  }
  const reason = deviceAbsenceReason(device);
  const allowed = options.skipByDefault === true ? process.env[allowMissingEnv] !== '0' : process.env[allowMissingEnv] === '1';
  if (allowed) {
    const why = process.env[allowMissingEnv] === '1' ? `${allowMissingEnv}=1` : `skipped by default; ${allowMissingEnv}=0 makes it fail`;
    process.stderr.write(`SKIPPED "${name}": ${reason} (${why})\n`);
    describe(name, () => it.skip(`needs ${device}: ${reason}`, () => undefined));
    return;
  }
  describe(name, () => {
    it(`needs ${device}`, () => {
      throw new Error(`${reason}: these tests need it. Set ${allowMissingEnv}=1 to skip them on a host without it.`);
    });
  });
}
