#!/usr/bin/env bash
# Builds the image of the real-workload evaluation: Debian 12 (debootstrap --variant=minbase) with
# nginx, redis and PostgreSQL 15 from Debian's archive, plus their drivers (wrk, curl,
# redis-benchmark, pgbench), imported into the local Docker engine. There is no registry here, so
# nothing is pulled. The image is the cache: when it exists (same tag) nothing is rebuilt, so one
# CI job builds it once (~1 min with a nearby mirror) and every later test and benchmark reuses it.
#
# Usage: bench/workloads/build-image.sh [TAG]   (default sysfence/servers:bookworm-1)
# Env:   SYSFENCE_MIRROR (default: the first deb.debian.org-style URI of /etc/apt/sources*)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tag="${1:-sysfence/servers:bookworm-1}"

if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "build-image: $tag is already built" >&2
  exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "build-image: needs root (debootstrap, chroot)" >&2; exit 2; }
command -v debootstrap >/dev/null || {
  echo "build-image: installing debootstrap" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}

mirror="${SYSFENCE_MIRROR:-}"
if [ -z "$mirror" ]; then
  # deb822 (URIs: ...) or one-line (deb URI suite ...) sources; not the security archive
  mirror="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    sed -n -e 's/^URIs:[[:space:]]*//p' -e 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' |
    grep -v -- '-security' | head -n1 || true)"
fi
mirror="${mirror:-http://deb.debian.org/debian}"

root="$(mktemp -d /var/tmp/sysfence-rootfs.XXXXXX)"
trap 'rm -rf "$root" "$root.log"' EXIT
echo "build-image: debootstrap bookworm from $mirror" >&2
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 || {
  tail -20 "$root.log" >&2
  exit 1
}
rm -f "$root.log"
# services must not start inside the chroot; the image makes its own PostgreSQL cluster
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
mkdir -p "$root/etc/postgresql-common"
echo 'create_main_cluster = false' >"$root/etc/postgresql-common/createcluster.conf"
echo "build-image: apt-get install nginx redis-server postgresql-15 wrk curl" >&2
chroot "$root" sh -c 'export DEBIAN_FRONTEND=noninteractive LC_ALL=C
  apt-get update -qq && apt-get install -y -qq --no-install-recommends \
    nginx redis-server postgresql-15 wrk curl && apt-get clean' >"$root.log" 2>&1 || {
  tail -20 "$root.log" >&2
  exit 1
}
rm -f "$root.log"
rm -rf "$root/var/lib/apt/lists/"*

# the workloads' configuration (bench/workloads/files), owned as each server expects
cp -r "$here/files/." "$root/"
# a 64 KiB static file next to the small index page (sendfile, partial writes)
head -c 65536 < <(yes 'sysfence static file') >"$root/var/www/sysfence/large.txt"
chroot "$root" sh -c 'chown -R redis:redis /var/lib/redis && chown -R postgres:postgres /var/lib/postgresql'

echo "build-image: docker import, then initdb in a container" >&2
base="$tag-base"
tar -C "$root" -c . | docker import - "$base" >/dev/null
cid="$(docker create --network none --user postgres "$base" \
  /usr/lib/postgresql/15/bin/initdb -D /var/lib/postgresql/data --auth=trust --no-sync -E UTF8 --locale=C)"
docker start -a "$cid" >/dev/null
docker commit --change 'USER root' --change 'WORKDIR /' "$cid" "$tag" >/dev/null
docker rm "$cid" >/dev/null
docker rmi "$base" >/dev/null
echo "build-image: built $tag" >&2
