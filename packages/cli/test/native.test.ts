/**
 * The C floors are measurements only if they really observe the APIC: the harness must fail when
 * nothing is delivered, and the C relay must inject.
 */
import { KvmPartition } from '@tsvmm/virt-kvm';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NativeUnavailable, loadNativeBench } from '../src/bench/native';
import { Stalled } from '../src/deadline';
import { itKvm } from './support/run-cli';

const ETIMEDOUT = 110;

/** Whether process `pid` has died (gone, or a zombie nobody reaped yet) within a few seconds: a bound, not a timing. */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    let state: string;
    try {
      state = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0]!;
    } catch {
      return true;
    }
    if (state === 'Z' || state === 'X') return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

describe('C floors (native/tsvmm_bench.c)', () => {
  it('say plainly that they cannot be built when there is no C compiler', async () => {
    const fresh = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvmm-nocc-'));
    const compiler = path.join(fresh, 'no-such-cc');
    await expect(loadNativeBench({ cacheRoot: fresh, compiler })).rejects.toThrow(NativeUnavailable);
    await expect(loadNativeBench({ cacheRoot: fresh, compiler })).rejects.toThrow(/no C compiler: `.*no-such-cc` is not on PATH \(install gcc\)/);
    expect(fs.readdirSync(fresh).flatMap((d) => fs.readdirSync(path.join(fresh, d)))).toEqual([]); // nothing half-built left
    fs.rmSync(fresh, { recursive: true, force: true });
  });

  it('kill a compiler that outlives its deadline, with everything it started, and say what was waited for', async () => {
    const fresh = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvmm-stuckcc-'));
    try {
      // A compiler stuck in a child of its own (as cc is in cc1): both must be gone after the deadline.
      const pidFile = path.join(fresh, 'child.pid');
      const compiler = path.join(fresh, 'stuck-cc');
      fs.writeFileSync(compiler, `#!/bin/sh\nsleep 600 &\necho $! > '${pidFile}'\nwait\n`, { mode: 0o755 });
      const load = loadNativeBench({ cacheRoot: fresh, compiler, compileDeadlineMs: 500 });
      await expect(load).rejects.toThrow(Stalled);
      await expect(load).rejects.toThrow(/^gave up after 500 ms waiting for `.*stuck-cc` to build .*tsvmm_bench\.c$/);
      const child = Number(fs.readFileSync(pidFile, 'utf8'));
      expect(await gone(child)).toBe(true);
      expect(fs.readdirSync(fresh).flatMap((d) => (d.startsWith('tsvmm-native-') ? fs.readdirSync(path.join(fresh, d)) : []))).toEqual([]);
    } finally {
      fs.rmSync(fresh, { recursive: true, force: true });
    }
  });

  it('a cache root that cannot hold a directory (a file) is NativeUnavailable naming it and the errno, not a crash', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvmm-test-'));
    const notADirectory = path.join(dir, 'a-file');
    fs.writeFileSync(notADirectory, '');
    try {
      const load = loadNativeBench({ cacheRoot: notADirectory });
      await expect(load).rejects.toThrow(NativeUnavailable);
      await expect(load).rejects.toThrow(`cannot create the cache directory for the C floors in ${notADirectory}: ENOTDIR: not a directory`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('load only from a private cache directory: never one another user could have planted a library in', async () => {
    const fresh = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvmm-cache-'));
    try {
      const { library } = await loadNativeBench({ cacheRoot: fresh });
      const dir = path.dirname(library);
      expect(path.basename(dir)).toMatch(new RegExp(`^tsvmm-native-[0-9a-f]{16}-u${process.getuid!()}$`));
      expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
      fs.chmodSync(dir, 0o777);
      await expect(loadNativeBench({ cacheRoot: fresh })).rejects.toThrow(/is not a private directory of this user .*remove it and run again/);
      fs.chmodSync(dir, 0o700);
      fs.renameSync(dir, `${dir}.real`);
      fs.symlinkSync(`${dir}.real`, dir);
      await expect(loadNativeBench({ cacheRoot: fresh })).rejects.toThrow(NativeUnavailable);
      fs.rmSync(dir);
      fs.renameSync(`${dir}.real`, dir);
      expect((await loadNativeBench({ cacheRoot: fresh })).library).toBe(library);
    } finally {
      fs.rmSync(fresh, { recursive: true, force: true });
    }
  });

  itKvm('time signal → IRR through a kernel irqfd, and time out when the route is masked', async () => {
    const native = await loadNativeBench();
    using p = KvmPartition.create({ vcpus: 2, irqfd: 'kernel' });
    using route = p.irqfd()!.newIrqFdRoute();
    route.setMsi(0xfee01000, 0x41); // APIC 1
    route.unmask();
    const out = new Float64Array(20);
    expect(native.measureSignalToIrr(route.event.fd!, p.vcpuFd(1), 0x41, out)).toBe(0);
    expect(Array.from(out).every((ns) => ns > 0)).toBe(true);
    expect(p.readLocalApic(1).irr).toEqual([]); // the harness clears what it delivered
    // Polling the wrong vCPU never sees it: the harness does not report what it did not observe.
    expect(native.measureSignalToIrr(route.event.fd!, p.vcpuFd(0), 0x41, new Float64Array(1))).toBe(-ETIMEDOUT);
    route.mask();
    expect(native.measureSignalToIrr(route.event.fd!, p.vcpuFd(1), 0x41, new Float64Array(1))).toBe(-ETIMEDOUT);
  });

  itKvm('run a C relay thread that injects each signal with KVM_SIGNAL_MSI', async () => {
    const native = await loadNativeBench();
    using p = KvmPartition.create({ vcpus: 2, irqfd: 'kernel' });
    const relay = native.startRelay(p.vmFd, 0xfee00000, 0, 0x52);
    try {
      const out = new Float64Array(10);
      expect(native.measureSignalToIrr(relay.eventFd, p.vcpuFd(0), 0x52, out)).toBe(0);
      expect(relay.injected()).toBe(10);
      expect(relay.error()).toBe(0);
    } finally {
      relay.dispose();
      relay.dispose(); // idempotent
    }
  });
});
