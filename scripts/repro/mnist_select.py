#!/usr/bin/env python3
"""Select the nj row of an MNIST data set from its N+J search (docs/RESULTS.md).

The row was first trained with settings fixed in advance (scripts/repro/
mnist.sh: 784-1000-10, lambda 0.3, noise std 0.1). That run is one point of
the search, so it joins the sweep folder under its grid name (its record
keeps the test error measured when it was the row, with a note saying so);
then final.py selects the point with the lowest validation error among the
complete records and measures the test error of that one model once.

  mnist_select.py DATASET     (mnist or mnist-binary; JACNET_DATA for the test set)

To select again after more points finish, remove final/nj-seed1.json (and
its model) first: final.py keeps a complete record.
"""
import json
import os
import shutil
import subprocess
import sys

FIXED = "nj_h1000_lr0.1_l0.3_s0.1_seed1"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    ds = sys.argv[1]
    base = os.path.join("docs", "results", ds)
    final, sweep = os.path.join(base, "final"), os.path.join(base, "sweep")
    row = os.path.join(final, "nj-seed1.json")
    point = os.path.join(sweep, FIXED + ".json")
    if not os.path.exists(point):
        rec = json.load(open(row))
        cfg = rec["config"]
        if (cfg["hidden"], cfg["lambda"], cfg["noise_std"], cfg["lr"]) != ("1000", 0.3, 0.1, 0.1) or "note" in rec:
            sys.exit("%s is not the run fixed in advance; nothing moved" % row)
        rec["note"] = ("the nj row's run fixed in advance (scripts/repro/mnist.sh), a point of the N+J search "
                       "since; its test error was measured when it was the row")
        os.makedirs(os.path.join(sweep, "models"), exist_ok=True)
        shutil.copyfile(os.path.join(final, "models", "nj-seed1.jn"), os.path.join(sweep, "models", FIXED + ".jn"))
        with open(point, "w") as f:
            json.dump(rec, f, indent=2)
            f.write("\n")
        os.remove(row)
    subprocess.run([sys.executable, "scripts/repro/final.py", "--dataset", ds, "--sweep", sweep, "--out", final,
                    "--seeds", "1", "--models", "nj"], check=True)


if __name__ == "__main__":
    main()
