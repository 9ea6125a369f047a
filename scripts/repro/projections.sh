#!/bin/sh
# Issue 25, item 1: the exact Jacobian penalty against its k-projection
# estimate (--projections K, docs/METHOD.md "Random projections") on USPS,
# at the Table 1 selection (docs/results/usps/final/selection.json:
# 256-1000-10, lr 0.1, momentum 0, batch 20, at most 200 epochs, patience
# 15, one thread, lambda 0.3, N+J noise std 0.1), models jacobian and nj,
# K = 1, 2, 4, seeds 1-3. The exact runs (K = 10, the output count) are the
# committed docs/results/usps/final/{jacobian,nj}-seed{1,2,3}.json and are
# not rerun here. Runs are ordered seed first (seed 1 for every K and both
# models, then seed 2, ...) so that a partial pass is already a comparison.
# A complete record is skipped; a stopped run resumes from its checkpoint
# (docs/results/usps/projections/MODEL-kK-seedS.jnc, not committed).
# With the argument mnist: the MNIST N+J cell instead (docs/results/mnist/
# final/nj-seed1.json: 784-1000-1000-10, lr 0.1, momentum 0, at most 300
# epochs, patience 15, lambda 0.3, noise 0.1), seed 1 unless SEEDS says,
# into docs/results/mnist/projections/ (hours a run on one core).
# scripts/repro/projections_summary.py builds the table and the plot.
# LAMBDA=L (default 0.3, the selection's) trains at another penalty weight,
# for re-selecting lambda on validation for an estimator; its records are
# named MODEL-kK-lL-seedS.json. RECOVERY=1 adds --recovery (on a blow-up of
# the training objective, back to the best epoch's parameters at half the
# learning rate: docs/API.md, "Blow-up recovery"); its records are named
# MODEL-kK[-lL]-rec-seedS.json; with KS=0 it is the exact penalty with
# --recovery, to compare with. PRECISION=bf16 runs the penalty's products in
# bfloat16, forced (JACNET_FORCE_BF16=1, as scripts/repro/mnist.sh), records
# MODEL-kK[-lL]-bf16[-rec]-seedS.json.
#   [SEEDS="1 2 3"] [KS="1 2 4"] [MODELS="jacobian nj"] [LAMBDA=0.3] [RECOVERY=1] [PRECISION=bf16]
#   scripts/repro/projections.sh [usps|mnist]
set -eu
J=${JACNET:-build/bin/jacnet}
ds=${1:-usps}
case $ds in
usps) hidden=1000 epochs=200 seeds=${SEEDS:-1 2 3} models=${MODELS:-jacobian nj} ;;
mnist) hidden=1000x1000 epochs=300 seeds=${SEEDS:-1} models=${MODELS:-nj} ;;
*) echo "usage: $0 [usps|mnist]" >&2; exit 2 ;;
esac
lambda=${LAMBDA:-0.3}
suffix= recovery=
[ "$lambda" = 0.3 ] || suffix=-l$lambda
precision=${PRECISION:-fp32}
case $precision in
fp32) ;;
bf16) suffix=$suffix-bf16; export JACNET_FORCE_BF16=1 ;;
*) echo "PRECISION: fp32 or bf16" >&2; exit 2 ;;
esac
if [ "${RECOVERY:-0}" = 1 ]; then suffix=$suffix-rec recovery=--recovery; fi
out=docs/results/$ds/projections
mkdir -p "$out/models"
for seed in $seeds; do
    for k in ${KS:-1 2 4}; do
        for model in $models; do
            name=$model-k$k$suffix-seed$seed
            rec=$out/$name.json
            if [ -f "$rec" ] && grep -q '"complete": 1' "$rec"; then echo "$rec complete: skipped"; continue; fi
            echo "$name: training"
            $J train --dataset "$ds" --model "$model" --hidden $hidden --lr 0.1 --momentum 0 --batch 20 \
                --epochs $epochs --patience 15 --seed "$seed" --threads 1 --lambda "$lambda" --noise-std 0.1 \
                --projections "$k" --precision "$precision" $recovery --checkpoint "$out/$name.jnc" --save "$out/models/$name.jn" \
                --json "$rec" --quiet
        done
    done
done
