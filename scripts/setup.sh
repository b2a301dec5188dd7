#!/usr/bin/env bash
# Installs what sysfence needs on Debian 12: Debian packages (the libseccomp test oracle, man
# pages are not needed at run time) and the npm dependencies. Safe to run again.
# Usage: scripts/setup.sh [--test]   (--test adds what the test suite needs)
set -euo pipefail
cd "$(dirname "$0")/.."

# the demo records with bpftrace (or strace without root) and runs under the profile with bubblewrap
want=(bubblewrap strace bpftrace)
if [ "${1:-}" = "--test" ]; then
  # libseccomp is the test oracle (never a run-time dependency); gcc builds the kernel probes;
  # strace and bpftrace are the recording backends; gcc-multilib builds the 32-bit test workload
  # docker.io, runc and crun run the container tests (runtime sets, recording containers)
  # debootstrap builds the real-workload image (bench/workloads/build-image.sh); chromium renders
  # the HTML report in the browser test (driven by playwright-core, no browser download)
  # time (GNU time) measures peak memory in the robustness tests; qemu-user, sqlite3 and xz-utils
  # run the cross-architecture proof (generate --arch aarch64 against a trace of the same programs
  # built for aarch64), clang-14 with Debian's arm64 cross libc and binutils builds its workload
  # (gcc-aarch64-linux-gnu conflicts with gcc-multilib in Debian 12; clang's LLVM is bpftrace's);
  # git, zstd, curl, perl and openssl are the held-out programs of bench/heldout.mjs;
  # docker-registry (with apache2-utils' htpasswd) is the OCI registry of the push/pull tests;
  # docker-compose runs the application of record --docker --select; podman the --podman tests
  # jq and musl-tools are programs of the static-reach soundness test (test/live/reach.test.ts);
  # containerd (with its CRI plugin; docker.io depends on it too) is the Kubernetes node of test/live/cri.test.ts
  want+=(jq musl-tools seccomp python3-seccomp gcc libc6-dev gcc-multilib strace bpftrace docker.io runc crun debootstrap chromium time
    qemu-user clang-14 binutils-aarch64-linux-gnu libc6-dev-arm64-cross libgcc-12-dev-arm64-cross
    sqlite3 xz-utils git zstd curl perl openssl docker-registry apache2-utils docker-compose podman containerd)
fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "setup: sysfence needs Node.js >= 20 (apt-get install nodejs npm, or your usual Node install)" >&2
  exit 2
fi

# A clean install from package-lock.json. (`npm ci` is not used: the npm 11 here writes lockfiles
# without other platforms' optional packages, e.g. Biome's binaries, and `npm ci` then refuses them.
# `npm install --no-save` installs exactly the locked versions and never rewrites the lockfile.)
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm install (from package-lock.json)" >&2
  npm install --no-save --no-audit --no-fund --loglevel=error
fi
npm run --silent build

# Debian's aarch64 builds of sqlite3, xz and busybox for the cross-architecture proof
[ "${1:-}" = "--test" ] && bash scripts/arm64-sysroot.sh .cache/arm64

if [ "${1:-}" = "--test" ] && [ "$(id -u)" -eq 0 ]; then
  bash scripts/start-dockerd.sh
  # Test files run in parallel and several write SECCOMP records to the kernel log at once; with
  # printk's default rate limit (10 records per 5 s) the kernel drops some, and sysfence then
  # (rightly) reports a hole in what it saw. 0 turns the rate limit off for the test machine.
  sysctl -qw kernel.printk_ratelimit=0
fi
