/** The path of check-readme-examples.mjs, for a test that runs it on a README of its own. */
export declare const CHECKER: string;
/** What a package's README test needs, for the package in `packageDir`. */
export declare function readmeTools(packageDir: string): ReadmeTools;
/** One example run by {@link readmeTests}. */
export interface ExamplePrints {
  /** The example file, relative to the package (`examples/model.js`). */
  example: string;
  /** The test title after "<example> runs in plain Node and"; default "prints what it promises". */
  does?: string;
  /** Its whole stdout, one entry a line, without the newlines. */
  lines: string[];
}
/**
 * Registers the README tests every package has: the README shows exactly `shows` (in order, byte
 * for byte) and each of `prints` runs in plain Node printing exactly its lines. Returns the tools
 * for the package's other README tests.
 */
export declare function readmeTests(packageDir: string, expected: { shows: string[]; prints?: ExamplePrints[] }): ReadmeTools;
/**
 * The lines `run` prints with console.log while it runs, one per call (strings as they are, anything
 * else as JSON, joined by spaces): for an example run in the test's own process. A `run` that
 * returns a promise gives a promise of the lines, console.log put back once it settles.
 */
export declare function printedBy(run: () => Promise<unknown>): Promise<string[]>;
export declare function printedBy(run: () => unknown): string[];
/** What {@link readmeTools} returns. */
export interface ReadmeTools {
  /** Runs `node` with `args` in the package's folder (env added to this process's); its stdout. */
  node(args: string[], env?: NodeJS.ProcessEnv): string;
  /** The example files `readme` shows, in order; throws with the checker's report on any drift. */
  readmeExamples(readme?: string): string[];
}
