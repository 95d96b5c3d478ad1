#!/usr/bin/env bash
# Prepares what the test suite needs and npm cannot provide: a C compiler and the kernel UAPI
# headers (ABI check against <linux/kvm.h>, C benchmark baselines), Chromium (the HTML report is
# checked in a real browser) and tracefs. Does nothing when they are present.
set -euo pipefail
# The exactly-once delivery tests count injections with the kvm:kvm_apic_accept_irq tracepoint.
# Mount tracefs where root can; without it those tests say loudly that they skipped.
if [ "$(id -u)" = 0 ] && [ -d /sys/kernel/tracing ] && ! [ -e /sys/kernel/tracing/instances ]; then
  mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || echo "tsvmm: could not mount tracefs; the tracepoint tests will skip" >&2
fi
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
