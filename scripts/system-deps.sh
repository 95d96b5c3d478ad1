#!/usr/bin/env bash
# Installs the Debian packages the test suite needs and npm cannot provide: a C compiler and the
# kernel UAPI headers (ABI check against <linux/kvm.h>, C benchmark baselines) and Chromium (the
# HTML report is checked in a real browser). Does nothing when they are present.
set -euo pipefail
need=()
command -v cc >/dev/null 2>&1 || need+=(gcc libc6-dev)
[ -f /usr/include/linux/kvm.h ] || need+=(linux-libc-dev)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "tsvmm: the tests need these Debian packages: ${need[*]} (install them, then run the tests again)" >&2
  exit 1
fi
echo "tsvmm: installing ${need[*]} with apt-get" >&2
apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
