#!/usr/bin/env bash
# Install the library and the Python package into a DESTDIR, import the
# installed package from outside the source tree and run it against the
# installed library (once through JACNET_LIB, once through LD_LIBRARY_PATH),
# uninstall, and check that nothing is left behind; then the same for a live
# install into a PREFIX of its own (the package under PREFIX, found there).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=/usr/local
root="$tmp/root"
pydir=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
make --no-print-directory install DESTDIR="$root" PREFIX="$prefix" PYTHON="$PYTHON" >/dev/null
test -f "$root$pydir/jacnet/__init__.py" || { echo "package not installed in $root$pydir"; exit 1; }
# The package's files, exactly: the sources, py.typed, and the two files
# make install-python writes.
package_files() {
    want=$( (cd python/jacnet && ls *.py; echo py.typed; echo _paths.py; echo _version.py) | LC_ALL=C sort -u)
    got=$(cd "$1" && find . \( -type f -o -type l \) | sed 's|^\./||' | LC_ALL=C sort)
    [ "$got" = "$want" ] || { echo "$1 holds (- expected, + installed):"; diff <(echo "$want") <(echo "$got"); exit 1; }
}
package_files "$root$pydir/jacnet"
grep -q "INSTALLED_LIBRARY = '$prefix/lib/libjacnet.so.0'" "$root$pydir/jacnet/_paths.py" \
    || { echo "_paths.py does not record $prefix/lib/libjacnet.so.0"; exit 1; }

check='
import os, sys, numpy as np, jacnet
root = sys.argv[1]
assert jacnet.__file__.startswith(root), "imported %s, not the installed copy" % jacnet.__file__
assert os.path.realpath(jacnet.LIBRARY_PATH).startswith(root) or sys.argv[2] == "ld", jacnet.LIBRARY_PATH
with jacnet.Net([4, 3, 2]).init(1) as net, jacnet.Objective(jacobian=0.1) as obj:
    X = np.random.default_rng(0).random((5, 4), dtype=np.float32)
    v, g = net.objective(obj, X, np.eye(2, dtype=np.float32)[[0, 1, 0, 1, 0]])
    assert np.isfinite(v) and g.shape == (net.param_count,)
    net.save(os.path.join(sys.argv[3], "m.jn"))
    assert jacnet.Net.load(os.path.join(sys.argv[3], "m.jn")).sizes == (4, 3, 2)
print("installed package ok: jacnet from", os.path.dirname(jacnet.__file__), "library", jacnet.LIBRARY_PATH,
      jacnet.VERSION_STRING)
'
# From a directory outside the tree, so neither ./python nor the build tree is used.
(cd "$tmp" && env -u LD_LIBRARY_PATH PYTHONPATH="$root$pydir" JACNET_LIB="$root$prefix/lib/libjacnet.so.0" \
    "$PYTHON" -c "$check" "$root" lib "$tmp")
# Without JACNET_LIB: the loader finds the DESTDIR copy through LD_LIBRARY_PATH.
(cd "$tmp" && env -u JACNET_LIB PYTHONPATH="$root$pydir" LD_LIBRARY_PATH="$root$prefix/lib" \
    "$PYTHON" -c "$check" "$root" ld "$tmp")
# ... and that copy is the one loaded (maps of the process).
(cd "$tmp" && env -u JACNET_LIB PYTHONPATH="$root$pydir" LD_LIBRARY_PATH="$root$prefix/lib" \
    "$PYTHON" -c 'import jacnet; m = open("/proc/self/maps").read(); assert "'"$root$prefix"'/lib/libjacnet.so" in m, m')

# The Python example against the installed copy only (needs MNIST).
if [ -n "${JACNET_DATA:-}" ] && [ -d "$JACNET_DATA/mnist" ]; then
    example=$(pwd)/examples/python/train.py
    (cd "$tmp" && env -u JACNET_LIB PYTHONPATH="$root$pydir" LD_LIBRARY_PATH="$root$prefix/lib" \
        "$PYTHON" "$example" --quick --data "$JACNET_DATA" | tail -n 1)
fi

make --no-print-directory uninstall DESTDIR="$root" PREFIX="$prefix" PYTHON="$PYTHON" >/dev/null
left=$(find "$root" -type f -o -type l)
if [ -n "$left" ]; then echo "uninstall left files behind:"; echo "$left"; exit 1; fi
if [ -e "$root$pydir/jacnet" ]; then echo "uninstall left $root$pydir/jacnet"; exit 1; fi

# A live install into a PREFIX of its own puts the package under it, in
# lib/python3/dist-packages, and says so; from there it imports and finds
# the library it was installed with (jacnet/_paths.py), with neither
# LD_LIBRARY_PATH nor JACNET_LIB.
live="$tmp/live"
out=$(make --no-print-directory install PREFIX="$live" PYTHON="$PYTHON" 2>&1) || { echo "$out"; exit 1; }
livepy="$live/lib/python3/dist-packages"
echo "$out" | grep -qxF "install: Python package in $livepy/jacnet" || { echo "$out"; echo "where did the package go?"; exit 1; }
package_files "$livepy/jacnet"
(cd "$tmp" && env -u JACNET_LIB -u LD_LIBRARY_PATH PYTHONPATH="$livepy" "$PYTHON" -c "$check" "$live" lib "$tmp")
make --no-print-directory uninstall PREFIX="$live" PYTHON="$PYTHON" >/dev/null
left=$(find "$live" -type f -o -type l)
if [ -n "$left" ]; then echo "uninstall PREFIX=$live left files behind:"; echo "$left"; exit 1; fi
echo "python install test: ok"
