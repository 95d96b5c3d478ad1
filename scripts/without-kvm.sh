#!/usr/bin/env bash
# Runs a command as on a host without /dev/kvm: in a private mount namespace whose /dev is a copy
# of the real one without kvm (the rest of the system, and every other process, keep theirs).
# Needs root and unshare(1). Usage: scripts/without-kvm.sh COMMAND [ARGS...]
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }
if [ "${TSVMM_IN_PRIVATE_DEV:-}" != 1 ]; then
  exec env TSVMM_IN_PRIVATE_DEV=1 unshare --mount --propagation private -- "$0" "$@"
fi
dev=$(mktemp -d)
mount -t tmpfs -o mode=0755 tsvmm-dev "$dev"
# Every node, link and directory of /dev except kvm (mount points such as pts and shm come back
# as themselves, bind-mounted).
for entry in /dev/* /dev/.[!.]*; do
  [ -e "$entry" ] || [ -L "$entry" ] || continue
  name=${entry#/dev/}
  [ "$name" = kvm ] && continue
  if mountpoint -q "$entry" 2>/dev/null; then
    mkdir -p "$dev/$name" && mount --rbind "$entry" "$dev/$name"
  else
    cp -a "$entry" "$dev/$name"
  fi
done
mount --move "$dev" /dev 2>/dev/null || mount --rbind "$dev" /dev
if [ -e /dev/kvm ]; then echo "without-kvm: /dev/kvm is still visible" >&2; exit 1; fi
exec "$@"
