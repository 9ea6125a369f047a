#!/usr/bin/env bash
# make check-kernels: the promises that depend on the BLAS kernel, checked
# under every OpenBLAS kernel this CPU can execute, not only the one OpenBLAS
# picks here. OpenBLAS (DYNAMIC_ARCH builds, as Debian's) chooses its kernels
# by CPU; OPENBLAS_CORETYPE forces others. A result that holds on one kernel
# may not on another (issue 20: the thread split held on Haswell, not on
# SkylakeX/Cooperlake), so each kernel runs:
#   - test_blas_threads, test_pool_threads: products, objective, gradient and
#     training bit for bit at 1 and 2 threads;
#   - test_checkpoint: a stopped run resumed ends bit for bit where the
#     uninterrupted one does;
#   - test_trainer_loop: the trainer against a hand-written loop;
#   - python/tests/test_kernels.py: `jacnet train --threads 1` and `2` save
#     the same bytes, and the record names the kernel.
# Then the same C tests on the reference CBLAS (BLAS=reference build).
# Usage: scripts/check-kernels.sh BUILD_DIR LIB_DIR REF_BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build} libdir=${2:-lib} refbuild=${3:-build/ref}
tests=(test_blas_threads test_pool_threads test_checkpoint test_trainer_loop)
lib=$(ls "$libdir"/libjacnet.so.*.*.* | head -n 1)

flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
has() { for f in "$@"; do [[ " $flags " == *" $f "* ]] || return 1; done; }
# The kernels and the CPU features each needs (OpenBLAS's own requirements).
candidates=()
has pni && candidates+=(Prescott)
has ssse3 && candidates+=(Core2)
has sse4_2 && candidates+=(Nehalem)
has avx && candidates+=(Sandybridge)
has avx2 fma && candidates+=(Haswell Zen)
has avx512f avx512cd avx512bw avx512dq avx512vl && candidates+=(SkylakeX)
has avx512f avx512cd avx512bw avx512dq avx512vl avx512_bf16 && candidates+=(Cooperlake)
has amx_bf16 amx_tile && candidates+=(SapphireRapids)

# The kernel a forced name gives, as the library reports it (an empty name:
# OpenBLAS's own choice); an OpenBLAS that does not know a name quietly keeps
# its own choice, which is not a test of that kernel.
kernel_of() {
  OPENBLAS_CORETYPE=$1 /usr/bin/python3 -c 'import ctypes, sys
lib = ctypes.CDLL(sys.argv[1]); lib.jn_blas_kernel.restype = ctypes.c_char_p
print(lib.jn_blas_kernel().decode())' "$lib"
}
default=$(kernel_of "")
echo "check-kernels: CPU $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
     "OpenBLAS's own choice: $default${OPENBLAS_CORETYPE:+ (OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE in the environment)}"
if [ "$default" = unknown ]; then
  echo "check-kernels: the BLAS does not name its kernels (not OpenBLAS); the reference run below only"
  candidates=()
fi
kernels=()
for k in "${candidates[@]}"; do
  got=$(kernel_of "$k")
  if [ "${got,,}" = "${k,,}" ]; then kernels+=("$k"); else echo "check-kernels: skip $k (this OpenBLAS runs $got for it)"; fi
done
echo "check-kernels: kernels this CPU can run: ${kernels[*]:-none}"

fail=0
for k in "${kernels[@]}"; do
  echo "== kernel $k"
  for t in "${tests[@]}"; do
    OPENBLAS_CORETYPE=$k "./$build/tests/$t" > "$build/kernel-$k-$t.log" 2>&1 \
      || { echo "FAIL $t under $k:"; tail -n 5 "$build/kernel-$k-$t.log"; fail=1; }
  done
  OPENBLAS_CORETYPE=$k JACNET_LIB=$PWD/$lib JACNET_CLI=$PWD/$build/bin/jacnet PYTHONPATH=$PWD/python \
    /usr/bin/python3 -m pytest -q -p no:cacheprovider python/tests/test_kernels.py > "$build/kernel-$k-cli.log" 2>&1 \
    || { echo "FAIL test_kernels.py under $k:"; tail -n 15 "$build/kernel-$k-cli.log"; fail=1; }
  [ $fail = 0 ] && echo "   ${#tests[@]} C tests and test_kernels.py passed"
done
echo "== reference CBLAS"
for t in "${tests[@]}"; do
  "./$refbuild/tests/$t" > "$refbuild/kernel-ref-$t.log" 2>&1 \
    || { echo "FAIL $t on the reference CBLAS:"; tail -n 5 "$refbuild/kernel-ref-$t.log"; fail=1; }
done
if [ $fail = 0 ]; then echo "check-kernels: all passed (${kernels[*]:-no OpenBLAS kernel}, reference)"; else exit 1; fi
