#!/usr/bin/env bash
# Builds the pinned libbpf (see ../libbpf.version) as a static library with its headers.
# The source comes from the crates.io package `libbpf-sys`, which vendors libbpf at exactly
# that release; cargo verifies the download against the registry checksum.
# Output: $OUT/lib/libbpf.a and $OUT/include/bpf/*.h (OUT defaults to ../build/libbpf).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
version=$(tr -d '[:space:]' <"$here/libbpf.version")
out=${OUT:-$here/build/libbpf}
if [ -f "$out/lib/libbpf.a" ] && [ "$(cat "$out/.version" 2>/dev/null)" = "$version" ]; then
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/fetch/src"
cat >"$work/fetch/Cargo.toml" <<TOML
[package]
name = "fetch-libbpf"
version = "0.0.0"
edition = "2021"
[dependencies]
libbpf-sys = { version = "=$version", default-features = false }
TOML
touch "$work/fetch/src/lib.rs"
(cd "$work/fetch" && cargo fetch --quiet)
crate=$(find "${CARGO_HOME:-$HOME/.cargo}/registry/cache" -name "libbpf-sys-$version.crate" | head -n 1)
[ -n "$crate" ] || { echo "fetch-libbpf: libbpf-sys-$version.crate not found after cargo fetch" >&2; exit 1; }
tar -xzf "$crate" -C "$work"
src="$work/libbpf-sys-$version/libbpf/src"
rm -rf "$out" && mkdir -p "$out"
make -s -C "$src" BUILD_STATIC_ONLY=y OBJDIR="$work/obj" DESTDIR="$out" PREFIX= LIBDIR=/lib INCLUDEDIR=/include \
  EXTRA_CFLAGS="-fPIC -O2" install >/dev/null
echo "$version" >"$out/.version"
echo "libbpf $version built into $out"
