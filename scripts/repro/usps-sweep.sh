#!/bin/sh
# USPS model selection for Table 1 (docs/RESULTS.md): every grid point is
# trained once (seed 1) and judged on the validation split only (the last
# 2000 training digits); the test set is never read here. Resumable: run it
# again and finished points are skipped. Needs JACNET_DATA (or ./data).
#   scripts/repro/usps-sweep.sh [extra jacnet sweep options]
set -eu
J=${JACNET:-build/bin/jacnet}
R=${RESULTS:-docs/results/usps/sweep}
common="--dataset usps --results $R --momentum 0 --hidden 1000 --batch 20 --epochs 200 --patience 15 --threads 1 --quiet"
$J sweep $common --model mlp --lr 0.1,0.03 "$@"
$J sweep $common --model l2 --lambda 0.00001,0.0001,0.001 "$@"
$J sweep $common --model noise --noise-std 0.1,0.2,0.3,0.5 "$@"
$J sweep $common --model jacobian --lambda 0.1,0.3,1,3,10 "$@"
$J sweep $common --model nj --lambda 0.3,1,3,10 --noise-std 0.1,0.3 "$@"
# Noise on both inputs, at the loss-noise std that won for "noise" (0.3).
$J sweep $common --model nj-both --lambda 0.3,1 --noise-std 0.3 "$@"
