#!/usr/bin/env bash
# tests/mpi/run.sh BUILD - the MPI tests of issue 14 (make check-mpi).
#   (a)+(d) train_equal with 1, 2 and 4 ranks: parameters equal a
#           single-process run with the same global batch and noise;
#           unequal and empty shares; float targets (issue 22)
#   (b)     sweep: 4 grid points over 2 and 4 ranks give the serial records;
#           resuming runs only the points not done; a failed point
#   (c)     fail: a bad file on one rank, a rank that calls abort(), a rank
#           failing alone mid-run, different data; the job must end with a
#           message within LIMIT seconds (mpirun under `timeout`, so a hang
#           fails the test instead of blocking CI)
#   example build/examples/mpi_train --quick on 2 ranks
#   cli     the jacnet tool on a synthetic CSV: `sweep --mpi` on 2 ranks
#           writes the serial sweep's records and models, and resumes;
#           `train --mpi` on 2 ranks gives the serial run's result (to float
#           tolerance, same global batch, unequal shares), with the noise
#           the sharded 1-rank run draws; `train --mpi --checkpoint` killed
#           mid-way and resumed gives the uninterrupted run's model bit for
#           bit; a missing file ends it at once
# MPIRUN is the launcher with its flags (mk/mpi.mk adds --oversubscribe and,
# as root, --allow-run-as-root).
set -u
build=${1:-build}
MPIRUN=${MPIRUN:-mpirun --oversubscribe}
LIMIT=${LIMIT:-20}   # seconds a failing job may take to end (startup ~1-2 s here)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/jacnet-mpi.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# run NAME NP TIMEOUT PROGRAM ARGS...: output in $tmp/NAME.out, status in $rc, seconds in $secs
run() {
  local name=$1 np=$2 limit=$3; shift 3
  local t0 t1
  t0=$(date +%s%N)
  timeout --kill-after=5 "$limit" $MPIRUN -np "$np" "$@" > "$tmp/$name.out" 2>&1
  rc=$?
  t1=$(date +%s%N)
  secs=$(( (t1 - t0) / 1000000000 ))
  if [ $rc = 124 ] || [ $rc = 137 ]; then
    echo "--- $name: still running after ${limit}s (hang)"; tail -20 "$tmp/$name.out"
  fi
}

# ---- (a), (d) ----
for np in 1 2 4; do
  run equal$np $np 120 "$build/tests/mpi/train_equal"
  if [ $rc = 0 ]; then grep '^ok' "$tmp/equal$np.out"
  else fail "train_equal on $np ranks (exit $rc)"; tail -20 "$tmp/equal$np.out"; fi
done

# ---- (b) ----
run serial 1 120 "$build/tests/mpi/sweep" "$tmp/serial.txt" serial
[ $rc = 0 ] || { fail "serial sweep (exit $rc)"; cat "$tmp/serial.out"; }
for np in 2 4; do
  run sweep$np $np 120 "$build/tests/mpi/sweep" "$tmp/sweep$np.txt" mpi
  if [ $rc != 0 ]; then fail "sweep on $np ranks (exit $rc)"; cat "$tmp/sweep$np.out"
  elif ! cmp -s "$tmp/serial.txt" "$tmp/sweep$np.txt"; then
    fail "sweep on $np ranks: records differ from the serial sweep"; diff "$tmp/serial.txt" "$tmp/sweep$np.txt"
  else echo "ok sweep on $np ranks: the serial sweep's $(wc -l < "$tmp/serial.txt") records"; fi
done
[ "$(wc -l < "$tmp/serial.txt")" = 4 ] || fail "the serial sweep wrote $(wc -l < "$tmp/serial.txt") records, not 4"
# Rank 0 slow: the workers' records arrive while it trains its own points.
run slow0 2 60 "$build/tests/mpi/sweep" "$tmp/slow0.txt" slow0
if [ $rc != 0 ]; then fail "sweep with a slow rank 0 (exit $rc)"; cat "$tmp/slow0.out"
elif ! cmp -s "$tmp/serial.txt" "$tmp/slow0.txt"; then
  fail "sweep with a slow rank 0: records differ from the serial sweep"; diff "$tmp/serial.txt" "$tmp/slow0.txt"
