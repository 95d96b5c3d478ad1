import { existsSync } from 'node:fs';

interface RunnerGlobals {
  readonly describe: ((name: string, fn: () => void) => void) & { readonly skip: (name: string, fn: () => void) => void };
  readonly it: (name: string, fn: () => void) => void;
}

/**
 * `describe` for tests that need a device node (`/dev/kvm`, `/dev/mshv`): they run where it exists.
 * Where it is missing they fail, so a host without the device never passes silently, unless the
 * environment variable `allowMissingEnv` is `1`: then they are skipped with a warning naming the
 * device. Uses the test runner's globals (jest, vitest, mocha).
 */
export function describeWithDevice(device: string, allowMissingEnv: string, name: string, fn: () => void): void {
  const globals: unknown = globalThis;
  const { describe, it } = globals as RunnerGlobals;
  if (existsSync(device)) {
    describe(name, fn);
    return;
  }
  if (process.env[allowMissingEnv] === '1') {
    console.warn(`SKIPPED "${name}": ${device} is missing on this host (${allowMissingEnv}=1).`);
    describe.skip(name, fn);
    return;
  }
  describe(name, () => {
    it(`needs ${device}`, () => {
      throw new Error(`${device} is missing: these tests need it. Set ${allowMissingEnv}=1 to skip them on a host without it.`);
    });
  });
}
