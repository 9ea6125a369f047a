#!/usr/bin/env bash
# find_package(jacnet) against a DESTDIR install: configure, build and run
# tests/consumers/cmake (shared and static targets); then move the whole
# prefix elsewhere and do it again from a fresh build directory, which only
# works if the config file finds everything from its own location; a
# request for a newer major version is refused; uninstall leaves nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cmake >/dev/null || { echo "cmake-consumer-test needs cmake (apt-get install cmake)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=/usr/local
root="$tmp/root"
src=$(pwd)/tests/consumers/cmake
field() { sed -n "s/^#define JN_VERSION_$1 //p" include/jacnet.h; }
version="$(field MAJOR).$(field MINOR).$(field PATCH)"
make --no-print-directory install DESTDIR="$root" PREFIX="$prefix" WITH_PYTHON=no >/dev/null
test -f "$root$prefix/lib/cmake/jacnet/jacnetConfig.cmake" || { echo "jacnetConfig.cmake not installed"; exit 1; }
test -f "$root$prefix/lib/cmake/jacnet/jacnetConfigVersion.cmake" || { echo "jacnetConfigVersion.cmake not installed"; exit 1; }

build_and_run() {  # $1: the prefix to find jacnet in, $2: a fresh build directory
    cmake -S "$src" -B "$2" -DCMAKE_PREFIX_PATH="$1" -DCMAKE_BUILD_TYPE=Release >"$2.log" 2>&1 \
        || { cat "$2.log"; echo "configure failed"; exit 1; }
    grep -q "jacnet $version: $1/include" "$2.log" \
        || { cat "$2.log"; echo "configure did not find jacnet $version in $1"; exit 1; }
    cmake --build "$2" -j2 >>"$2.log" 2>&1 || { cat "$2.log"; echo "build failed"; exit 1; }
    # The shared one runs through the build RPATH CMake derives from the
    # imported location, which must be the prefix given here.
    readelf -d "$2/consumer_shared" | grep -q "$1/lib" \
        || { readelf -d "$2/consumer_shared"; echo "consumer_shared does not point into $1/lib"; exit 1; }
    env -u LD_LIBRARY_PATH "$2/consumer_shared"
    "$2/consumer_static"
    if readelf -d "$2/consumer_static" | grep -q 'libjacnet'; then echo "consumer_static needs libjacnet.so"; exit 1; fi
    # Built with oneDNN, the static target keeps it (the archive's references
    # to it are weak, which --as-needed alone would not count).
    if readelf -d "$1/lib/libjacnet.so" | grep 'libdnnl' >/dev/null && \
       ! readelf -d "$2/consumer_static" | grep 'libdnnl' >/dev/null; then
        echo "consumer_static lost oneDNN"; exit 1
    fi
}

build_and_run "$root$prefix" "$tmp/build1"
# Relocated: the whole prefix moved, the old location gone.
mv "$root$prefix" "$tmp/moved"
build_and_run "$tmp/moved" "$tmp/build2"
# A newer major version than the one installed is refused.
if cmake -S "$src" -B "$tmp/build3" -DCMAKE_PREFIX_PATH="$tmp/moved" -DJACNET_WANT=99.0 >"$tmp/build3.log" 2>&1; then
    cat "$tmp/build3.log"; echo "find_package(jacnet 99.0) succeeded"; exit 1
fi
grep -q "99.0" "$tmp/build3.log" || { cat "$tmp/build3.log"; echo "refusal does not name the version"; exit 1; }
mv "$tmp/moved" "$root$prefix"
make --no-print-directory uninstall DESTDIR="$root" PREFIX="$prefix" WITH_PYTHON=no >/dev/null
left=$(find "$root" -type f -o -type l)
if [ -n "$left" ]; then echo "uninstall left files behind:"; echo "$left"; exit 1; fi
echo "cmake consumer test: ok"
