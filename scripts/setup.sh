#!/usr/bin/env bash
# Prepares a fresh Debian machine (run as root): system packages, kernel filesystems,
# npm packages and the build. Safe to run again; it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# Build tools (clang/bpftool for the BPF programs, g++/make for the addon, libelf/zlib that
# the pinned static libbpf links against), and the real servers and clients of the tests.
DEBIAN_PACKAGES=(
  clang llvm bpftool make g++ pkg-config libelf-dev zlib1g-dev
  nginx-light wrk apache2-utils curl python3 prometheus iproute2 openssl
)
missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  # policy-rc.d: do not let the packages start their own nginx/prometheus services
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi

bash scripts/mount-kernel-fs.sh

# `npm install`, not `npm ci`: npm 11 leaves other platforms' optional packages (nx's native
# binaries) out of the lockfile and `npm ci` then refuses it. Versions still come from the lock.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund
fi
# Never from Nx's machine-wide cache: what runs must be what is checked out.
npx nx run-many -t build --outputStyle=static --skip-nx-cache

# A real Kubernetes control plane for the end-to-end tests (kube-apiserver, etcd, kubectl,
# helm built from Go modules): cached by version outside the checkout, ~12 minutes cold.
bash e2e/k8s/build.sh >/dev/null
