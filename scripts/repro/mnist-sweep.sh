#!/bin/sh
# The N+J search on MNIST and MNIST-binary (docs/RESULTS.md): grid points
# beyond the row's settings fixed in advance (scripts/repro/mnist.sh), each
# trained once (seed 1) and judged on the validation split only; the test
# set is never read here. Every run keeps a checkpoint (--checkpoints), so a
# killed run resumes from its last epoch: run the same command again.
# Two commands with disjoint grids use both cores.
#   scripts/repro/mnist-sweep.sh DATASET [jacnet sweep grid options]
#   e.g. scripts/repro/mnist-sweep.sh mnist --hidden 1000x1000 --lambda 0.3
set -eu
J=${JACNET:-build/bin/jacnet}
ds=$1; shift
exec $J sweep --dataset "$ds" --results "docs/results/$ds/sweep" --model nj --noise-std 0.1 --lr 0.1 --momentum 0 \
    --batch 20 --epochs 300 --patience 15 --threads 1 --checkpoints "$@"
