#!/usr/bin/env bash
# Sets up and runs every check and test: generated tables up to date, lint and format, types,
# the test suite (live and oracle tests included; with CI=true a missing tool fails them).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
echo "== generated syscall tables are up to date"
node scripts/gen-syscall-tables.mjs --check
echo "== libseccomp's name tables (data/libseccomp) match the installed library"
node scripts/gen-libseccomp-names.mjs --check
echo "== lint and format (biome)"
npx biome ci .
echo "== types: src and tests (tsconfig.test.json)"
npx tsc -p tsconfig.test.json
echo "== tests (vitest)"
mkdir -p test-results
set +e
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json
status=$?
set -e
node -e '
const r = require("./test-results/vitest.json");
console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' || true
exit $status
