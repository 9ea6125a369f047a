#!/usr/bin/env bash
# The Python package as pip installs it, offline, in fresh venvs that see
# Debian's numpy and pytest (python3 -m venv --system-site-packages):
#  1. the wheel from `make wheel`: installed, it loads its own copy of
#     libjacnet (even with JACNET_LIB pointing elsewhere), reports the
#     header's version, passes the oracle tests and draws a learning curve;
#  2. `pip install --no-build-isolation ./python` against a PREFIX install of
#     the C library (found through pkg-config at build time): it loads that
#     library with no JACNET_LIB or LD_LIBRARY_PATH and passes the oracle
#     tests.
# Each time `pip uninstall` must leave nothing of jacnet in the venv.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
field() { sed -n "s/^#define JN_VERSION_$1 //p" include/jacnet.h; }
version="$(field MAJOR).$(field MINOR).$(field PATCH)"
major=$(field MAJOR)

# The tests run from a copy, outside the tree, so only the installed package can be imported.
mkdir -p "$tmp/tests"
cp python/tests/conftest.py python/tests/test_oracle.py "$tmp/tests/"
[ -f python/tests/test_plot.py ] && cp python/tests/test_plot.py "$tmp/tests/"

new_venv() {
    "$PYTHON" -m venv --system-site-packages "$1" \
        || { echo "cannot make a venv: apt-get install python3-venv"; exit 1; }
}

# Everything of jacnet a venv holds (site-packages entries, scripts, caches).
leftovers() { find "$1" -iname '*jacnet*' | sort; }

run_checks() {  # $1 venv, $2 the library path the package must load, $3 extra environment
    local py="$1/bin/python"
    (cd "$tmp" && env -u PYTHONPATH -u LD_LIBRARY_PATH $3 "$py" - "$1" "$2" "$version" <<'PY'
import os, sys
import jacnet
venv, want, version = sys.argv[1:]
assert jacnet.__file__.startswith(venv), "imported %s, not the venv's copy" % jacnet.__file__
assert os.path.realpath(jacnet.LIBRARY_PATH) == os.path.realpath(want), (jacnet.LIBRARY_PATH, want)
assert jacnet.__version__ == jacnet.VERSION_STRING == version, (jacnet.__version__, jacnet.VERSION_STRING)
assert os.path.exists(os.path.join(os.path.dirname(jacnet.__file__), "py.typed"))
print("  jacnet %s from %s, library %s" % (jacnet.__version__, os.path.dirname(jacnet.__file__), jacnet.LIBRARY_PATH))
PY
    )
    (cd "$tmp" && env -u PYTHONPATH -u LD_LIBRARY_PATH $3 JACNET_ORACLE="$repo/tests/oracle" \
        JACNET_TEST_DATA="$repo/tests/data" "$py" -m pytest -q -p no:cacheprovider tests)
    shown=$("$1/bin/pip" show jacnet)
    printf "%s\n" "$shown" | grep -qx "Version: $version" || { echo "$shown"; echo "pip show: not version $version"; exit 1; }
}

uninstall_and_check() {
    "$1/bin/pip" uninstall -q -y jacnet
    left=$(leftovers "$1")
    if [ -n "$left" ]; then echo "pip uninstall left:"; echo "$left"; exit 1; fi
}

echo "== wheel"
make --no-print-directory wheel WHEEL_DIR="$tmp/dist" PYTHON="$PYTHON" >/dev/null
wheel=$(ls "$tmp/dist"/jacnet-"$version"-py3-none-*.whl)
new_venv "$tmp/venv-wheel"
"$tmp/venv-wheel/bin/pip" install -q --no-index "$wheel"
site=$("$tmp/venv-wheel/bin/python" -c 'import sysconfig; print(sysconfig.get_path("platlib"))')
test -f "$site/jacnet/libjacnet.so.$major" || { echo "the wheel installed no libjacnet.so.$major"; exit 1; }
# The package's own copy comes first, before $JACNET_LIB.
run_checks "$tmp/venv-wheel" "$site/jacnet/libjacnet.so.$major" "JACNET_LIB=$tmp/not-this.so"
uninstall_and_check "$tmp/venv-wheel"

echo "== pip install ./python against a PREFIX install of the C library"
prefix="$tmp/prefix"
make --no-print-directory install PREFIX="$prefix" WITH_PYTHON=no >/dev/null
# A copy of ./python, so the in-tree build leaves no build/ or egg-info in the checkout.
cp -r python "$tmp/src-python"
rm -rf "$tmp/src-python/build" "$tmp/src-python"/*.egg-info
find "$tmp/src-python" -name __pycache__ -prune -exec rm -rf {} +
new_venv "$tmp/venv-pip"
# The copy has no ../include: setup.py reads the installed header through pkg-config.
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" "$tmp/venv-pip/bin/pip" install -q --no-index --no-build-isolation \
    "$tmp/src-python"
run_checks "$tmp/venv-pip" "$prefix/lib/libjacnet.so.$major" "-u JACNET_LIB"
uninstall_and_check "$tmp/venv-pip"
make --no-print-directory uninstall PREFIX="$prefix" WITH_PYTHON=no >/dev/null
left=$(find "$prefix" -type f -o -type l)
if [ -n "$left" ]; then echo "make uninstall left:"; echo "$left"; exit 1; fi
echo "wheel test: ok"
