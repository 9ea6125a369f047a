#!/bin/sh
# Where one training step's time goes (issue 23, part 2): perf samples of
# the bench's B2 child (784-1000-10, batch 100, exact penalty) at one thread
# (OpenMP too), in float32 and in bfloat16, summed by library (the oneDNN
# kernels are JIT code, counted under "[JIT]") and by the top functions.
# Shares of one process's samples, so a loaded machine changes them less
# than it changes the rate; the RESULT line (examples/s) is the rate.
#   [DEPTH=2] bench/profile_step.sh [BATCH] > docs/results/perf/profile-step.txt
# DEPTH (default 1) is the number of hidden layers of width 1000.
set -eu
B=${BENCH:-build/bench/bench}
batch=${1:-100}
depth=${DEPTH:-1}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sh scripts/repro/machine.sh build/bin/jacnet 2>/dev/null || true
for p in fp32 bf16; do
    echo "== B2 batch $batch, depth $depth, 1 thread, --precision $p"
    OMP_NUM_THREADS=1 perf record -q -o "$tmp/$p.data" "$B" --child B2 --threads 1 --time 4 --batch "$batch" --depth "$depth" \
        --precision "$p" | grep RESULT
    echo "-- by library"
    perf report -q -i "$tmp/$p.data" --no-children --sort dso 2>/dev/null |
        awk '/%/ { d = $2; for (i = 3; i <= NF; i++) d = d " " $i; if (d ~ /^\[JIT\]/) d = "[JIT] (oneDNN kernels)";
                   s[d] += $1 } END { for (d in s) printf "%6.2f%%  %s\n", s[d], d }' | sort -rn
    echo "-- top functions"
    perf report -q -i "$tmp/$p.data" --no-children --sort symbol 2>/dev/null | grep -v JIT |
        awk '/%/ { printf "%7s  %s\n", $1, $3 }' | head -12
done
