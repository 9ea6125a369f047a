#!/usr/bin/env python3
"""Join the records of one `jacnet train` run that was stopped and resumed
by a tool older than the record joining of `jacnet train --checkpoint`
(cli/resume.c): the earlier record lists epochs 1..s, the resumed one
s+1..end. The joined record is what the current tool writes: the earlier
epochs, then the later record with first_epoch 1, resumed_at_epoch s+1,
epochs_run and total_seconds of the whole run.

    join_records.py EARLIER.json LATER.json -o JOINED.json

Both must be records of the same run: the same configuration (checkpoint
file included), contiguous epochs, the earlier one not complete.
"""
import argparse
import json
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("earlier")
    ap.add_argument("later")
    ap.add_argument("-o", "--out", required=True)
    a = ap.parse_args()
    early, late = json.load(open(a.earlier)), json.load(open(a.later))
    if early["config"] != late["config"] or early["sizes"] != late["sizes"]:
        sys.exit("join_records.py: the two records are of different runs (configurations differ)")
    if early.get("complete"):
        sys.exit("join_records.py: the earlier record is complete: nothing was resumed")
    kept = [e for e in early["epochs"] if e["epoch"] < late["epochs"][0]["epoch"]]
    numbers = [e["epoch"] for e in kept + late["epochs"]]
    if numbers != list(range(1, len(numbers) + 1)):
        sys.exit("join_records.py: the epochs do not run 1..N without a gap: %s" % numbers[:3])
    joined = dict(late)
    joined["epochs"] = kept + late["epochs"]
    joined["epochs_run"] = len(joined["epochs"])
    joined["first_epoch"] = 1
    joined["resumed_at_epoch"] = late["epochs"][0]["epoch"]
    joined["recoveries"] = early.get("recoveries", 0) + late.get("recoveries", 0)
    joined["total_seconds"] = early["total_seconds"] + late["total_seconds"]
    joined["joined_from"] = [early["command"], late["command"]]
    with open(a.out, "w") as f:
        json.dump(joined, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
