import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DeviceAccessFacts, deviceAccessFacts, devicePermissionHint, groupNameOf, listedInGroup, modeAllows } from '../src';

const user = (over: Partial<DeviceAccessFacts>): DeviceAccessFacts => ({ mode: 0o660, uid: 0, gid: 108, groupName: 'kvm', processUid: 1000, processGroups: [1000], ...over });

test('root:root 0600 (no group may open it): a udev rule and a group, never "join the kvm group"', () => {
  const h = devicePermissionHint('/dev/kvm', user({ mode: 0o600, gid: 0, groupName: 'root' }));
  expect(h).toMatch(/root:root 0600/);
  expect(h).toMatch(/udev rule/);
  expect(h).toMatch(/groupadd kvm/);
  // Joining a group comes only after the rule has given the node one it may use.
  expect(h.indexOf('usermod')).toBeGreaterThan(h.indexOf('udev rule'));
});

test('root:root 0660: the root group may open it, so the hint says so (and what joining it costs), never "no group may open it"', () => {
  const h = devicePermissionHint('/dev/kvm', user({ mode: 0o660, gid: 0, groupName: 'root' }));
  expect(h).toMatch(/root:root 0660: only root and members of the root group may open it/);
  expect(h).toMatch(/usermod -aG root <user>, then log in again/);
  expect(h).not.toMatch(/no group may open it/);
});

test('the 0600 hint: reload the udev rules before triggering, and log in again after joining the group', () => {
  const h = devicePermissionHint('/dev/kvm', user({ mode: 0o600, gid: 0, groupName: 'root' }));
  expect(h.indexOf('udevadm control --reload-rules')).toBeGreaterThan(0);
  expect(h.indexOf('udevadm control --reload-rules')).toBeLessThan(h.indexOf('udevadm trigger'));
  expect(h).toMatch(/usermod -aG kvm <user>\) and log in again/);
});

/**
 * The kernel's check, written out independently of the code under test (path_resolution(7)): root
 * passes; else the owner class for the owner, the group class for a member, the other class else.
 */
function kernelAllows(f: DeviceAccessFacts): boolean {
  if (f.processUid === 0) return true;
  const cls = f.processUid === f.uid ? (f.mode >> 6) & 7 : f.processGroups.includes(f.gid) ? (f.mode >> 3) & 7 : f.mode & 7;
  return (cls & 4) !== 0 && (cls & 2) !== 0;
}

describe('every mode, owner and group against the kernel check', () => {
  const classes = [0, 2, 4, 6];
  const modes = classes.flatMap((u) => classes.flatMap((g) => classes.map((o) => (u << 6) | (g << 3) | o)));
  const relations = ['root', 'owner', 'member', 'listed, not in this session', 'stranger'] as const;
  const rows = modes.flatMap((mode) =>
    [0, 108].flatMap((gid) =>
      [0, 1000].flatMap((uid) =>
        relations.map((relation) => {
          const processUid = relation === 'root' ? 0 : relation === 'owner' ? uid : 1001;
          const processGroups = relation === 'member' ? [1001, gid] : [1001];
          const facts: DeviceAccessFacts = { mode, uid, gid, groupName: gid === 0 ? 'root' : 'kvm', processUid, processGroups, listedInGroup: relation === 'listed, not in this session' };
          return [`${uid}:${gid} ${mode.toString(8).padStart(4, '0')}, ${relation}`, facts] as const;
        }),
      ),
    ),
  );

  test.each(rows)('%s', (_, facts) => {
    const h = devicePermissionHint('/dev/kvm', facts);
    expect(modeAllows(facts)).toBe(kernelAllows(facts));
    // A refusal the mode allows is someone else's; a refusal by the mode never blames someone else.
    expect(/its mode allows this user/.test(h)).toBe(kernelAllows(facts));
    const groupRw = ((facts.mode >> 3) & 6) === 6;
    // "Joining a group does not help" only where the group's bits deny.
    if (/no group may open it/.test(h)) expect(groupRw).toBe(false);
    // Advice to join the node's own group works: as a member, the kernel would let this user in.
    // (After a udev rule, the node is MODE 0660 in the rule's group, which the user joins.)
    for (const m of h.matchAll(/usermod -aG (\S+) <user>/g)) {
      const afterRule = h.lastIndexOf('udev rule', m.index) >= 0;
      const joined = afterRule ? { ...facts, mode: 0o660, gid: 999, processGroups: [...facts.processGroups, 999] } : { ...facts, processGroups: [...facts.processGroups, facts.gid] };
      if (!afterRule) expect(m[1]).toBe(facts.groupName);
      expect(kernelAllows(joined)).toBe(true);
    }
    // A user who would pass as a member of the node's group, and is not one, is told to join it (or log in again).
    const member = facts.processGroups.includes(facts.gid);
    if (!kernelAllows(facts) && facts.processUid !== facts.uid && !member && groupRw) {
      expect(h).toMatch(facts.listedInGroup ? /log in again/ : new RegExp(`usermod -aG ${facts.groupName} <user>`));
    }
    // Joining a group takes effect at the next login; udev reads a new rule only once reloaded.
    for (const m of h.matchAll(/usermod -aG \S+ <user>/g)) expect(h.slice(m.index)).toMatch(/^usermod -aG \S+ <user>\)?,? (then |and )log in again/);
    if (h.includes('udevadm trigger')) expect(h.indexOf('udevadm control --reload-rules')).toBeGreaterThanOrEqual(0);
    if (h.includes('udevadm trigger')) expect(h.indexOf('udevadm control --reload-rules')).toBeLessThan(h.indexOf('udevadm trigger'));
  });
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

test('a node outside /dev gets a group of its own by hand, not a udev rule with an empty group', () => {
  const h = devicePermissionHint('/srv/nodes/kvm', user({ mode: 0o600, gid: 0, groupName: 'root' }));
  expect(h).toMatch(/groupadd kvm, then chgrp kvm \/srv\/nodes\/kvm and chmod 0660 \/srv\/nodes\/kvm/);
  expect(h).toMatch(/usermod -aG kvm <user>/);
  expect(h).not.toMatch(/udev rule KERNEL|GROUP=""|65-\.rules|-aG {2}/);
});
