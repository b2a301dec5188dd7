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
rm -f test-results/never-weaker.txt
set +e
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json
status=$?
set -e
node -e '
const r = require("./test-results/vitest.json");
console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' || true
# every profile sysfence wrote during the suite was proven never weaker than Docker's default
[ -f test-results/never-weaker.txt ] &&
  echo "never weaker than Docker's default: $(awk '{s+=$1} END {print s}' test-results/never-weaker.txt) profiles written by the suite, each proven with the semantic diff"
exit $status
