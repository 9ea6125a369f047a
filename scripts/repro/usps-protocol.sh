#!/bin/sh
# USPS on the report's protocol (issue 24, item 2): a validation-only search
# over the space the report states (section 8: 400 to 1000 hidden units per
# layer, one or more hidden layers, learning rates 0.1 to 0.001), plus the
# input scale ([0, 1] as loaded, or the files' own [-1, 1]). The rest is
# the protocol of the current USPS rows (usps-sweep.sh): seed 1, batch 20,
# at most 200 epochs, early stopping with patience 15, one thread, the
# 5291/2000 split; the test set is never read here.
#
# Stage 1, coarse: the MLP alone, widths {400, 700, 1000}, one layer or two
# of equal width, lr {0.1, 0.03, 0.01}, scale {01, pm1}: 36 runs.
#
# Stage 2, the regularized models over the same architectures and scales,
# pruned (docs/RESULTS.md says why): lr 0.1 only, the rate the MLP selected
# at every architecture and scale of stage 1; each model's penalty weight
# and noise std at the current selections (usps-sweep.sh), given at pm1 in
# the units of the [0, 1] data: the inputs are twice as spread, so the same
# noise is twice the std and the same Jacobian penalty four times the
# weight (||dF/dx'||^2 = ||dF/dx||^2 / 4 for x' = 2x - 1). The weight decay
# (l2) is not rescaled: it acts on every layer, only the first sees the
# inputs. N+J first, the row with the target; one-layer nets first.
#
# Stage 3, fine: around each regularized model's selection after stage 2
# (its architecture and scale), the penalty weight and noise std one step
# either side (x0.5, x2; weight decay x0.1, x10): protocol_stages.py fine.
# The MLP has nothing left to refine (lr 0.1, the report's largest, won).
# Where a selection then sits at the edge of its weights or stds, one more
# step beyond it (protocol_stages.py edge), so no selection is an edge.
#
# Stage 4: the selected point of each model (final.py: lowest validation
# error, ties to fewer parameters) with seeds 1, 2, 3, the test set read
# once per model and seed: DIR/final/.
#
# Stage 5: the variant retrained on all 7291 training digits for the
# selected run's best epoch, no early stopping (protocol_stages.py all7291):
# DIR/all7291/, a row of its own, never a selection criterion.
#
# Resumable at any moment: `jacnet sweep --checkpoints` skips finished
# points and resumes a stopped one from its last epoch. Each invocation
# appends the machine (CPU, OpenBLAS kernel) to DIR/machine.txt. Run it
# niced on a shared machine:
#   JACNET_DATA=/path/to/data nice -n 19 scripts/repro/usps-protocol.sh [extra jacnet sweep options]
set -eu
J=${JACNET:-build/bin/jacnet}
R=${RESULTS:-docs/results/usps/protocol}
mkdir -p "$R"
{ echo "--- $0 $*"; sh "$(dirname "$0")/machine.sh" "$J"; } >> "$R/machine.txt"
common="--dataset usps --results $R --momentum 0 --batch 20 --epochs 200 --patience 15 --threads 1 --checkpoints --quiet"
# Stage 1
$J sweep $common --model mlp --hidden 400,700,1000,400x400,700x700,1000x1000 --lr 0.1,0.03,0.01 --input-scale 01,pm1 "$@"
# Stage 2: one-layer nets first for every model (the report's USPS nets had
# one layer), then two layers.
for a in 400,700,1000 400x400,700x700,1000x1000; do
    $J sweep $common --model nj --hidden $a --lr 0.1 --lambda 0.3 --noise-std 0.1 --input-scale 01 "$@"
    $J sweep $common --model nj --hidden $a --lr 0.1 --lambda 1.2 --noise-std 0.2 --input-scale pm1 "$@"
    $J sweep $common --model jacobian --hidden $a --lr 0.1 --lambda 0.3 --input-scale 01 "$@"
    $J sweep $common --model jacobian --hidden $a --lr 0.1 --lambda 1.2 --input-scale pm1 "$@"
    $J sweep $common --model noise --hidden $a --lr 0.1 --noise-std 0.3 --input-scale 01 "$@"
    $J sweep $common --model noise --hidden $a --lr 0.1 --noise-std 0.6 --input-scale pm1 "$@"
    $J sweep $common --model l2 --hidden $a --lr 0.1 --lambda 0.00001 --input-scale 01,pm1 "$@"
done
# Stage 3
py=${PYTHON:-python3}
for m in nj jacobian noise l2; do
    $J sweep $common $($py "$(dirname "$0")/protocol_stages.py" fine $m "$R") "$@"
done
for m in nj jacobian noise l2; do
    $py "$(dirname "$0")/protocol_stages.py" edge $m "$R" | while read -r opts; do $J sweep $common $opts "$@"; done
done
# Stage 4
$py "$(dirname "$0")/final.py" --dataset usps --sweep "$R" --out "$R/final" --seeds 1,2,3 --jacnet "$J"
# Stage 5
$py "$(dirname "$0")/protocol_stages.py" all7291 --jacnet "$J" --seeds 1,2,3 "$R" "$R/all7291"
