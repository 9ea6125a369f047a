#!/bin/sh
# The machine a set of runs was made on, for the records' folder: the CPU
# (lscpu) and the BLAS kernel OpenBLAS picked for it (its corename; a
# DYNAMIC_ARCH build chooses at load time, and the kernel decides the last
# bits of every product), plus the commit of the tool.
#   scripts/repro/machine.sh [JACNET_BINARY] > DIR/machine.txt
set -eu
J=${1:-build/bin/jacnet}
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (+ uncommitted changes)')"
lscpu | grep -E '^(Model name|CPU family|Model|Stepping|CPU\(s\)|Thread\(s\) per core):' | sed 's/  */ /g'
# The vector extensions that decide BLAS's kernels, not the whole flag list.
echo "vector flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx|fma|amx|sse4)' | sort | tr '\n' ' ')"
blas=$(ldd "$J" | awk '/blas/ {print $3; exit}')
echo "blas library: ${blas:-none found by ldd}"
if [ -n "$blas" ]; then
    python3 - "$blas" <<'PY'
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
for name in ("openblas_get_corename", "openblas_get_config"):
    f = getattr(lib, name, None)
    if f is None:
        print("%s: absent (not OpenBLAS?)" % name)
        continue
    f.restype = ctypes.c_char_p
    print("%s: %s" % (name, f().decode()))
PY
fi
