/**
 * The C floors are measurements only if they really observe the APIC: the harness must fail when
 * nothing is delivered, and the C relay must inject.
 */
import { KvmPartition } from '@tsvmm/virt-kvm';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NativeUnavailable, loadNativeBench } from '../src/bench/native';
import { itKvm } from './helpers/run-cli';

const ETIMEDOUT = 110;

describe('C floors (native/tsvmm_bench.c)', () => {
  it('say plainly that they cannot be built when there is no C compiler', () => {
    const fresh = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvmm-nocc-'));
    const compiler = path.join(fresh, 'no-such-cc');
    expect(() => loadNativeBench({ cacheRoot: fresh, compiler })).toThrow(NativeUnavailable);
    expect(() => loadNativeBench({ cacheRoot: fresh, compiler })).toThrow(/no C compiler: `.*no-such-cc` is not on PATH \(install gcc\)/);
    expect(fs.readdirSync(fresh).flatMap((d) => fs.readdirSync(path.join(fresh, d)))).toEqual([]); // nothing half-built left
    fs.rmSync(fresh, { recursive: true, force: true });
  });

  it('load only from a private cache directory: never one another user could have planted a library in', () => {
    const fresh = fs.mkdtempSync(path.join(os.tmpdir(), 'tsvmm-cache-'));
    try {
      const { library } = loadNativeBench({ cacheRoot: fresh });
      const dir = path.dirname(library);
      expect(path.basename(dir)).toMatch(new RegExp(`^tsvmm-native-[0-9a-f]{16}-u${process.getuid!()}$`));
      expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
      fs.chmodSync(dir, 0o777);
      expect(() => loadNativeBench({ cacheRoot: fresh })).toThrow(/is not a private directory of this user .*remove it and run again/);
      fs.chmodSync(dir, 0o700);
      fs.renameSync(dir, `${dir}.real`);
      fs.symlinkSync(`${dir}.real`, dir);
      expect(() => loadNativeBench({ cacheRoot: fresh })).toThrow(NativeUnavailable);
      fs.rmSync(dir);
      fs.renameSync(`${dir}.real`, dir);
      expect(loadNativeBench({ cacheRoot: fresh }).library).toBe(library);
    } finally {
      fs.rmSync(fresh, { recursive: true, force: true });
    }
  });

  itKvm('time signal → IRR through a kernel irqfd, and time out when the route is masked', () => {
    const native = loadNativeBench();
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

  itKvm('run a C relay thread that injects each signal with KVM_SIGNAL_MSI', () => {
    const native = loadNativeBench();
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
