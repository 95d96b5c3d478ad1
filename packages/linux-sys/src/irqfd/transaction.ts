/**
 * The open transaction: how deep `batch` / route calls are nested, the request of every route
 * before the transaction first changed it (for a rollback), and the routes created in it (a
 * rollback disposes them).
 */
import type { EngineRoute, RouteRequest } from './route';

export class Transaction {
  depth = 0;
  before = new Map<EngineRoute, RouteRequest>();
  created = new Set<EngineRoute>();

  get open(): boolean {
    return this.depth > 0;
  }

  touch(route: EngineRoute): void {
    if (!this.before.has(route)) this.before.set(route, route.snapshot());
  }

  forget(route: EngineRoute): void {
    this.before.delete(route);
    this.created.delete(route);
  }

  /** Hands over what the finished transaction recorded and starts afresh (no copy: fresh collections take their place). */
  take(): { before: Map<EngineRoute, RouteRequest>; created: Set<EngineRoute> } {
    const out = { before: this.before, created: this.created };
    this.before = new Map();
    this.created = new Set();
    return out;
  }
}
