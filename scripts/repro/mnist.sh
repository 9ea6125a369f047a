#!/bin/sh
# MNIST and binarized MNIST rows of Table 1 (docs/RESULTS.md): one run per
# model and data set with settings fixed in advance (the report's: 784-1000-10,
# batch 20, lr 0.1, patience 15, noise std 0.1; the penalty weights chosen on
# USPS's validation split: docs/results/usps/final/selection.json), so
# nothing here is selected on the test set. A model whose record exists is
# skipped; a killed run resumes from its checkpoint (docs/results/DATASET/
# final/MODEL-seed1.jnc, not committed). Each run takes 10 minutes to hours
# on one core.   scripts/repro/mnist.sh DATASET MODEL [MODEL...]
set -eu
J=${JACNET:-build/bin/jacnet}
ds=$1; shift
out=docs/results/$ds/final
mkdir -p "$out" "$out/models"
for model in "$@"; do
    rec=$out/$model-seed1.json
    # A complete record (finished or diverged) ends a model; a stopped one
    # (Ctrl-C, a killed session) is redone from its checkpoint.
    if [ -f "$rec" ] && grep -q '"complete": 1' "$rec"; then echo "$rec complete: skipped"; continue; fi
    case $model in
    mlp|noise) extra= ;;
    l2) extra="--lambda ${L2:-0.00001}" ;;
    jacobian|nj|nj-both) extra="--lambda ${LAMBDA:-0.3}" ;;
    esac
    $J train --dataset "$ds" --model "$model" $extra --hidden 1000 --batch 20 --lr 0.1 --epochs 300 \
        --patience 15 --noise-std 0.1 --seed 1 --threads 1 \
        --checkpoint "$out/$model-seed1.jnc" --save "$out/models/$model-seed1.jn" --json "$rec"
done
