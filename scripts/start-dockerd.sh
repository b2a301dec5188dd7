#!/usr/bin/env bash
# Starts a Docker engine for the live tests when none answers: no iptables, no bridge (containers
# use --network none), logs in /tmp/sysfence-dockerd.log. Needs root and Debian's docker.io.
set -euo pipefail
if docker info >/dev/null 2>&1; then exit 0; fi
if ! command -v dockerd >/dev/null; then
  echo "start-dockerd: dockerd is not installed (apt-get install docker.io)" >&2
  exit 2
fi
nohup dockerd --iptables=false --ip6tables=false --bridge=none >/tmp/sysfence-dockerd.log 2>&1 &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then exit 0; fi
  sleep 0.5
done
echo "start-dockerd: dockerd did not answer within 30 s; see /tmp/sysfence-dockerd.log" >&2
exit 2
