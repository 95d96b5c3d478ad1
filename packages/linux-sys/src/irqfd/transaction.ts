/**
 * The open transaction: how deep `batch` / route calls are nested, the routes it changed (each
 * keeps its request from before the transaction, for a rollback), and the routes created in it (a
 * rollback disposes them). A route is marked with the transaction's generation when first touched,
 * so touching it again costs one comparison: a batch of thousands of changes allocates one array.
 */
import type { EngineRoute } from './route';

/** What a finished transaction hands over. */
export interface TakenTransaction {
  /** The routes it changed, each once, still live; `route.txnBefore` is each one's request from before it. */
  readonly touched: EngineRoute[];
  /** The routes created in it. */
  readonly created: Set<EngineRoute>;
  /** Its generation: `route.txnGen` of every route in `touched`. */
  readonly gen: number;
}

export class Transaction {
  depth = 0;
  private gen = 1;
  private touched: EngineRoute[] = [];
  created = new Set<EngineRoute>();

  get open(): boolean {
    return this.depth > 0;
  }

  touch(route: EngineRoute): void {
    if (route.txnGen === this.gen) return;
    route.txnGen = this.gen;
    route.txnBefore = route.snapshot();
    this.touched.push(route);
  }

  /** The route leaves the transaction (it was disposed): nothing is done to it at the end. */
  forget(route: EngineRoute): void {
    if (route.txnGen === this.gen) route.txnGen = 0;
    this.created.delete(route);
  }

  /** Hands over what the finished transaction recorded and starts afresh. */
  take(): TakenTransaction {
    const gen = this.gen++;
    const touched = this.touched.filter((r) => r.txnGen === gen && !r.disposed);
    const out = { touched, created: this.created, gen };
    this.touched = [];
    this.created = new Set();
    return out;
  }
}
