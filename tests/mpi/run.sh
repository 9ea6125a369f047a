#!/usr/bin/env bash
# tests/mpi/run.sh BUILD - the MPI tests of issue 14 (make check-mpi).
#   (a)+(d) train_equal with 1, 2 and 4 ranks: parameters equal a
#           single-process run with the same global batch and noise;
#           unequal and empty shares
#   (b)     sweep: 4 grid points over 2 and 4 ranks give the serial records;
#           resuming runs only the points not done; a failed point
#   (c)     fail: a bad file on one rank, a rank that calls abort(), a rank
#           failing alone mid-run, different data; the job must end with a
#           message within LIMIT seconds (mpirun under `timeout`, so a hang
#           fails the test instead of blocking CI)
#   example build/examples/mpi_train --quick on 2 ranks
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
expect objective objective nonzero "jacnet-mpi: rank 1: jn_trainer_run: jn_net_objective: cross-entropy needs softmax"
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

if [ $failures = 0 ]; then echo "check-mpi: all passed"; else echo "check-mpi: $failures FAILED"; exit 1; fi
