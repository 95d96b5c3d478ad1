import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DeviceAccessFacts, deviceAccessFacts, devicePermissionHint, groupNameOf, listedInGroup } from '../src';

const user = (over: Partial<DeviceAccessFacts>): DeviceAccessFacts => ({ mode: 0o660, uid: 0, gid: 108, groupName: 'kvm', processUid: 1000, processGroups: [1000], ...over });

test('root:root 0600 (no group may open it): a udev rule and a group, never "join the kvm group"', () => {
  const h = devicePermissionHint('/dev/kvm', user({ mode: 0o600, gid: 0, groupName: 'root' }));
  expect(h).toMatch(/root:root 0600/);
  expect(h).toMatch(/udev rule/);
  expect(h).toMatch(/groupadd kvm/);
  expect(h).not.toMatch(/usermod/);
});

test('a group that may open it: join that group by its real name', () => {
  expect(devicePermissionHint('/dev/kvm', user({ groupName: 'kvm' }))).toMatch(/usermod -aG kvm <user>/);
  expect(devicePermissionHint('/dev/kvm', user({ gid: 36, groupName: 'qemu' }))).toMatch(/usermod -aG qemu <user>/);
  expect(devicePermissionHint('/dev/kvm', user({ gid: 999, groupName: undefined }))).toMatch(/root:999 0660: add this user to group 999/);
});

test('already in the group but not in this session: log in again', () => {
  expect(devicePermissionHint('/dev/kvm', user({ listedInGroup: true }))).toMatch(/log in again \(or run newgrp kvm\)/);
  expect(listedInGroup('kvm:x:108:alice,bob\n', 108, 'bob')).toBe(true);
  expect(listedInGroup('kvm:x:108:alice\n', 108, 'bob')).toBe(false);
});

test('a mode that allows it, or root: something else refuses (a security module, a container)', () => {
  expect(devicePermissionHint('/dev/kvm', user({ mode: 0o666 }))).toMatch(/security module|container/);
  expect(devicePermissionHint('/dev/kvm', user({ processUid: 0, mode: 0o600, gid: 0 }))).toMatch(/--device \/dev\/kvm/);
});

test('group names come from group(5); the facts are read from the node itself', () => {
  expect(groupNameOf('root:x:0:\nkvm:x:108:alice\n', 108)).toBe('kvm');
  expect(groupNameOf('root:x:0:\n', 108)).toBeUndefined();
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-perm-'));
  try {
    const node = join(dir, 'dev');
    writeFileSync(node, '');
    chmodSync(node, 0o640);
    expect(deviceAccessFacts(node)).toMatchObject({ mode: 0o640, processUid: process.getuid!() });
    expect(deviceAccessFacts(join(dir, 'missing'))).toBeUndefined();
    expect(devicePermissionHint(join(dir, 'missing'))).toMatch(/could not be opened/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
