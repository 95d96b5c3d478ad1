/**
 * The MSI-X workloads `tsvmm bench` measures, driving `@tsvmm/pci-core` as a guest would. They return raw samples so the
 * caller computes median / p99 and ratios; every figure is measured in the same run as its
 * baseline, alternating sample by sample, so machine noise hits both alike.
 */
import { type IrqFd, VirtError } from '@tsvmm/virt';
import { checkInteger, invalidArgument } from '@tsvmm/virt/implement';
import { type MsixBatch, MsixEmulator, type MsixRoute, createIrqFdMsixRoutes } from '@tsvmm/pci-core';

export interface MsixTableBenchOptions {
  /** Samples of each kind (default 41). */
  readonly samples?: number;
  /** Accesses per sample (default 200,000). */
  readonly opsPerSample?: number;
  /** Vectors of the emulated device; accesses cycle over all of them (default 64). */
  readonly vectors?: number;
}

export interface MsixTableBenchResult {
  readonly samples: number;
  readonly opsPerSample: number;
  readonly vectors: number;
  /** ns per guest DWORD write to a masked vector's Message Data (no route change), one entry per sample. */
  readonly tableWriteNsPerOp: number[];
  /** ns per guest DWORD read of a table entry, one entry per sample. */
  readonly tableReadNsPerOp: number[];
  /** ns per `DataView.setUint32` over a buffer of the table's size, same offsets. */
  readonly dataViewWriteNsPerOp: number[];
  /** ns per `DataView.getUint32`, same offsets. */
  readonly dataViewReadNsPerOp: number[];
  /** The baseline per sample: mean of the DataView read and write. */
  readonly dataViewNsPerOp: number[];
  /** Keeps the reads observable so the JIT cannot drop them; meaningless otherwise. */
  readonly sink: number;
}

const T_BAR = 0;
const T_OFF = 0x2000;

/**
 * Cost of a guest table access against a bare `DataView` access. The table write targets the data
 * DWORD of masked vectors (the common "program while masked" case: no route call); the read walks
 * every DWORD of the table.
 */
export function benchMsixTableAccess(options: MsixTableBenchOptions = {}): MsixTableBenchResult {
  const op = 'benchMsixTableAccess';
  const samples = checkInteger(op, 'samples', options.samples ?? 41, 1, 100_000);
  const ops = checkInteger(op, 'opsPerSample', options.opsPerSample ?? 200_000, 1, 1e9);
  const vectors = checkInteger(op, 'vectors', options.vectors ?? 64, 1, 2048);
  const emu = new MsixEmulator({ vectors, table: { bir: T_BAR, offset: T_OFF }, pba: { bir: 1, offset: 0 } });
  const counting = new CountingRoutes(vectors);
  emu.setRoutes(counting.routes, { batch: counting.batch });
  const changesAtStart = counting.changes;
  const view = new DataView(new ArrayBuffer(vectors * 16));
  const words = vectors * 4;
  const dataWords = vectors;
  let sink = 0;

  const tableWrite = (): number => {
    const t0 = process.hrtime.bigint();
    for (let i = 0, v = 0; i < ops; i++) {
      emu.write32(T_BAR, T_OFF + v * 16 + 8, i);
      if (++v === dataWords) v = 0;
    }
    return Number(process.hrtime.bigint() - t0) / ops;
  };
  const viewWrite = (): number => {
    const t0 = process.hrtime.bigint();
    for (let i = 0, v = 0; i < ops; i++) {
      view.setUint32(v * 16 + 8, i, true);
      if (++v === dataWords) v = 0;
    }
    return Number(process.hrtime.bigint() - t0) / ops;
  };
  const tableRead = (): number => {
    let acc = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0, w = 0; i < ops; i++) {
      acc = (acc + emu.read32(T_BAR, T_OFF + w * 4)) | 0;
      if (++w === words) w = 0;
    }
    const ns = Number(process.hrtime.bigint() - t0) / ops;
    sink ^= acc;
    return ns;
  };
  const viewRead = (): number => {
    let acc = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0, w = 0; i < ops; i++) {
      acc = (acc + view.getUint32(w * 4, true)) | 0;
      if (++w === words) w = 0;
    }
    const ns = Number(process.hrtime.bigint() - t0) / ops;
    sink ^= acc;
    return ns;
  };

  // Warm up every loop so the JIT has optimized all four before the first sample.
  for (let i = 0; i < 3; i++) {
    tableWrite();
    viewWrite();
    tableRead();
    viewRead();
  }
  const result = {
    samples,
    opsPerSample: ops,
    vectors,
    tableWriteNsPerOp: [] as number[],
    tableReadNsPerOp: [] as number[],
    dataViewWriteNsPerOp: [] as number[],
    dataViewReadNsPerOp: [] as number[],
    dataViewNsPerOp: [] as number[],
    sink: 0,
  };
  for (let s = 0; s < samples; s++) {
    // Alternate the order so neither side always runs first.
    const first = s % 2 === 0;
    const vw = first ? viewWrite() : 0;
    const tw = tableWrite();
    const vw2 = first ? vw : viewWrite();
    const vr = first ? viewRead() : 0;
    const tr = tableRead();
    const vr2 = first ? vr : viewRead();
    result.tableWriteNsPerOp.push(tw);
    result.tableReadNsPerOp.push(tr);
    result.dataViewWriteNsPerOp.push(vw2);
    result.dataViewReadNsPerOp.push(vr2);
    result.dataViewNsPerOp.push((vw2 + vr2) / 2);
  }
  if (counting.changes !== changesAtStart) {
    throw internal(op, `the table benchmark changed routes ${counting.changes - changesAtStart} times; it must measure accesses without route changes`);
  }
  result.sink = sink;
  return result;
}

