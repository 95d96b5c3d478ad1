/**
 * tsvmm works inside a bundled application. `support/bundle-program.ts` (which uses @tsvmm/virt-kvm,
 * virt-mshv, virt-whp, virt-software, pci-core and linux-sys) is bundled by esbuild with
 * `--bundle --platform=node`, koffi kept external as its own packaging notes advise for a native
 * module, and run from a temporary folder outside the workspace that holds only the bundle and a
 * copy of koffi: no tsvmm package and no `dist` folder can be resolved there, so every relay thread
 * it starts (the epoll relay worker with each backend's injector, the WHP waiter) must come from
 * the bundle itself.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { buildSync } from 'esbuild';
import { describeWithDevice } from '@tsvmm/linux-sys/testing';

const WORKSPACE = resolve(__dirname, '..', '..', '..');
const WHP_MODEL_SOURCE = join(WORKSPACE, 'packages', 'virt-whp', 'native', 'whp_model.c');

/** No NODE_PATH (package managers set it for scripts): only the folder's own node_modules resolve. */
const CLEAN_ENV = { PATH: process.env.PATH ?? '' };

let dir = '';
let app = '';

beforeAll(() => {
  dir = mkdtempSync(join(realpathSync(tmpdir()), 'tsvmm-bundle-'));
  expect(`${dir}${sep}`.startsWith(`${WORKSPACE}${sep}`)).toBe(false);
  app = join(dir, 'app.js');
  const out = buildSync({
    entryPoints: [join(__dirname, 'support', 'bundle-program.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['koffi'],
    outfile: app,
    logLevel: 'silent',
  });
  expect(out.errors).toEqual([]);
  // koffi as `npm install koffi` puts it next to the bundle: the package and its installed native
  // package (@koromix/koffi-<platform>), copied, not linked into the workspace.
  let koffi = dirname(realpathSync(require.resolve('koffi')));
  while (!existsSync(join(koffi, 'package.json'))) koffi = dirname(koffi);
  mkdirSync(join(dir, 'node_modules'));
  cpSync(koffi, join(dir, 'node_modules', 'koffi'), { recursive: true, dereference: true });
  const natives = join(dirname(koffi), '@koromix');
  if (existsSync(natives)) cpSync(natives, join(dir, 'node_modules', '@koromix'), { recursive: true, dereference: true });
  writeFileSync(join(dir, 'package.json'), '{ "name": "bundled-app", "private": true }\n');
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs the bundle from its folder: its JSON lines as { check: result } (an `error` line if it failed, stderr too). */
function run(mode: string, env: Record<string, string> = {}): Record<string, unknown> {
  const r = spawnSync(process.execPath, [app, mode], { cwd: dir, env: { ...CLEAN_ENV, ...env }, encoding: 'utf8', timeout: 60_000 });
  const results: Record<string, unknown> = {};
  for (const line of r.stdout.split('\n').filter((l) => l.trim() !== '')) {
    try {
      const { check, result } = JSON.parse(line) as { check: string; result: unknown };
      results[check] = result;
    } catch {
      results[`unexpected output: ${line}`] = true;
    }
  }
  if (r.status !== 0) results[`exit ${String(r.status ?? r.signal)}`] = r.stderr;
  return results;
}

describe('a bundled application (esbuild --bundle --platform=node, koffi external)', () => {
  it('the bundle holds the library, and nothing of tsvmm is resolvable where it runs', () => {
    const code = readFileSync(app, 'utf8');
    expect(code).not.toMatch(/require\(["']@tsvmm\//);
    expect(code).toMatch(/require\(["']koffi["']\)/);
    const resolvable = execFileSync(
      process.execPath,
      ['-e', "for (const p of ['@tsvmm/virt', '@tsvmm/linux-sys', '@tsvmm/virt-kvm', '@tsvmm/virt-mshv', '@tsvmm/virt-whp']) { try { require.resolve(p); console.log(p); } catch {} }"],
      { cwd: dir, env: CLEAN_ENV, encoding: 'utf8' },
    );
    expect(resolvable).toBe('');
  });

  it('starts every relay thread from the bundle: the epoll worker with the record, KVM and mshv injectors, mshv overflow on its model, KVM and software under pci-core, the WHP waiter', () => {
    const model = join(dir, 'libwhp_model_no_triggers.so');
    execFileSync('cc', ['-O2', '-shared', '-fPIC', '-pthread', '-DWHP_MODEL_NO_TRIGGERS', '-o', model, WHP_MODEL_SOURCE], { stdio: ['ignore', 'ignore', 'inherit'] });
    expect(run('everywhere', { TSVMM_WHP_MODEL: model })).toEqual({
      'epoll worker, record injector: [delivered, failed], injections': [1, 0, 1],
      // The worker built each injector and issued its ioctl: /dev/null refuses it (ENOTTY).
      'epoll worker, KVM_SIGNAL_MSI spec on /dev/null: [delivered, failed]': [0, 1],
      'epoll worker, mshv MSHV_ROOT_HVCALL spec on /dev/null: [delivered, failed]': [0, 1],
      'mshv model, overflow route: IRR of vCPU 0 and 1': [[0x30], [0x77]],
      'kvm model with pci-core MSI-X: IRR of vCPU 1': [0x42],
      'software with pci-core MSI-X: IRR of vCPU 1': [0x42],
      'whp model without triggers (relay waiter): mediation, IRR of vCPU 1': ['emulated', [0x51]],
      done: true,
    });
  });
});

describeWithDevice('/dev/kvm', 'TSVMM_ALLOW_NO_KVM', 'a bundled application on KVM', () => {
  it('creates a KvmPartition in kernel mode and in relay mode, and each delivers a vector into the IRR', () => {
    expect(run('kvm')).toEqual({
      'kvm kernel: mediation, IRR of vCPU 1': ['kernel', [0x41]],
      'kvm relay: mediation, IRR of vCPU 1': ['emulated', [0x41]],
      done: true,
    });
  });
});
