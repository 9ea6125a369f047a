#!/usr/bin/env bash
# Install into a DESTDIR, build examples/hello.c with nothing but
# `pkg-config jacnet` against that copy (shared and static), run it,
# uninstall, and check that nothing is left behind. A live install into a
# PREFIX of its own writes nothing outside it (file list, strace), and
# programs built against it run (rpath, LD_LIBRARY_PATH, -static without
# oneDNN). Also: jacnet.pc names its
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

# A live install (no DESTDIR) into a PREFIX of its own writes nothing
# outside PREFIX: the Python package goes under it (printed), and the
# loader's cache is left alone. Checked two ways: the files under PREFIX are
# exactly the expected list, and (with strace) every file the install
# creates, changes or removes lies under PREFIX or in this tree.
live="$tmp/live"
PYTHON=${PYTHON:-/usr/bin/python3}
ver() { sed -n "s/^#define $2_VERSION_$3 \([0-9]*\)/\1/p" "include/$1"; }
version=$(ver jacnet.h JN MAJOR).$(ver jacnet.h JN MINOR).$(ver jacnet.h JN PATCH)
expected="bin/jacnet include/jacnet.h lib/cmake/jacnet/jacnetConfig.cmake lib/cmake/jacnet/jacnetConfigVersion.cmake
lib/libjacnet.a lib/libjacnet.so lib/libjacnet.so.0 lib/libjacnet.so.$version lib/pkgconfig/jacnet.pc"
for m in man/*.[1-9]; do expected="$expected share/man/man${m##*.}/${m#man/}"; done
pydir=lib/python3/dist-packages/jacnet
if "$PYTHON" -c 'import numpy' 2>/dev/null; then
    for f in python/jacnet/*.py; do expected="$expected $pydir/${f##*/}"; done
    expected="$expected $pydir/_paths.py $pydir/_version.py $pydir/py.typed"
