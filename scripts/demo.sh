#!/usr/bin/env bash
# Sets up and runs the built-in demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node dist/cli/main.js demo
