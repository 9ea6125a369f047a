#!/bin/bash
# The cost of issue 20's fixed-block products against 0.2.0-dev's split by
# thread (rows cut at multiples of 48, one part per thread; results then
# depended on the BLAS kernel's edges), in one run: the two libraries'
# benches alternate, round by round, on the same machine and load.
#   bench/split_cost.sh OLD_BENCH NEW_BENCH [ROUNDS]
# OLD_BENCH: build/bench/bench of a tree whose src/gemm.c is that of commit
# 81f3480 (the parent of the fix); NEW_BENCH: this tree's.
set -eu
old=$1 new=$2 rounds=${3:-3}
echo "# $(date -u +%F) CPU: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), family $(sed -n 's/^cpu family[[:space:]]*: //p' /proc/cpuinfo | head -1); OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-<unset>}"
for r in $(seq "$rounds"); do
  for which in old new; do
    bin=$old; [ $which = new ] && bin=$new
    echo "## round $r: $which"
    "$bin" --only B1,B2,B4 --threads 1,2 --rounds 1 --time 0.3 | grep -E '^(B1|B2|B4) |BLAS kernel'
  done
done
