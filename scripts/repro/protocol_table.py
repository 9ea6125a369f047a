#!/usr/bin/env python3
"""The USPS protocol search (usps-protocol.sh) as tables of validation
errors, from its records alone; the test set is never read here.

For each model: one row per architecture (hidden widths) and input scale,
one column per learning rate, each cell the validation error % (best epoch
/ epochs run); then the point final.py selects (the lowest validation
error; ties: fewer parameters, then first by name), which final.py would
retrain with more seeds, and the points tied with it. Records that are not
complete are listed as pending.

  protocol_table.py [DIR]        (default docs/results/usps/protocol)
  protocol_table.py --compact LR [DIR]   one table, a row per model, a
      column per architecture, each cell "[0, 1] / [-1, 1]" at rate LR
"""
import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from final import param_count, selected  # noqa: E402  (the same rule, not a copy)


def load(d):
    done, pending = [], []
    for path in sorted(glob.glob(os.path.join(d, "*.json"))):
        rec = json.load(open(path))
        name = os.path.basename(path)[:-5]
        if rec.get("complete") and rec.get("best_valid_error") is not None:
            done.append((name, rec))
        else:
            pending.append((name, rec.get("status")))
    return done, pending


def width_key(hidden):
    ws = tuple(int(w) for w in hidden.replace("x", ",").split(","))
    return (len(ws), ws)


def compact(done, lr):
    recs = [r for _, r in done if r["config"]["lr"] == lr]
    archs = sorted({r["config"]["hidden"] for r in recs}, key=width_key)
    order = ["mlp", "l2", "noise", "jacobian", "nj", "nj-both"]
    models = sorted({r["config"]["model"] for r in recs}, key=lambda m: (order.index(m) if m in order else 99, m))
    print("| model | " + " | ".join(archs) + " |")
    print("|---|" + "---|" * len(archs))
    for m in models:
        cells = []
        for a in archs:
            def cell(scale):
                hit = [r for r in recs if r["config"]["model"] == m and r["config"]["hidden"] == a
                       and r["config"].get("input_scale", "01") == scale]
                return "/".join("%.2f" % (100 * r["best_valid_error"]) for r in hit) or "-"
            cells.append("%s / %s" % (cell("01"), cell("pm1")))
        print("| %s | %s |" % (m, " | ".join(cells)))


def main():
    args = sys.argv[1:]
    lr = None
    if args[:1] == ["--compact"]:
        lr, args = float(args[1]), args[2:]
    d = args[0] if args else "docs/results/usps/protocol"
    done, pending = load(d)
    if lr is not None:
        compact(done, lr)
        return
    models = sorted({r["config"]["model"] for _, r in done})
    for m in models:
        recs = [(n, r) for n, r in done if r["config"]["model"] == m]
        lrs = sorted({r["config"]["lr"] for _, r in recs}, reverse=True)
        key = lambda r: (tuple(int(w) for w in r["config"]["hidden"].replace("x", ",").split(",")),  # noqa: E731
                         r["config"]["hidden"], r["config"].get("input_scale", "01"))
        rows = sorted({key(r) for _, r in recs}, key=lambda k: (len(k[0]), k[0], k[2]))
        print("\n%s: validation error %% (best epoch / epochs run), seed 1\n" % m)
        print("| hidden | scale | " + " | ".join("lr %g" % lr for lr in lrs) + " |")
        print("|---|---|" + "---|" * len(lrs))
        for row in rows:
            cells = []
            for lr in lrs:
                hit = [r for _, r in recs if key(r) == row and r["config"]["lr"] == lr]
                if not hit:
                    cells.append("")
                    continue
                cells.append("; ".join("%.2f (%d/%d)" % (100 * r["best_valid_error"], r["best_epoch"], r["epochs_run"])
                                       for r in hit))
            print("| %s | %s | %s |" % (row[1], {"01": "[0, 1]", "pm1": "[-1, 1]"}[row[2]], " | ".join(cells)))
        rec, name = selected(d)[m]
        ties = [n for n, r in recs if r["best_valid_error"] == rec["best_valid_error"] and n != name]
        print("\nselected (validation only): %s, %.2f%% at epoch %d, %d parameters%s" % (
            name, 100 * rec["best_valid_error"], rec["best_epoch"], param_count(rec),
            "" if not ties else "; tied with %s (%s parameters)" % (
                ", ".join(ties), ", ".join(str(param_count(r)) for n, r in recs if n in ties))))
        hours = sum(r["total_seconds"] for _, r in recs) / 3600
        print("%d runs, %.2f hours of one core in all" % (len(recs), hours))
    if pending:
        print("\npending (not complete): " + ", ".join("%s (%s)" % p for p in pending))


if __name__ == "__main__":
    main()