fi
make --no-print-directory all >/dev/null
install_live=(make --no-print-directory install PREFIX="$live" PYTHON="$PYTHON")
if command -v strace >/dev/null 2>&1 && strace -f -qq -o /dev/null true 2>/dev/null; then
    mkdir "$tmp/trace"
    strace -f -ff -y -qq -o "$tmp/trace/t" -e trace=open,openat,creat,mkdir,mkdirat,symlink,symlinkat,link,linkat,rename,renameat,renameat2,unlink,unlinkat,rmdir,chmod,fchmodat,truncate \
        "${install_live[@]}" > "$tmp/live.out" 2>&1 || { cat "$tmp/live.out"; echo "make install PREFIX=$live failed"; exit 1; }
    # Written paths: every path of a successful call, but for the target of
    # symlink/link and opens for reading only. -y names the directory of a
    # dirfd (`AT_FDCWD</cwd>, "rel"`): relative paths are joined to it.
    # (mkdir takes no dirfd: the directories `install -d` makes relative to
    # its own chdir are not seen, the files put in them are.)
    written=$(cat "$tmp"/trace/t.* | sed -E -e 's/(AT_FDCWD|[0-9]+)<[^>]*>, "\//"\//g' \
                                          -e 's/(AT_FDCWD|[0-9]+)<([^>]*)>, "/"\2\//g' | awk '
        / = -1 / { next }
        { call = $1; sub(/\(.*/, "", call) }
        call ~ /^open/ && $0 !~ /O_WRONLY|O_RDWR|O_CREAT/ { next }
        { n = 0; s = $0
          while (match(s, /"[^"]*"/)) { q[++n] = substr(s, RSTART + 1, RLENGTH - 2); s = substr(s, RSTART + RLENGTH) }
          for (i = (call ~ /link/ ? 2 : 1); i <= n; i++) print q[i] }' | sort -u)
    outside=$(printf '%s\n' "$written" | grep '^/' | grep -v -e "^$live/" -e "^$live\$" -e "^$(pwd)/" -e '^/dev/null$' || true)
    if [ -n "$outside" ]; then echo "make install PREFIX=$live wrote outside it:"; echo "$outside"; exit 1; fi
else
    echo "install test: strace not usable, checking the file list only"
    "${install_live[@]}" > "$tmp/live.out" 2>&1 || { cat "$tmp/live.out"; echo "make install PREFIX=$live failed"; exit 1; }
fi
if [ -e "$live/include/jacnet_mpi.h" ]; then  # MPI was built (mk/mpi.mk)
    mpiver=$(ver jacnet_mpi.h JN_MPI MAJOR).$(ver jacnet_mpi.h JN_MPI MINOR).$(ver jacnet_mpi.h JN_MPI PATCH)
    expected="$expected include/jacnet_mpi.h lib/libjacnet_mpi.a lib/libjacnet_mpi.so lib/libjacnet_mpi.so.0
lib/libjacnet_mpi.so.$mpiver lib/pkgconfig/jacnet-mpi.pc"
fi
got=$(cd "$live" && find . \( -type f -o -type l \) | sed 's|^\./||' | LC_ALL=C sort)
want=$(printf '%s\n' $expected | LC_ALL=C sort)
if [ "$got" != "$want" ]; then
    echo "make install PREFIX=$live: files differ from the list (- expected, + installed):"
    diff <(echo "$want") <(echo "$got") | grep '^[<>]' | sed 's/^</-/; s/^>/+/'; exit 1
fi
if "$PYTHON" -c 'import numpy' 2>/dev/null; then
    grep -qxF "install: Python package in $live/$pydir" "$tmp/live.out" \
        || { cat "$tmp/live.out"; echo "make install did not say where the Python package went"; exit 1; }
    grep -qF "export PYTHONPATH=$live/lib/python3/dist-packages" "$tmp/live.out" \
        || { cat "$tmp/live.out"; echo "make install did not say how to import the package"; exit 1; }
fi
grep -qF "LD_LIBRARY_PATH=$live/lib" "$tmp/live.out" || { cat "$tmp/live.out"; echo "make install did not say how to run programs"; exit 1; }

# README, "Running a program built against it": the program finds the
# PREFIX's library through an rpath, or through LD_LIBRARY_PATH.
lpc() { PKG_CONFIG_PATH="$live/lib/pkgconfig" pkg-config "$@" jacnet; }
# (grep without -q reads all of ldd's output: with pipefail, -q's early exit would fail ldd.)
loads_live() { ldd "$1" | grep -F "$live/lib/libjacnet.so.0" >/dev/null || { ldd "$1"; echo "$1 does not load $live/lib's library"; exit 1; }; }
cc examples/hello.c -o "$tmp/hello-rpath" $(lpc --cflags --libs) -Wl,-rpath,"$(lpc --variable=libdir)"
(unset LD_LIBRARY_PATH; loads_live "$tmp/hello-rpath"; "$tmp/hello-rpath" >/dev/null)
cc examples/hello.c -o "$tmp/hello-live" $(lpc --cflags --libs)
(export LD_LIBRARY_PATH="$live/lib"; loads_live "$tmp/hello-live"; "$tmp/hello-live" >/dev/null)
# -static with the static flags links without oneDNN (no libdnnl.a on
# Debian): bfloat16 then falls back to float32, even when forced.
cat > "$tmp/precision.c" <<'EOF'
#include <jacnet.h>
#include <stdio.h>
int main(void)
{
    jn_objective *obj;
    if (jn_objective_create_model(&obj, JN_MODEL_MLP_NJ, 0.01, 0.1) || jn_objective_set_precision(obj, JN_PRECISION_BF16))
        return 1;
    puts(jn_objective_precision_used(obj) == JN_PRECISION_BF16 ? "bf16" : "fp32");
    jn_objective_free(obj);
    return 0;
}
EOF
if out=$(cc "$tmp/precision.c" -o "$tmp/full-static" -static $(lpc --cflags --static --libs) 2>&1); then
    [ "$(JACNET_FORCE_BF16=1 "$tmp/full-static")" = fp32 ] || { echo "-static program without oneDNN does not run fp32"; exit 1; }
    if objdump -p "$tmp/full-static" | grep NEEDED; then echo "-static program is not static"; exit 1; fi
elif grep -q dnnl <<< "$out"; then
    echo "$out"; echo "cc -static \$(pkg-config --static --libs jacnet) needs oneDNN"; exit 1
else
    echo "install test: -static link skipped, a dependency has no static archive:"; echo "$out" | grep -m3 'cannot find'
fi
# The archive with oneDNN's shared library keeps bfloat16 (README's
# command): forced, it runs wherever the shared library runs it.
if objdump -p "$live/lib/libjacnet.so" | grep 'NEEDED.*libdnnl' >/dev/null; then
    cc "$tmp/precision.c" -o "$tmp/archive-dnnl" $(lpc --cflags) "$live/lib/libjacnet.a" \
       $(lpc --static --libs | sed 's/-ljacnet//') -Wl,--no-as-needed -ldnnl
    cc "$tmp/precision.c" -o "$tmp/shared-dnnl" $(lpc --cflags --libs) -Wl,-rpath,"$live/lib"
    [ "$(JACNET_FORCE_BF16=1 "$tmp/archive-dnnl")" = "$(JACNET_FORCE_BF16=1 "$tmp/shared-dnnl")" ] \
        || { echo "the archive linked with -ldnnl runs another precision than libjacnet.so"; exit 1; }
fi
make --no-print-directory uninstall PREFIX="$live" PYTHON="$PYTHON" >/dev/null
left=$(find "$live" -type f -o -type l)
if [ -n "$left" ]; then echo "uninstall PREFIX=$live left files behind:"; echo "$left"; exit 1; fi
echo "install test: ok"
