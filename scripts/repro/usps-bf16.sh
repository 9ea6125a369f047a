#!/bin/sh
# Issue 12, part 4: the selected USPS N+J model (docs/results/usps/final/
# selection.json) trained with the penalty's products in bfloat16, seeds 1-3,
# to compare with the float32 seeds of docs/results/usps/final/nj-seed*.json.
# JACNET_FORCE_BF16=1 takes the bfloat16 path whatever the library's
# measurement would choose (oneDNN must be built in: the record's
# "precision_used" says what ran).
#   scripts/repro/usps-bf16.sh [SEED...]
set -eu
J=${JACNET:-build/bin/jacnet}
out=docs/results/usps/bf16
mkdir -p "$out/models"
for seed in ${@:-1 2 3}; do
    rec=$out/nj-seed$seed.json
    if [ -f "$rec" ] && grep -q '"complete": 1' "$rec"; then echo "$rec complete: skipped"; continue; fi
    JACNET_FORCE_BF16=${JACNET_FORCE_BF16:-1} $J train --dataset usps --model nj --hidden 1000 --lr 0.1 --momentum 0 --batch 20 \
        --epochs 200 --patience 15 --seed "$seed" --threads 1 --lambda 0.3 --noise-std 0.1 --precision bf16 \
        --checkpoint "$out/nj-seed$seed.jnc" --save "$out/models/nj-seed$seed.jn" --json "$rec" --quiet
done
