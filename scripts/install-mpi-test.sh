#!/usr/bin/env bash
# Install into a DESTDIR, build examples/mpi_train.c with mpicc and nothing
# but `pkg-config jacnet-mpi` against that copy, run it on 2 ranks,
# uninstall, and check that nothing is left behind.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=/usr/local
root="$tmp/root"
make --no-print-directory install DESTDIR="$root" PREFIX="$prefix" >/dev/null
pc() { PKG_CONFIG_PATH="$root$prefix/lib/pkgconfig" pkg-config --define-variable=prefix="$root$prefix" "$@" jacnet-mpi; }
libs=$(pc --libs)
for want in -ljacnet_mpi -ljacnet -lmpi; do
  case " $libs " in *" $want "*) ;; *) echo "pkg-config --libs jacnet-mpi lacks $want: $libs"; exit 1;; esac
done
echo "pkg-config --libs jacnet-mpi: $libs"
mpicc examples/mpi_train.c -o "$tmp/mpi_train" $(pc --cflags) $libs
objdump -p "$root$prefix/lib/libjacnet_mpi.so" | grep -q "SONAME *libjacnet_mpi.so.0" || { echo "SONAME missing"; exit 1; }
flags="--oversubscribe"; [ "$(id -u)" = 0 ] && flags="$flags --allow-run-as-root"
LD_LIBRARY_PATH="$root$prefix/lib" JACNET_THREADS=1 mpirun $flags -x LD_LIBRARY_PATH -x JACNET_THREADS -np 2 \
  "$tmp/mpi_train" --synthetic --quick | tail -1
make --no-print-directory uninstall DESTDIR="$root" PREFIX="$prefix" >/dev/null
left=$(find "$root" -type f -o -type l)
if [ -n "$left" ]; then echo "uninstall left files behind:"; echo "$left"; exit 1; fi
echo "install test (MPI): ok"