else echo "ok sweep with a slow rank 0: the serial sweep's records"; fi
run resume 2 120 "$build/tests/mpi/sweep" "$tmp/resume.txt" resume
if [ $rc != 0 ]; then fail "resumed sweep (exit $rc)"; cat "$tmp/resume.out"
elif ! grep -E '^point=(1|3) ' "$tmp/serial.txt" | cmp -s - "$tmp/resume.txt"; then
  fail "resumed sweep: expected the serial records of points 1 and 3"; cat "$tmp/resume.txt"
else echo "ok resumed sweep: only points 1 and 3, as in the serial sweep"; fi
run sweepfail 2 120 "$build/tests/mpi/sweep" "$tmp/sweepfail.txt" fail
if [ $rc != 0 ]; then fail "sweep with a failing point (exit $rc)"; cat "$tmp/sweepfail.out"
elif [ "$(grep -v FAILED "$tmp/sweepfail.txt")" != "$(grep -v '^point=2 ' "$tmp/serial.txt")" ] ||
     ! grep -q '^FAILED planted failure at point 2' "$tmp/sweepfail.txt"; then
  fail "sweep with a failing point: wrong records"; cat "$tmp/sweepfail.txt"
else echo "ok sweep with a failing point: reported, the other 3 records intact"; fi

# ---- (c) ----
# expect NAME MODE WANT_RC PATTERN: the job ends within LIMIT s with status
# WANT_RC ("nonzero" for any failure) and PATTERN in its output.
expect() {
  local name=$1 mode=$2 want=$3 pattern=$4
  run "$name" 2 "$LIMIT" "$build/tests/mpi/fail" "$tmp" "$mode"
  if [ $rc = 124 ] || [ $rc = 137 ]; then fail "$name: the job hung"; return; fi
  if [ "$want" = nonzero ] && [ $rc = 0 ]; then fail "$name: exit 0, expected a failure"; return; fi
  if [ "$want" != nonzero ] && [ $rc != "$want" ]; then fail "$name: exit $rc, expected $want"; cat "$tmp/$name.out"; return; fi
  if ! grep -q -- "$pattern" "$tmp/$name.out"; then
    fail "$name: no message matching '$pattern'"; cat "$tmp/$name.out"; return
  fi
  echo "ok $name: ended in ${secs}s (exit $rc): $(grep -m1 -- "$pattern" "$tmp/$name.out")"
}
expect badfile badfile nonzero "rank 0: loading the data failed: rank 1: cannot open '.*missing.csv'"
expect abort abort nonzero "process rank 1 .* exited on signal 6"
expect objective objective nonzero "fail: rank 0: jn_mpi_train: rank 1: jn_net_objective: cross-entropy needs softmax"
expect otherdata otherdata nonzero "rank 0: jn_mpi_train: the ranks' training sets differ"
expect diverge diverge 0 "every rank returned: .*not finite at step 0"
expect drift drift 0 "every rank returned: .*parameters differ after epoch 2"

# ---- example ----
if [ -x "$build/examples/mpi_train" ]; then
  run example 2 120 "$build/examples/mpi_train" --quick
  if [ $rc = 0 ] && grep -q "test error" "$tmp/example.out"; then
    echo "ok example: $(grep "test error" "$tmp/example.out")"
  else fail "examples/mpi_train --quick on 2 ranks (exit $rc)"; cat "$tmp/example.out"; fi
fi

