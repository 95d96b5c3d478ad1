/** The test runner's globals the fault suite uses (jest's, or any runner with the same names). */
export interface Matchers {
  toEqual(expected: unknown): void;
  toBe(expected: unknown): void;
  toBeGreaterThan(expected: number): void;
  toMatchObject(expected: object): void;
  toContain(expected: unknown): void;
}

export interface RunnerGlobals {
  readonly describe: (name: string, fn: () => void) => void;
  /** A test; an async body's promise is awaited by the runner. */
  readonly it: (name: string, fn: () => void | Promise<void>) => void;
  readonly expect: (actual: unknown) => Matchers;
}

/** The runner's globals, read when a check runs (the module itself loads outside a runner). */
export function runner(): RunnerGlobals {
  const globals: unknown = globalThis;
  return globals as RunnerGlobals;
}
