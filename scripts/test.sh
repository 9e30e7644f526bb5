#!/usr/bin/env bash
# Sets everything up, then runs every check CI runs: generated-file drift, lint, format,
# typecheck, unit tests and the end-to-end suites against this kernel and real servers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== generated files"
npm run --silent -w @beyla-ts/ebpf-native check-generated
bash scripts/render-deploy.sh --check
echo "== lint and format"
npx eslint .
npx prettier --check .
echo "== native addon debug build (C asserts on) against this kernel"
make -s -C packages/ebpf-native/native debug
(cd packages/ebpf-native && BEYLA_NATIVE_ADDON="$PWD/build/debug/beyla_native.node" \
  node --test $(find dist -name '*.test.js' | sort))
echo "== benchmark harness smoke run (each benchmark in its quickest mode)"
bash bench/smoke.sh
echo "== unit and end-to-end tests"
# One node:test run over every package, so the summary line counts all tests.
# (Node 20's test runner does not expand globs itself.)
mapfile -t test_files < <(find packages/*/dist e2e/dist -name '*.test.js' | sort)
node --test --test-concurrency=1 --test-reporter=spec "${test_files[@]}"
echo "== capture end-to-end tests again, with the syscall hooks (the kernels before 6.3)"
# The agent takes the socket tracepoints on this kernel; the syscall tracepoints are the
# fallback for older ones, so the suites that check captured requests run with both.
mapfile -t capture_files < <(ls e2e/dist/{curl-client,edge-cases,first-requests,nginx,node-server,pid-namespace,python-server}.test.js)
BEYLA_EBPF_CAPTURE_HOOKS=syscalls node --test --test-concurrency=1 --test-reporter=spec "${capture_files[@]}"
