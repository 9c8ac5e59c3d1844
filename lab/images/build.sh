#!/usr/bin/env bash
# Build the lab's Debian test-host images (systemd as PID 1, python3) with debootstrap, because no
# container registry is reachable. An image is rebuilt only when its recipe (this file) changes.
# Usage: lab/images/build.sh [bookworm|trixie ...]   (default: both)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$here/../containers.conf}
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(bookworm trixie)
recipe=$(sha256sum "$0" | cut -c1-16)

# The Debian mirror: LAB_DEBIAN_MIRROR, else the one this machine's apt already uses, so an
# air-gapped site's internal mirror is picked up without naming any host here.
mirror=${LAB_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(grep -hoE '^(URIs:|deb) +[^ ]+' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
    | awk '{print $2}' | grep -vE 'security|updates' | grep -E '/debian/?$' | head -n1 || true)
fi
if [ -z "$mirror" ]; then
  echo "build.sh: no Debian mirror found in /etc/apt; set LAB_DEBIAN_MIRROR=<url of a Debian mirror>" >&2
  exit 1
fi

for suite in "${suites[@]}"; do
  image=localhost/hymt-debian-systemd:$suite
  have=$(podman image inspect --format '{{ index .Labels "hymt.recipe" }}' "$image" 2>/dev/null || true)
  if [ "$have" = "$recipe" ]; then
    echo "image $image is current (recipe $recipe)"
    continue
  fi
  echo "building $image from $mirror (debootstrap, about a minute) ..."
  root=$(mktemp -d /var/tmp/hymt-rootfs.XXXXXX)
  trap 'rm -rf "$root"' EXIT
  debootstrap --variant=minbase --include=systemd,systemd-sysv,python3,python3-apt,sudo,ca-certificates,gnupg,procps,kmod \
    "$suite" "$root" "$mirror" > "$root.log" 2>&1 || { tail -n 20 "$root.log" >&2; echo "build.sh: debootstrap of $suite failed; log above" >&2; exit 1; }
  rm -f "$root.log"
  # Units that cannot work in a container only slow the boot or leave it degraded.
  for unit in systemd-remount-fs.service systemd-udevd.service systemd-udev-trigger.service \
              getty.target console-getty.service systemd-logind.service; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
  done
  echo "deb $mirror $suite main" > "$root/etc/apt/sources.list"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | podman import --quiet \
    --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL SIGRTMIN+3' \
    --change "LABEL hymt.recipe=$recipe" --change "LABEL hymt.suite=$suite" - "$image" >/dev/null
  rm -rf "$root"; trap - EXIT
  echo "built $image"
done
