/**
 * The `Disposable` shape of the published types, declared here so that they compile without the
 * `ESNext.Disposable` lib (and without `@types/node`). Types only: nothing here exists at run time.
 */

declare global {
  interface SymbolConstructor {
    /**
     * The method a `using` declaration calls when its block ends. Node.js defines `Symbol.dispose`
     * from 20.4 on; TypeScript declares it in the `ESNext.Disposable` lib, and `@types/node` as here.
     */
    readonly dispose: unique symbol;
  }
}

/**
 * An object released by `[Symbol.dispose]()`: what a `using` declaration takes. The same shape as
 * the global `Disposable` of TypeScript's `ESNext.Disposable` lib (either is assignable to the
 * other), declared here so that the types of `@tsvmm/*` need no particular `lib` setting.
 */
export interface Disposable {
  /** Releases the object; idempotent wherever this package implements it. */
  [Symbol.dispose](): void;
}
