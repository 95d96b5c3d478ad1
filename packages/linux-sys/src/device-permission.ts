/**
 * What to do when opening a device node (`/dev/kvm`, `/dev/mshv`) is refused, said for this host:
 * read from the node's owner, group and mode (stat(2)), the group's name (`/etc/group`, group(5))
 * and the process's user and groups, not assumed (many hosts have no `kvm` group, and a node that
 * is `root:root 0600` cannot be opened by joining one).
 */
import { readFileSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';

/** What the hint depends on; {@link deviceAccessFacts} reads them for the running process. */
export interface DeviceAccessFacts {
  /** The node's permission bits (`st_mode & 0o777`). */
  readonly mode: number;
  /** The node's owner's user ID. */
  readonly uid: number;
  /** The node's group ID. */
  readonly gid: number;
  /** The node's group name, or undefined when `/etc/group` does not name it. */
  readonly groupName: string | undefined;
  /** The process's effective user ID. */
  readonly processUid: number;
  /** The process's supplementary and effective group IDs. */
  readonly processGroups: readonly number[];
  /** `/etc/group` lists this user as a member of the node's group (which this session may not have yet). */
  readonly listedInGroup?: boolean;
}

/** The group named `gid` in a group(5) text (`name:password:GID:members`), or undefined. */
export function groupNameOf(groupFile: string, gid: number): string | undefined {
  return groupLine(groupFile, gid)?.[0];
}

/** Whether a group(5) text lists `user` as a member of group `gid`. */
export function listedInGroup(groupFile: string, gid: number, user: string): boolean {
  return (groupLine(groupFile, gid)?.[3] ?? '').split(',').includes(user);
}

function groupLine(groupFile: string, gid: number): string[] | undefined {
  for (const line of groupFile.split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && Number(f[2]) === gid && f[0] !== '') return f;
  }
  return undefined;
}

/** The facts for `path` and this process, or undefined when the node cannot be stat'ed. */
export function deviceAccessFacts(path: string): DeviceAccessFacts | undefined {
  try {
    const st = statSync(path);
    let groupFile = '';
    try {
      groupFile = readFileSync('/etc/group', 'utf8');
    } catch {
      // no group file (a minimal container): the group is named by its number
    }
    const uid = process.getuid?.() ?? -1;
    let user = '';
    try {
      user = userInfo().username;
    } catch {
      // a user ID with no passwd entry (a container): it cannot be listed by name
    }
    const groups = process.getgroups?.() ?? [];
    const gid = process.getegid?.();
    return {
      mode: st.mode & 0o777,
      uid: st.uid,
      gid: st.gid,
      groupName: groupNameOf(groupFile, st.gid),
      processUid: uid,
      processGroups: gid === undefined ? groups : [...new Set([gid, ...groups])],
      listedInGroup: user !== '' && listedInGroup(groupFile, st.gid, user),
    };
  } catch {
    return undefined;
  }
}

/**
 * One or two sentences on why opening `path` read-write was refused (EACCES or EPERM) and what to
 * do on this host. `facts` defaults to {@link deviceAccessFacts} of `path`.
 */
export function devicePermissionHint(path: string, facts: DeviceAccessFacts | undefined = deviceAccessFacts(path)): string {
  if (facts === undefined) return `${path} could not be opened read-write by this user: run as a user with access to it, or as root.`;
  const { mode, uid, gid, groupName, processUid, processGroups, listedInGroup: listed } = facts;
  const bits = `${mode.toString(8).padStart(4, '0')}`;
  const group = groupName ?? `group ${gid}`;
  const owner = `${uid === 0 ? 'root' : `user ${uid}`}:${groupName ?? gid} ${bits}`;
  const rw = (shift: number): boolean => ((mode >> shift) & 0o6) === 0o6;
  if (processUid === 0 || (processUid === uid && rw(6)) || (processGroups.includes(gid) && rw(3)) || rw(0)) {
    // The mode allows it: something else refuses (an LSM such as SELinux or AppArmor, or a
    // container's device cgroup or seccomp profile).
    return `${path} is ${owner} and its mode allows this user, so something else refuses it: a security module (SELinux, AppArmor) or, in a container, the device is not allowed (pass it with --device ${path}).`;
  }
  if (rw(3) && gid !== 0) {
    if (listed === true) return `${path} is ${owner}: this user is in ${group}, but not in this session; log in again (or run newgrp ${group}).`;
    return `${path} is ${owner}: add this user to ${group} (usermod -aG ${group} <user>), then log in again; or run as root.`;
  }
  const name = path.replace(/^\/dev\//, '');
  return (
    `${path} is ${owner}: no group may open it, so joining a group does not help. Give it one: groupadd ${name}, a udev rule ` +
    `KERNEL=="${name}", GROUP="${name}", MODE="0660" in /etc/udev/rules.d/65-${name}.rules, udevadm trigger, then add the user to ${name}; or run as root.`
  );
}
