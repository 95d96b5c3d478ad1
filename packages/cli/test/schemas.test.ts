/**
 * The JSON Schemas this package publishes (schemas/*.schema.json) against the documents the commands
 * really print: each command runs in-process (bench --against runs this build against this same
 * checkout, two real child runs), and its stdout is validated. The validator is Ajv in strict mode,
 * so a schema with a misspelt or unknown keyword fails to compile rather than accept everything; each
 * schema also refuses the real document once it is broken in a way a consumer would notice.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import { COMPARISON_SCHEMA } from '../src/bench/against';
import { BENCH_SCHEMA } from '../src/bench/result';
import { ERROR_SCHEMA } from '../src/cli/errors';
import { memoryIo } from '../src/cli/io';
import { main } from '../src/cli/main';
import { DEMO_SCHEMA } from '../src/demo/run-demo';
import { PROBE_SCHEMA, probeAll } from '../src/probe/backends';
import { mshvBackend, probe as probeMshv } from '@tsvmm/virt-mshv';
import { MshvKernelModel } from '@tsvmm/virt-mshv/testing';

const ROOT = path.join(__dirname, '..');
const SCHEMAS = path.join(ROOT, 'schemas');
const REPO = path.resolve(ROOT, '..', '..');

/** Every published schema by file name, and the `schema` value of the document it describes. */
const DOCUMENTS: Record<string, string> = {
  'probe.schema.json': PROBE_SCHEMA,
  'demo.schema.json': DEMO_SCHEMA,
  'bench.schema.json': BENCH_SCHEMA,
  'bench-against.schema.json': COMPARISON_SCHEMA,
  'error.schema.json': ERROR_SCHEMA,
};

function validator(file: string): ValidateFunction {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  return ajv.compile(JSON.parse(fs.readFileSync(path.join(SCHEMAS, file), 'utf8')) as object);
}

/** The validation errors of `doc` against `file`, as text: `[]` when it is valid. */
function errorsOf(file: string, doc: unknown): string[] {
  const validate = validator(file);
  return validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}

