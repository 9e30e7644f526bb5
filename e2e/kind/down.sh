#!/usr/bin/env bash
# Deletes the kind cluster of e2e/kind/up.sh.
set -euo pipefail
kind delete cluster --name "${KIND_CLUSTER:-beyla}"
