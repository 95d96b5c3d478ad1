/**
 * What to do when opening a device node (`/dev/kvm`, `/dev/mshv`) is refused, said for this host:
 * read from the node's owner, group and mode (stat(2)), the group's name (`/etc/group`, group(5))
 * and the process's user and groups, not assumed (many hosts have no `kvm` group, and a node that
 * is `root:root 0600` cannot be opened by joining one, while `root:root 0660` can, by the root group).
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
 * Whether the kernel's discretionary access check lets this process open the node read-write:
 * root (CAP_DAC_OVERRIDE) always; else exactly one class of the mode applies, the owner's for the
 * owner, the group's for a member of the node's group, the others' for everyone else (a class that
 * denies is not overridden by a more generous one). Source: path_resolution(7), "Permission
 * checking"; acl(5) for the classes.
 */
export function modeAllows(facts: DeviceAccessFacts): boolean {
  const { mode, uid, gid, processUid, processGroups } = facts;
  if (processUid === 0) return true;
  const shift = processUid === uid ? 6 : processGroups.includes(gid) ? 3 : 0;
  return ((mode >> shift) & 0o6) === 0o6;
}

/**
 * One or two sentences on why opening `path` read-write was refused (EACCES or EPERM) and what to
 * do on this host. `facts` defaults to {@link deviceAccessFacts} of `path`. Every case follows the
 * kernel's check ({@link modeAllows}): a mode that allows it points at a security module or a
 * container; a group whose mode bits allow read-write is the one to join (the root group too, with
 * what that costs); a mode no group may use needs a udev rule first. Joining a group takes effect
 * at the next login.
 */
export function devicePermissionHint(path: string, facts: DeviceAccessFacts | undefined = deviceAccessFacts(path)): string {
  if (facts === undefined) return `${path} could not be opened read-write by this user: run as a user with access to it, or as root.`;
  const { mode, uid, gid, groupName, processUid, processGroups, listedInGroup: listed } = facts;
  const bits = `${mode.toString(8).padStart(4, '0')}`;
  const group = groupName ?? `group ${gid}`;
  const owner = `${uid === 0 ? 'root' : `user ${uid}`}:${groupName ?? gid} ${bits}`;
  const rw = (shift: number): boolean => ((mode >> shift) & 0o6) === 0o6;
  if (modeAllows(facts)) {
    // The mode allows it: something else refuses (an LSM such as SELinux or AppArmor, or a
    // container's device cgroup or seccomp profile).
    return `${path} is ${owner} and its mode allows this user, so something else refuses it: a security module (SELinux, AppArmor) or, in a container, the device is not allowed (pass it with --device ${path}).`;
  }
  // The group a udev rule would give the node: /dev/kvm -> kvm, /dev/vfio/12 -> vfio. A file outside
  // /dev (a device node a container or a test placed elsewhere) gets no udev rule: its own group, by hand.
  const kernel = path.split('/').filter((part) => part !== '').pop() ?? 'device';
  const underDev = /^\/dev\/[^/]/.test(path);
  const name = underDev ? path.slice('/dev/'.length).split('/')[0]! : kernel;
  const rule = underDev
    ? `a udev rule KERNEL=="${kernel}", GROUP="${name}", MODE="0660" in /etc/udev/rules.d/65-${name}.rules (groupadd ${name} first if there is no such group), ` +
      `then udevadm control --reload-rules and udevadm trigger, then add the user to ${name} (usermod -aG ${name} <user>) and log in again`
    : `one of its own (groupadd ${name}, then chgrp ${name} ${path} and chmod 0660 ${path}; ${path} is outside /dev, so no udev rule applies), ` +
      `then add the user to ${name} (usermod -aG ${name} <user>) and log in again`;
  if (processUid === uid) {
    // The owner's class applies to the owner alone: its group and the others' bits do not count.
    return `${path} is ${owner}: this user owns it, but the mode does not let its owner read and write it. As root, chmod u+rw ${path} (and ${rule} to keep it across reboots); or run as root.`;
  }
  if (processGroups.includes(gid)) {
    // A member of the node's group is judged by the group's bits only, whatever the others' allow.
    return `${path} is ${owner}: this user is in ${group}, whose bits in the mode do not allow read-write. Give the group read-write: ${rule}; or run as root.`;
  }
  if (rw(3)) {
    if (listed === true) return `${path} is ${owner}: this user is in ${group}, but not in this session; log in again (or run newgrp ${group}).`;
    if (gid === 0) {
      return (
        `${path} is ${owner}: only root and members of the root group may open it. Joining the root group (usermod -aG root <user>, then log in again) ` +
        `would work but opens every file the root group may write; better give the node its own group: ${rule}; or run as root.`
      );
    }
    return `${path} is ${owner}: add this user to ${group} (usermod -aG ${group} <user>), then log in again; or run as root.`;
  }
  return `${path} is ${owner}: no group may open it, so joining a group does not help until the mode changes. Give it a group: ${rule}; or run as root.`;
}
