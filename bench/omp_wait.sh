#!/bin/sh
# Do oneDNN's OpenMP threads take turns with the library's pool at 2
# threads (issue 23, part 2)? libgomp's idle threads spin after every
# parallel region unless OMP_WAIT_POLICY=passive, which only the
# environment of a new process can set (libgomp reads it when it loads).
# B2 in bfloat16 at 2 threads, the default against passive, alternating
# rounds; and float32 alike, where oneDNN is not called (the control).
#   bench/omp_wait.sh [ROUNDS]
set -eu
B=${BENCH:-build/bench/bench}
rounds=${1:-3}
for r in $(seq "$rounds"); do
    for p in bf16 fp32; do
        for w in default passive; do
            if [ $w = passive ]; then env="OMP_WAIT_POLICY=passive"; else env="JN_UNUSED=1"; fi
            printf '%s %s round %s: ' $p $w "$r"
            env $env "$B" --child B2 --threads 2 --time 1 --precision $p | grep RESULT
        done
    done
done
