#!/bin/sh
# The report's rectifier claim on USPS (issue 24, item 3): "Rectifying
# units (max(0, x)) ... seemed to benefit less from the added noise to the
# input than from the regularization term alone, they achieved a test
# classification performance of 4.8%". The same protocol as the tanh column
# (usps-protocol.sh: seed 1, batch 20, momentum 0, at most 200 epochs,
# patience 15, one thread, validation only until stage 3), with ReLU hidden
# units and the report's sigmoid outputs and squared error.
#
# Stage R1: the MLP over the report's space, at [-1, 1] (the scale every
# tanh model but + Noise selected, and by at most 0.1 point for it):
# widths {400, 700, 1000}, one or two layers, lr {0.1, 0.03, 0.01}: 18 runs.
# Stage R2: + Jacobian, + Noise and N+J at the ReLU MLP's selected
# architecture and rate, the penalty weight {0.3, 1.2, 4.8} and noise std
# {0.1, 0.2, 0.4} (units of the [-1, 1] inputs), around tanh's selections.
# Edge: where a selection sits at the largest or smallest weight or std of
# its grid, one more step beyond it (protocol_stages.py edge), as the tanh
# protocol did; repeated while the new point wins again (at most 3 steps),
# so no selection is left at an edge.
# Stage R3: each model's selected point with seeds 1, 2, 3, tested once
# (final.py), in DIR/final/.
# Resumable (sweep --checkpoints; final.py skips finished records):
#   JACNET_DATA=/path/to/data nice -n 19 scripts/repro/usps-relu.sh
set -eu
J=${JACNET:-build/bin/jacnet}
R=${RESULTS:-docs/results/usps/relu}
py=${PYTHON:-python3}
here=$(dirname "$0")
mkdir -p "$R"
{ echo "--- $0 $*"; sh "$here/machine.sh" "$J"; } >> "$R/machine.txt"
common="--dataset usps --results $R --activation relu --input-scale pm1 --momentum 0 --batch 20 --epochs 200 --patience 15 --threads 1 --checkpoints --quiet"
# Stage R1
$J sweep $common --model mlp --hidden 400,700,1000,400x400,700x700,1000x1000 --lr 0.1,0.03,0.01 "$@"
# Stage R2: the MLP's selection fixes the architecture and the rate.
set -- $($py "$here/protocol_stages.py" fine mlp "$R")
arch="$3 $4 $5 $6"   # --hidden H --lr LR
$J sweep $common $arch --model jacobian --lambda 0.3,1.2,4.8
$J sweep $common $arch --model noise --noise-std 0.1,0.2,0.4
$J sweep $common $arch --model nj --lambda 0.3,1.2,4.8 --noise-std 0.1,0.2,0.4
# Edge
for m in jacobian noise nj; do
    for step in 1 2 3; do
        beyond=$($py "$here/protocol_stages.py" edge $m "$R")
        [ -n "$beyond" ] || break
        echo "$beyond" | while read -r opts; do $J sweep $common $opts; done
    done
done
# Stage R3
$py "$here/final.py" --dataset usps --sweep "$R" --out "$R/final" --seeds 1,2,3 --models mlp,noise,jacobian,nj --jacnet "$J"
