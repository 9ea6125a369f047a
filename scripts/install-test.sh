#!/usr/bin/env bash
# Install into a DESTDIR, build examples/hello.c with nothing but
# `pkg-config jacnet` against that copy (shared and static), run it,
# uninstall, and check that nothing is left behind.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=/usr/local
root="$tmp/root"
make --no-print-directory install DESTDIR="$root" PREFIX="$prefix" >/dev/null
pc() { PKG_CONFIG_PATH="$root$prefix/lib/pkgconfig" pkg-config --define-variable=prefix="$root$prefix" "$@" jacnet; }
cc examples/hello.c -o "$tmp/hello" $(pc --cflags --libs)
LD_LIBRARY_PATH="$root$prefix/lib" "$tmp/hello"
# Static: the archive plus Libs.private (BLAS, zlib, libm).
cc examples/hello.c -o "$tmp/hello-static" $(pc --cflags) "$root$prefix/lib/libjacnet.a" \
   $(pc --static --libs | sed 's/-ljacnet//')
"$tmp/hello-static"
objdump -p "$root$prefix/lib/libjacnet.so" | grep -q "SONAME *libjacnet.so.0" || { echo "SONAME missing"; exit 1; }
make --no-print-directory uninstall DESTDIR="$root" PREFIX="$prefix" >/dev/null
left=$(find "$root" -type f -o -type l)
if [ -n "$left" ]; then echo "uninstall left files behind:"; echo "$left"; exit 1; fi
echo "install test: ok"