export interface MsixEnableBenchOptions {
  /**
   * The irqfd to program (e.g. a KVM partition's): commits are read from its `commitCount`. Without
   * it, in-memory routes count commits the way KVM does (one per batch with changes, one per
   * change outside a batch).
   */
  readonly irqfd?: IrqFd;
  /** Default 2048 (the most MSI-X allows). */
  readonly vectors?: number;
  /** Default true: bulk transitions run in the irqfd's batch. False: one commit per change (what other VMMs do). */
  readonly batched?: boolean;
}

export interface MsixEnableBenchResult {
  readonly vectors: number;
  readonly batched: boolean;
  /** `irqfd` when a real irqfd was programmed, `counting-routes` otherwise. */
  readonly source: 'irqfd' | 'counting-routes';
  /** Whether the routes have a routing table at all (the relay has none: 0 commits by construction). */
  readonly routingTable: boolean;
  /** Routing-table commits caused by setting MSI-X Enable with every vector programmed and unmasked. */
  readonly commits: number;
  /** Wall time of that one config write, in ms (includes the commit ioctl on a real backend). */
  readonly enableMs: number;
}

/**
 * Routing commits (and time) to enable `vectors` programmed, unmasked vectors: the guest programs
 * every entry and clears every mask while MSI-X is disabled, then sets Enable.
 */
export function benchMsixEnable(options: MsixEnableBenchOptions = {}): MsixEnableBenchResult {
  const op = 'benchMsixEnable';
  const vectors = checkInteger(op, 'vectors', options.vectors ?? 2048, 1, 2048);
  const batched = options.batched ?? true;
  if (typeof batched !== 'boolean') throw invalidArgument(op, 'batched must be a boolean');
  const emu = new MsixEmulator({ vectors, table: { bir: T_BAR, offset: T_OFF }, pba: { bir: 1, offset: 0 } });
  let commits: () => number;
  let routingTable: boolean;
  let cleanup: () => void;
  if (options.irqfd !== undefined) {
    const irqfd = options.irqfd;
    const set = createIrqFdMsixRoutes(irqfd, vectors);
    emu.setRoutes(set.routes, batched ? { batch: set.batch } : {});
    commits = () => irqfd.commitCount;
    routingTable = irqfd.capabilities.routingTable;
    cleanup = () => {
      emu.clearRoutes();
      set.dispose();
    };
  } else {
    const counting = new CountingRoutes(vectors);
    emu.setRoutes(counting.routes, batched ? { batch: counting.batch } : {});
    commits = () => counting.commits;
    routingTable = true;
    cleanup = () => emu.clearRoutes();
  }
  try {
    for (let v = 0; v < vectors; v++) {
      const base = T_OFF + v * 16;
      emu.write32(T_BAR, base, (0xfee00000 | ((v % 2) << 12)) >>> 0);
      emu.write32(T_BAR, base + 4, 0);
      emu.write32(T_BAR, base + 8, 0x20 + (v % 200));
      emu.write32(T_BAR, base + 12, 0);
    }
    const c0 = commits();
    const t0 = process.hrtime.bigint();
    emu.configWrite(3, 1, 0x80);
    const enableMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const n = commits() - c0;
    if (emu.errorCount !== 0) throw internal(op, `routes failed while enabling: ${String(emu.lastError?.message)}`, emu.lastError);
    return { vectors, batched, source: options.irqfd ? 'irqfd' : 'counting-routes', routingTable, commits: n, enableMs };
  } finally {
    cleanup();
  }
}

/** Routes that only count, as KVM would: a commit per batch with changes, or per change outside one. */
class CountingRoutes {
  readonly routes: MsixRoute[];
  commits = 0;
  changes = 0;
  private depth = 0;
  private dirty = false;

  constructor(vectors: number) {
    const change = (): void => {
      this.changes++;
      if (this.depth > 0) this.dirty = true;
      else this.commits++;
    };
    const route: MsixRoute = {
      setMsi: change,
      clearMsi: change,
      mask: () => undefined,
      unmask: () => undefined,
      consumePending: () => false,
      signal: () => undefined,
    };
    this.routes = Array.from({ length: vectors }, () => ({ ...route }));
  }

  readonly batch: MsixBatch = (fn) => {
    this.depth++;
    try {
      return fn();
    } finally {
      if (--this.depth === 0 && this.dirty) {
        this.dirty = false;
        this.commits++;
      }
    }
  };
}

function internal(operation: string, detail: string, cause?: unknown): VirtError {
  return new VirtError('INTERNAL', { operation, detail, hint: 'This is a tsvmm bug; please report it.', cause });
}