async function run(argv: string[]): Promise<{ code: number; doc: Record<string, unknown> }> {
  const io = memoryIo();
  const code = await main(argv, io);
  return { code, doc: JSON.parse(io.stdout) as Record<string, unknown> };
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

describe('the published JSON Schemas', () => {
  it('are one per document, each compiling in strict mode and naming its document by its schema constant', () => {
    expect(fs.readdirSync(SCHEMAS).sort()).toEqual(Object.keys(DOCUMENTS).sort());
    for (const [file, id] of Object.entries(DOCUMENTS)) {
      const schema = JSON.parse(fs.readFileSync(path.join(SCHEMAS, file), 'utf8')) as { properties: { schema: { const: string } } };
      expect(() => validator(file)).not.toThrow();
      expect(schema.properties.schema.const).toBe(id);
    }
  });

  it('are shipped with the package and linked from its README', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
    expect(pkg.files).toContain('schemas');
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    for (const file of Object.keys(DOCUMENTS)) expect(readme).toContain(`](schemas/${file})`);
  });

  it('describe probe --json', async () => {
    const { code, doc } = await run(['probe', '--json']);
    expect(code).toBe(0);
    expect(doc.schema).toBe(PROBE_SCHEMA);
    expect(errorsOf('probe.schema.json', doc)).toEqual([]);
    const noBest = clone(doc);
    delete noBest.best;
    expect(errorsOf('probe.schema.json', noBest)).not.toEqual([]);
    const badCode = clone(doc) as { backends: { code: string }[] };
    badCode.backends[0]!.code = 'maybe';
    expect(errorsOf('probe.schema.json', badCode)).not.toEqual([]);
    // The software backend is always available, so the document holds capabilities to break.
    const withCaps = (d: Record<string, unknown>): Record<string, unknown> =>
      (d as { backends: { capabilities?: Record<string, unknown> }[] }).backends.find((b) => b.capabilities !== undefined)!.capabilities!;
    const noMaxApicId = clone(doc);
    delete withCaps(noMaxApicId).maxApicId;
    expect(errorsOf('probe.schema.json', noMaxApicId)).not.toEqual([]);
    // A backend's own capability fields are documented: the report of mshv's probe, run on its
    // kernel model, validates as it is; an unknown field is refused.
    const model = new MshvKernelModel();
    const mshvOnModel = JSON.parse(JSON.stringify(probeAll([{ ...mshvBackend, probe: () => probeMshv({ sys: model, memory: model }) }]))) as Record<string, unknown>;
    expect(withCaps(mshvOnModel)).toMatchObject({ backend: 'mshv', resampleReason: expect.any(String), x2apicReason: expect.any(String) });
    expect(errorsOf('probe.schema.json', mshvOnModel)).toEqual([]);
    const unknownCap = clone(doc);
    withCaps(unknownCap).speed = 'fast';
    expect(errorsOf('probe.schema.json', unknownCap)).not.toEqual([]);
    const fractional = clone(doc);
    withCaps(fractional).maxApicId = 254.5;
    expect(errorsOf('probe.schema.json', fractional)).not.toEqual([]);
    // What an x2APIC partition would reach: documented as the backends print it, and broken it is refused.
    const x2 = (d: Record<string, unknown>): Record<string, unknown> =>
      (d as { backends: { x2apicPartition?: Record<string, unknown> }[] }).backends.find((b) => b.x2apicPartition !== undefined)!.x2apicPartition!;
    expect(x2(doc)).toMatchObject({ available: true, maxApicId: expect.any(Number) });
    expect(x2(mshvOnModel)).toMatchObject({ available: false });
    for (const breakIt of [
      (x: Record<string, unknown>) => delete x.maxApicId,
      (x: Record<string, unknown>) => (x.maxApicId = 2 ** 32 - 1),
      (x: Record<string, unknown>) => (x.available = 'yes'),
      (x: Record<string, unknown>) => (x.reason = ''),
      (x: Record<string, unknown>) => (x.wider = true),
    ]) {
      const broken = clone(doc);
      breakIt(x2(broken));
      expect(errorsOf('probe.schema.json', broken)).not.toEqual([]);
    }
  });

  it('describe demo --json', async () => {
    const { code, doc } = await run(['demo', '--json', '--backend', 'software']);
    expect(code).toBe(0);
    expect(doc.schema).toBe(DEMO_SCHEMA);
    expect(errorsOf('demo.schema.json', doc)).toEqual([]);
    type Doc = Record<string, unknown>;
    const part = (d: Doc, key: string): Doc => d[key] as Doc;
    // Each of these breaks the document, and the schema refuses it (the name says which did not).
    for (const [name, breakIt] of [
      ['an extra top-level key', (d: Doc) => (d.verdict = 'fine')],
      ['another schema version', (d: Doc) => (d.schema = 'tsvmm-demo/2')],
      ['no x2apic section', (d: Doc) => delete d.x2apic],
      ['x2apic on an unknown host', (d: Doc) => (part(d, 'x2apic').on = 'qemu')],
      ['x2apic without its APIC IDs', (d: Doc) => delete part(d, 'x2apic').apicIds],
      ['no passthrough section', (d: Doc) => delete d.passthrough],
      ['passthrough on an unknown host', (d: Doc) => (part(d, 'passthrough').on = 'qemu')],
      ['a device address without its domain', (d: Doc) => (part(d, 'passthrough').device = '01:00.0')],
    ] as const) {
      const broken = clone(doc);
      breakIt(broken);
      expect([name, errorsOf('demo.schema.json', broken).length > 0]).toEqual([name, true]);
    }
  });

  it('describe bench --json', async () => {
    const { code, doc } = await run(['bench', '--quick', '--no-progress', '--json', '-']);
    expect(code).toBe(0);
    expect(doc.schema).toBe(BENCH_SCHEMA);
    expect(errorsOf('bench.schema.json', doc)).toEqual([]);
    const metrics = (doc as { metrics: { value: number | null; skipped?: string; failed?: string }[] }).metrics;
    // The run holds both kinds of metric, so both halves of the schema were exercised.
    expect(metrics.some((m) => m.value !== null)).toBe(true);
    const nullWithoutReason = clone(doc) as { metrics: { value: number | null }[] };
    nullWithoutReason.metrics.find((m) => m.value !== null)!.value = null;
    expect(errorsOf('bench.schema.json', nullWithoutReason)).not.toEqual([]);
    const nan = clone(doc) as { meta: { durationMs: unknown } };
    nan.meta.durationMs = null;
    expect(errorsOf('bench.schema.json', nan)).not.toEqual([]);
  }, 120_000);

  it('describe bench --against --json (this build against this same checkout)', async () => {
    const { code, doc } = await run(['bench', '--against', REPO, '--quick', '--rounds', '1', '--only', 'msix', '--no-progress', '--json', '-']);
    expect(code).toBe(0);
    expect(doc.schema).toBe(COMPARISON_SCHEMA);
    expect((doc as { metrics: unknown[] }).metrics.length).toBeGreaterThan(0);
    expect(errorsOf('bench-against.schema.json', doc)).toEqual([]);
    const failedWithoutWhy = clone(doc) as { runs: { ok: boolean }[] };
    failedWithoutWhy.runs[0]!.ok = false;
    expect(errorsOf('bench-against.schema.json', failedWithoutWhy)).not.toEqual([]);
    const strayInBuild = clone(doc) as { meta: { this: Record<string, unknown> } };
    strayInBuild.meta.this.dir = '/elsewhere';
    expect(errorsOf('bench-against.schema.json', strayInBuild)).not.toEqual([]);
  }, 300_000);

  it('describe the error document of --json', async () => {
    const { code, doc } = await run(['probe', '--json', '--backend', 'qemu']);
    expect(code).toBe(2);
    expect(doc.schema).toBe(ERROR_SCHEMA);
    expect(errorsOf('error.schema.json', doc)).toEqual([]);
    const noExit = clone(doc) as { error: Record<string, unknown> };
    delete noExit.error.exitCode;
    expect(errorsOf('error.schema.json', noExit)).not.toEqual([]);
  });
});
