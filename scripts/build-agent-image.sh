#!/usr/bin/env bash
# Builds the node agent's image (deploy/node-agent.yaml) from this machine's own files, with no
# registry: Node.js and Perl (the eBPF loader's bpf(2) calls) with the libraries ldd names, Perl's
# base modules, and sysfence (dist/, data/, its three run-time npm packages). Imported into the
# local Docker engine as TAG; push it to the cluster's registry from there.
# Usage: scripts/build-agent-image.sh [TAG]   (default sysfence/agent:VERSION; needs a built dist/)
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(node -p "require('./package.json').version")
tag=${1:-sysfence/agent:$version}
[ -f dist/cli/main.js ] || { echo "build-agent-image: run npm run build first" >&2; exit 2; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
copy() { mkdir -p "$root$(dirname "$1")" && cp -aL "$1" "$root$1"; }
for bin in "$(readlink -f "$(command -v node)")" "$(readlink -f "$(command -v perl)")"; do
  copy "$bin"
  for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do copy "$lib"; done
done
mkdir -p "$root/usr/bin" "$root/usr/lib/x86_64-linux-gnu" "$root/tmp" "$root/out"
for cmd in node perl; do
  # the commands where the agent runs them, when the machine's are links to elsewhere
  [ -e "$root/usr/bin/$cmd" ] || ln -s "$(readlink -f "$(command -v "$cmd")")" "$root/usr/bin/$cmd"
done
cp -a /usr/lib/x86_64-linux-gnu/perl-base "$root/usr/lib/x86_64-linux-gnu/"
app="$root/opt/sysfence"
mkdir -p "$app/node_modules"
cp -a dist data package.json LICENSE "$app/"
for dep in commander iced-x86 yaml; do cp -a "node_modules/$dep" "$app/node_modules/"; done
chmod 1777 "$root/tmp"
tar -C "$root" -c . | docker import \
  --change 'ENTRYPOINT ["/usr/bin/node", "/opt/sysfence/dist/cli/main.js"]' \
  --change 'ENV SYSFENCE_CACHE_DIR=/tmp/sysfence-cache' \
  --change 'WORKDIR /out' - "$tag" >/dev/null
echo "build-agent-image: $tag ($(du -sh "$root" | cut -f1))" >&2
