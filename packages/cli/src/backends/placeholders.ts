/**
 * Honest probes for the hypervisors this release has no backend package for (mshv, whp), behind
 * the same descriptor shape as the real backends: they say whether the hypervisor is there and why
 * not, and `open` refuses with a typed UNAVAILABLE error.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { VirtError } from '@tsvmm/virt';
import type { BackendDescriptor, CodedBackendProbe } from './descriptor';

export interface ProbeHost {
  readonly platform: NodeJS.Platform;
  /** Opens a path read-write and closes it; throws the fs error (with `code`). */
  openReadWrite(file: string): void;
  exists(file: string): boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export const realProbeHost: ProbeHost = {
  platform: process.platform,
  openReadWrite(file) {
    // Node opens with O_CLOEXEC; the fd is closed before anything else can run.
    fs.closeSync(fs.openSync(file, fs.constants.O_RDWR));
  },
  exists: (file) => fs.existsSync(file),
  env: process.env,
};

const NO_MSHV_BACKEND = 'tsvmm has no mshv backend in this release, so it cannot be used yet.';

export function probeMshv(host: ProbeHost = realProbeHost): CodedBackendProbe {
  const no = (code: string, reason: string): CodedBackendProbe => ({ backend: 'mshv', available: false, code, reason });
  if (host.platform !== 'linux') return no('platform', `Not Linux (this host runs ${host.platform}): /dev/mshv is a Linux root-partition driver.`);
  const node = '/dev/mshv';
  if (!host.exists(node)) {
    return no('no-device', `Device node ${node} is missing: this Linux is not a Microsoft Hypervisor root partition with the mshv_root driver loaded.`);
  }
  try {
    host.openReadWrite(node);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    if (code === 'EACCES' || code === 'EPERM') {
      return no('permission', `Permission denied opening ${node} (${code}): run as root or get access to the device. ${NO_MSHV_BACKEND}`);
    }
    return no('error', `${node} exists but could not be opened (${code}). ${NO_MSHV_BACKEND}`);
  }
  return no('not-implemented', `${node} exists and opens read-write, but ${NO_MSHV_BACKEND}`);
}

export function probeWhp(host: ProbeHost = realProbeHost): CodedBackendProbe {
  const no = (code: string, reason: string): CodedBackendProbe => ({ backend: 'whp', available: false, code, reason });
  if (host.platform !== 'win32') return no('platform', `Not Windows (this host runs ${host.platform}): the Windows Hypervisor Platform exists only on Windows.`);
  const root = host.env.SystemRoot ?? host.env.windir ?? 'C:\\Windows';
  const dll = path.win32.join(root, 'System32', 'WinHvPlatform.dll');
  if (!host.exists(dll)) return no('no-device', `${dll} is missing: enable the "Windows Hypervisor Platform" optional feature.`);
  return no('not-implemented', `${dll} is present, but tsvmm has no WHP backend in this release, so it cannot be used yet.`);
}

function placeholder(name: string, probe: () => CodedBackendProbe): BackendDescriptor {
  return {
    name,
    probe,
    open() {
      const p = probe();
      throw new VirtError(p.code === 'permission' ? 'PERMISSION' : 'UNAVAILABLE', { operation: `open ${name}`, detail: p.reason.replace(/\.$/, '') });
    },
  };
}

export const mshvPlaceholder = (host: ProbeHost = realProbeHost): BackendDescriptor => placeholder('mshv', () => probeMshv(host));
export const whpPlaceholder = (host: ProbeHost = realProbeHost): BackendDescriptor => placeholder('whp', () => probeWhp(host));
