export type { IrqFdBackend, IrqFdCalls, IrqFdEncoding, RoutingTableEncoding } from './backend';
