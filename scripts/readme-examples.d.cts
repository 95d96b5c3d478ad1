/** The path of check-readme-examples.mjs, for a test that runs it on a README of its own. */
export declare const CHECKER: string;
/** What a package's README test needs, for the package in `packageDir`. */
export declare function readmeTools(packageDir: string): {
  /** Runs `node` with `args` in the package's folder (env added to this process's); its stdout. */
  node(args: string[], env?: NodeJS.ProcessEnv): string;
  /** The example files `readme` shows, in order; throws with the checker's report on any drift. */
  readmeExamples(readme?: string): string[];
};
