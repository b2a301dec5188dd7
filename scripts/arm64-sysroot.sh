#!/usr/bin/env bash
# Debian's aarch64 builds of real programs, for the cross-architecture proof (test/live/cross-arch):
# sqlite3, xz and busybox (with the libraries they load) unpacked into DIR/root, to run under
# `qemu-aarch64 -L DIR/root`; and busybox's x86_64 build in DIR/amd64, the same version to record
# natively. From the Debian archive only (apt-get download); safe to run again.
# Usage: scripts/arm64-sysroot.sh DIR
set -euo pipefail
dir="$1"
[ -x "$dir/root/usr/bin/sqlite3" ] && [ -x "$dir/root/bin/busybox" ] && [ -x "$dir/amd64/bin/busybox" ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "setup: adding Debian's arm64 architecture (package downloads only; nothing arm64 is installed)" >&2
  $sudo dpkg --add-architecture arm64
  $sudo apt-get update -qq
fi
mkdir -p "$dir/debs" "$dir/root" "$dir/amd64"
cd "$dir/debs"
pkgs=(libc6:arm64 libgcc-s1:arm64 sqlite3:arm64 libsqlite3-0:arm64 libreadline8:arm64 libtinfo6:arm64
  zlib1g:arm64 xz-utils:arm64 liblzma5:arm64 busybox-static:arm64 busybox-static:amd64)
# apt-get download runs as _apt when it can: give it a directory it may write
chmod 777 . 2>/dev/null || true
apt-get download -qq "${pkgs[@]}" 2>/dev/null || { $sudo apt-get update -qq && apt-get download -qq "${pkgs[@]}"; }
for d in *_arm64.deb; do dpkg-deb -x "$d" ../root; done
dpkg-deb -x busybox-static_*_amd64.deb ../amd64
