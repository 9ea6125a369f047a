#!/usr/bin/env bash
# Install into a DESTDIR, build examples/hello.c with nothing but
# `pkg-config jacnet` against that copy (shared and static), run it,
# uninstall, and check that nothing is left behind. Also: jacnet.pc names its
# dependencies in Requires.private (so PKG_CONFIG_SYSROOT_DIR applies to
# them), the man page and CMake files install and go, and `make install`
# without a usable python3 installs everything but the Python package.
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
pcfile="$root$prefix/lib/pkgconfig/jacnet.pc"
if [ -z "${BLAS_LIBS:-}" ] && [ "${BLAS:-}" != reference ]; then
    blas_pc=$(for p in openblas cblas blas; do pkg-config --exists $p && { echo $p; break; }; done)
    grep -qx "Requires.private: $blas_pc zlib" "$pcfile" || { grep Requires "$pcfile"; echo "jacnet.pc: want Requires.private: $blas_pc zlib"; exit 1; }
    ! grep '^Libs.private:' "$pcfile" | grep -q -- '-L' || { grep Libs.private "$pcfile"; echo "jacnet.pc: -L in Libs.private"; exit 1; }
fi
# Under a sysroot every -I and -L of the static flags (ours and the dependencies') moves into it.
flags=$(PKG_CONFIG_PATH="$root$prefix/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR=/sysroot pkg-config --static --cflags --libs jacnet)
for f in $flags; do
    case $f in -I/sysroot/*|-L/sysroot/*|-l*|-Wl,*|-pthread) ;; -I*|-L*) echo "'$f' escapes PKG_CONFIG_SYSROOT_DIR: $flags"; exit 1;; esac
done
test -f "$root$prefix/share/man/man3/libjacnet.3" || { echo "libjacnet.3 not installed"; exit 1; }
MANPAGER=cat man -l "$root$prefix/share/man/man3/libjacnet.3" | grep -q "jn_trainer_run" || { echo "man page unreadable"; exit 1; }
test -f "$root$prefix/lib/cmake/jacnet/jacnetConfig.cmake" || { echo "jacnetConfig.cmake not installed"; exit 1; }
make --no-print-directory uninstall DESTDIR="$root" PREFIX="$prefix" >/dev/null
left=$(find "$root" -type f -o -type l)
if [ -n "$left" ]; then echo "uninstall left files behind:"; echo "$left"; exit 1; fi

# Without a usable python3: everything else installs, and make says what it skipped.
out=$(make --no-print-directory install DESTDIR="$root" PREFIX="$prefix" PYTHON=/nonexistent/python3 2>&1) \
    || { echo "$out"; echo "make install failed without python3"; exit 1; }
echo "$out" | grep -q "Python package skipped" || { echo "$out"; echo "no word about the skipped Python package"; exit 1; }
for f in include/jacnet.h lib/libjacnet.so.0 lib/libjacnet.a lib/pkgconfig/jacnet.pc share/man/man3/libjacnet.3 \
         lib/cmake/jacnet/jacnetConfig.cmake; do
    test -e "$root$prefix/$f" || { echo "without python3: $f not installed"; exit 1; }
done
if find "$root" -name '*.py' | grep -q .; then echo "without python3, Python files were installed"; exit 1; fi
make --no-print-directory uninstall DESTDIR="$root" PREFIX="$prefix" PYTHON=/nonexistent/python3 >/dev/null
left=$(find "$root" -type f -o -type l)
if [ -n "$left" ]; then echo "uninstall (no python3) left files behind:"; echo "$left"; exit 1; fi
echo "install test: ok"