# ---- the jacnet tool ----
jacnet=$build/bin/jacnet
if [ -x "$jacnet" ] && command -v python3 >/dev/null; then
  # ROWS examples of DIM features in [0, 1) from an LCG seeded with SEED; the
  # label is which of the first three features is largest.
  lcg_csv() {
    awk -v rows="$1" -v dim="$2" -v s="$3" 'BEGIN {
      for (i = 0; i < rows; i++) {
        line = ""; best = 0
        for (j = 0; j < dim; j++) {
          s = (s * 1103515245 + 12345) % 2147483648; v[j] = s / 2147483648
          line = line "," sprintf("%.6f", v[j])
        }
        if (v[1] > v[best]) best = 1
        if (v[2] > v[best]) best = 2
        print best line
      } }'
  }
  lcg_csv 300 8 12345 > "$tmp/cli.csv"
  data="--train $tmp/cli.csv --valid-fraction 0.2 --threads 1"

  # sweep: 4 points (2 widths x 2 weights); --threads 1 on both sides, so
  # that the records' configurations agree (1 is --mpi's default).
  grid="$data --model nj --hidden 6,10 --lambda 0.01,0.1 --epochs 6 --batch 16 --lr 0.5 --quiet"
  # records without their timing fields
  untimed() { grep -v '"seconds"\|"total_seconds"' "$1"; }
  # same_records DIR: DIR's records and models equal the serial sweep's
  same_records() {
    local d=$1 f n=0
    for f in "$tmp/cli-serial"/*.json; do
      n=$((n + 1))
      [ -f "$d/${f##*/}" ] && [ "$(untimed "$f")" = "$(untimed "$d/${f##*/}")" ] || { echo "record ${f##*/} differs"; return 1; }
    done
    for f in "$tmp/cli-serial"/models/*.jn; do
      cmp -s "$f" "$d/models/${f##*/}" || { echo "model ${f##*/} differs"; return 1; }
    done
    [ $n = 4 ] && [ "$(ls "$d"/*.json | wc -l)" = 4 ] || { echo "$n serial records, $(ls "$d"/*.json | wc -l) here"; return 1; }
  }
  timeout 120 "$jacnet" sweep $grid --results "$tmp/cli-serial" > "$tmp/cli-serial.out" 2>&1 ||
    { fail "serial jacnet sweep"; cat "$tmp/cli-serial.out"; }
  run clisweep 2 120 "$jacnet" sweep --mpi $grid --results "$tmp/cli-mpi"
  if [ $rc != 0 ]; then fail "jacnet sweep --mpi on 2 ranks (exit $rc)"; cat "$tmp/clisweep.out"
  elif ! same_records "$tmp/cli-mpi"; then fail "jacnet sweep --mpi: not the serial sweep's records"
  elif [ "$(grep -c '^\[[1-4]/4\] .*: valid' "$tmp/clisweep.out")" != 4 ]; then
    fail "jacnet sweep --mpi: expected one line per point"; cat "$tmp/clisweep.out"
  else echo "ok jacnet sweep --mpi on 2 ranks: the serial sweep's 4 records (timing aside) and models"; fi
  # A rerun trains nothing; after losing two records it trains those two.
  sums=$(cd "$tmp/cli-mpi" && md5sum *.json models/*.jn)
  run clisweep2 2 120 "$jacnet" sweep --mpi $grid --results "$tmp/cli-mpi"
  if [ $rc != 0 ] || [ "$(grep -c 'done before' "$tmp/clisweep2.out")" != 4 ] ||
     [ "$sums" != "$(cd "$tmp/cli-mpi" && md5sum *.json models/*.jn)" ]; then
    fail "jacnet sweep --mpi rerun: expected 4 points done before, nothing rewritten (exit $rc)"; cat "$tmp/clisweep2.out"
  else echo "ok jacnet sweep --mpi rerun: all 4 points done before, no file rewritten"; fi
  rm "$tmp/cli-mpi"/nj_h6_*_l0.1_*.json "$tmp/cli-mpi"/nj_h10_*_l0.01_*.json
  run clisweep3 2 120 "$jacnet" sweep --mpi $grid --results "$tmp/cli-mpi"
  if [ $rc != 0 ] || [ "$(grep -c 'done before' "$tmp/clisweep3.out")" != 2 ] ||
     [ "$(grep -c ': valid' "$tmp/clisweep3.out")" != 2 ] || ! same_records "$tmp/cli-mpi"; then
    fail "jacnet sweep --mpi resume: expected 2 points retrained into the serial records (exit $rc)"; cat "$tmp/clisweep3.out"
  else echo "ok jacnet sweep --mpi resume: the 2 lost points retrained, records as the serial sweep's"; fi

  # train: 240 training rows in global batches of 15 (8 + 7 rows per rank).
  # Without noise (jacobian) the serial run draws nothing the sharded one
  # draws differently, so 2 ranks must give its result; with noise (nj) the
  # reference is the sharded 1-rank run (noise keyed by example index).
  args="$data --test $tmp/cli.csv --hidden 10 --epochs 6 --batch 15 --lr 0.5 --patience 0 --lambda 0.05"
  # compare A B: best validation and test errors within one example, epoch
  # objectives within 1e-4 relative, parameters within 1e-4
  compare() {
    python3 - "$1" "$2" <<'PY'
import json, struct, sys
a, b = (json.load(open(p + ".json")) for p in sys.argv[1:])
def params(path):
    data = open(path, "rb").read()
    n = struct.unpack_from("<I", data, 20)[0]
    count = struct.unpack_from("<Q", data, 24 + 8 * n)[0]
    return struct.unpack_from("<%df" % count, data, 32 + 8 * n)
bad = []
for key, tol in (("best_valid_error", 1.01 / 60), ("test_error", 1.01 / 300)):
    if abs(a[key] - b[key]) > tol: bad.append("%s %g vs %g" % (key, a[key], b[key]))
oa, ob = ([e["train_objective"] for e in r["epochs"]] for r in (a, b))
if len(oa) != len(ob) or any(abs(x - y) > 1e-4 * abs(x) for x, y in zip(oa, ob)):
    bad.append("objectives %s vs %s" % (oa, ob))
pa, pb = params(sys.argv[1] + ".jn"), params(sys.argv[2] + ".jn")
diff = max(abs(x - y) for x, y in zip(pa, pb)) if len(pa) == len(pb) else float("inf")
if diff > 1e-4: bad.append("parameters differ by %g" % diff)
if bad: sys.exit("; ".join(bad))
print("valid %.4f test %.4f, %d epochs, %d parameters within %.1e" % (a["best_valid_error"], a["test_error"], len(oa), len(pa), diff))
PY
  }
  out=$tmp/cli-train
  timeout 120 "$jacnet" train $args --model jacobian --quiet --json "$out-serial.json" --save "$out-serial.jn" \
    > "$tmp/clitrain-serial.out" 2>&1 || { fail "serial jacnet train"; cat "$tmp/clitrain-serial.out"; }
  run clitrain2 2 120 "$jacnet" train --mpi $args --model jacobian --json "$out-2.json" --save "$out-2.jn"
  if [ $rc != 0 ]; then fail "jacnet train --mpi on 2 ranks (exit $rc)"; cat "$tmp/clitrain2.out"
  elif [ "$(grep -c '^epoch' "$tmp/clitrain2.out")" != 6 ] || [ "$(grep -c '^test error' "$tmp/clitrain2.out")" != 1 ]; then
    fail "jacnet train --mpi: expected rank 0's 6 epoch lines and one test error"; cat "$tmp/clitrain2.out"
  elif msg=$(compare "$out-serial" "$out-2" 2>&1); then echo "ok jacnet train --mpi on 2 ranks = serial jacnet train: $msg"
  else fail "jacnet train --mpi on 2 ranks differs from serial jacnet train: $msg"; fi
  run clitrain1 1 120 "$jacnet" train --mpi $args --model nj --quiet --json "$out-nj1.json" --save "$out-nj1.jn"
  [ $rc = 0 ] || { fail "jacnet train --mpi on 1 rank (exit $rc)"; cat "$tmp/clitrain1.out"; }
  run clitrain2nj 2 120 "$jacnet" train --mpi $args --model nj --quiet --json "$out-nj2.json" --save "$out-nj2.jn"
  if [ $rc != 0 ]; then fail "jacnet train --mpi --model nj on 2 ranks (exit $rc)"; cat "$tmp/clitrain2nj.out"
  elif msg=$(compare "$out-nj1" "$out-nj2" 2>&1); then echo "ok jacnet train --mpi --model nj: 2 ranks = 1 rank: $msg"
  else fail "jacnet train --mpi --model nj: 2 ranks differ from 1 rank: $msg"; fi

  # --checkpoint under --mpi: rank 0 writes the file, every rank resumes
  # from it. A 2-rank run interrupted after its 3rd epoch and resumed must
  # end with the uninterrupted 2-rank run's model, bit for bit: (kill) both
  # ranks killed (SIGKILL: nobody saves on the way out, the checkpoint is
  # the last epoch's); (int) SIGINT to one rank alone, which every rank must
  # then agree on: they stop at the same minibatch and rank 0 saves the
  # epoch in progress. 2000 rows of 16 features, noise on both inputs
  # (per-example streams), blow-up recovery on.
  lcg_csv 2000 16 777 > "$tmp/big.csv"
  ck="--train $tmp/big.csv --valid-fraction 0.2 --test $tmp/big.csv --threads 1 --hidden 128 --model nj-both
      --lambda 0.05 --noise-std 0.1 --epochs 30 --batch 20 --lr 0.3 --patience 0 --recovery"
  run clickfull 2 300 "$jacnet" train --mpi $ck --checkpoint "$tmp/full.jnc" --save "$tmp/full.jn"
  [ $rc = 0 ] || { fail "jacnet train --mpi --checkpoint, uninterrupted (exit $rc)"; cat "$tmp/clickfull.out"; }
  # children PID: the processes whose parent is PID
  children() { ps -o pid= --ppid "$1" | tr -d ' '; }
  command -v ps >/dev/null || echo "SKIP the interrupted --checkpoint runs (no ps)"
  for how in $(command -v ps >/dev/null && echo kill int); do
    timeout --kill-after=5 300 $MPIRUN -np 2 "$jacnet" train --mpi $ck --checkpoint "$tmp/$how.jnc" \
      --save "$tmp/$how.jn" > "$tmp/click$how.out" 2>&1 &
    pid=$!
    for _ in $(seq 3000); do grep -q '^epoch   3 ' "$tmp/click$how.out" && break; sleep 0.02; done
    # timeout's child is mpirun, whose children are the ranks
    mpi=$(children $pid)
    ranks=$(children "${mpi:-0}")
    if [ $how = kill ]; then kill -KILL $ranks; else kill -INT $(echo $ranks | cut -d' ' -f1); fi
    wait $pid
    wrc=$?
    if [ $wrc = 124 ] || { [ $how = int ] && [ $wrc = 137 ]; }; then fail "jacnet train --mpi --checkpoint ($how): hung after the signal"; fi
    done_epochs=$(grep -c '^epoch ' "$tmp/click$how.out")
    run clickresume$how 2 300 "$jacnet" train --mpi $ck --checkpoint "$tmp/$how.jnc" --save "$tmp/$how.jn"
    first=$(grep -m1 '^epoch ' "$tmp/clickresume$how.out" | awk '{print $2}')
    if [ "$done_epochs" -lt 3 ] || [ "$done_epochs" -ge 30 ] || ! grep -q "^epoch  30 " "$tmp/clickfull.out" ||
       { [ $how = kill ] && grep -q '^test error' "$tmp/click$how.out"; } ||
       { [ $how = int ] && ! grep -q '^jacnet train: stopped' "$tmp/click$how.out"; }; then
      fail "jacnet train --mpi --checkpoint ($how): the run was not interrupted mid-way ($done_epochs epochs)"
      cat "$tmp/click$how.out"
    elif [ $rc != 0 ] || ! grep -q "^resuming from $tmp/$how.jnc" "$tmp/clickresume$how.out" || [ -z "$first" ] ||
         [ "$first" -lt 3 ] || [ "$first" -gt $((done_epochs + 1)) ]; then
      fail "jacnet train --mpi --checkpoint ($how): no resume after epoch $done_epochs (exit $rc, first epoch '$first')"
      cat "$tmp/clickresume$how.out"
    elif ! cmp -s "$tmp/full.jn" "$tmp/$how.jn" ||
         [ "$(grep '^test error' "$tmp/clickfull.out")" != "$(grep '^test error' "$tmp/clickresume$how.out")" ]; then
      fail "jacnet train --mpi --checkpoint ($how): interrupted after $done_epochs epochs and resumed, not the uninterrupted model"
    else
      echo "ok jacnet train --mpi --checkpoint ($how): interrupted after $done_epochs epochs, resumed at epoch $first, the uninterrupted model bit for bit"
    fi
  done

  # A missing file: every rank fails to load; rank 0 alone says so.
  run climissing 2 "$LIMIT" "$jacnet" train --mpi --train "$tmp/missing.csv" --model mlp
  if [ $rc = 124 ] || [ $rc = 137 ]; then fail "jacnet train --mpi on a missing file: the job hung"
  elif [ $rc = 0 ] || [ "$(grep -c "cannot load $tmp/missing.csv" "$tmp/climissing.out")" != 1 ]; then
    fail "jacnet train --mpi on a missing file: expected a failure and one message (exit $rc)"; cat "$tmp/climissing.out"
  else echo "ok jacnet train --mpi on a missing file: ended in ${secs}s (exit $rc): $(grep -m1 'cannot load' "$tmp/climissing.out")"; fi
else
  echo "SKIP the jacnet tool's --mpi tests (no $jacnet or no python3)"
fi

if [ $failures = 0 ]; then echo "check-mpi: all passed"; else echo "check-mpi: $failures FAILED"; exit 1; fi
