#!/bin/sh
# Issue 23, part 4: the selected MNIST N+J model (docs/results/mnist/final/
# nj-seed1.json: 784-1000-1000-10, lr 0.1, momentum 0, lambda 0.3, noise
# 0.1) trained with the penalty's products in bfloat16, to compare with the
# float32 record of the same seed. JACNET_FORCE_BF16=1 takes bfloat16
# whatever the library's measurement would choose: at this batch (20) the
# measurement chose float32 on a loaded Zen 5 (a first run with --precision auto ran
# float32 and retraced the float32 record for the 17 epochs it ran; it was stopped
# and its record not kept), and the question
# here is bfloat16's accuracy, not its speed. The record's "precision_used"
# says what ran. Checkpointed: a killed run resumes.
#   [JACNET=...] scripts/repro/mnist-bf16.sh [SEED...]
set -eu
J=${JACNET:-build/bin/jacnet}
out=docs/results/mnist/bf16
mkdir -p "$out/models"
for seed in ${@:-1}; do
    rec=$out/nj-seed$seed.json
    if [ -f "$rec" ] && grep -q '"complete": 1' "$rec"; then echo "$rec complete: skipped"; continue; fi
    JACNET_FORCE_BF16=${JACNET_FORCE_BF16:-1} $J train --dataset mnist --model nj --hidden 1000x1000 --lr 0.1 --momentum 0 --batch 20 --epochs 300 \
        --patience 15 --seed "$seed" --threads 1 --lambda 0.3 --noise-std 0.1 --precision bf16 \
        --checkpoint "$out/nj-seed$seed.jnc" --save "$out/models/nj-seed$seed.jn" --json "$rec" --quiet
done
