#!/usr/bin/env python3
"""The later stages of the USPS protocol search (usps-protocol.sh), worked
out from the records of the earlier ones, so that the shell script stays a
list of commands.

  protocol_stages.py fine MODEL [DIR]
      The `jacnet sweep` options of stage 3 for MODEL: its selected
      architecture and input scale (final.py's rule: lowest validation
      error, ties to fewer parameters), and the penalty weight and noise std
      at the selection and one step either side of it (x0.5 and x2; the
      weight decay x0.1 and x10, its grid's step since usps-sweep.sh). The
      centre is already a record, so the sweep skips it.

  protocol_stages.py edge MODEL [DIR]
      After stage 3: where MODEL's selection sits at the largest or the
      smallest penalty weight or noise std run at its architecture and
      scale, the sweep options of one more step beyond it (same factors);
      nothing when the selection is inside its grid.

  protocol_stages.py all7291 [--jacnet J] [--data-dir D] [--seeds 1,2,3] DIR OUT
      The common variant of the protocol that the report may have used: each
      model's selected settings (from DIR/final/selection.json) retrained on
      all 7291 training digits, no validation split and no early stopping,
      for the number of epochs that the selected run stopped at (its best
      epoch), then tested once. One record per model and seed,
      OUT/MODEL-seedS.json (seed 1 unless --seeds says).
      Not a selection criterion: a row of its own beside the selected one.
"""
import argparse
import glob
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from final import MODELS, arch_args, selected  # noqa: E402  (the same rule, not a copy)

STEPS = {"lambda": (0.5, 2.0), "noise_std": (0.5, 2.0)}
L2_STEPS = (0.1, 10.0)  # the weight decay's own grid step (usps-sweep.sh: 1e-5, 1e-4, 1e-3)


def plain(v):
    """A decimal without exponent, as the earlier stages wrote their values
    (the sweep names a run by the value's text: 1e-05 would not find the
    record of 0.00001)."""
    return ("%.10f" % v).rstrip("0").rstrip(".")


def around(value, steps):
    return ",".join(plain(v) for v in sorted({value * steps[0], value, value * steps[1]}))


def fine(model, sweep_dir):
    rec, _ = selected(sweep_dir)[model]
    cfg = rec["config"]
    opts = ["--model", cfg["model"], "--hidden", cfg["hidden"], "--lr", "%g" % cfg["lr"],
            "--input-scale", cfg.get("input_scale", "01")]
    if cfg["model"] == "l2":
        opts += ["--lambda", around(cfg["lambda"], L2_STEPS)]
    elif cfg["model"] != "mlp" and cfg["model"] != "noise":
        opts += ["--lambda", around(cfg["lambda"], STEPS["lambda"])]
    if cfg["model"] in ("noise", "nj", "nj-both"):
        opts += ["--noise-std", around(cfg["noise_std"], STEPS["noise_std"])]
    return opts


def edge(model, sweep_dir):
    rec, _ = selected(sweep_dir)[model]
    cfg = rec["config"]
    same = []
    for path in glob.glob(os.path.join(sweep_dir, "*.json")):
        r = json.load(open(path))
        c = r.get("config", {})
        if r.get("complete") and c.get("model") == cfg["model"] and c.get("hidden") == cfg["hidden"] \
                and c.get("input_scale", "01") == cfg.get("input_scale", "01") and c.get("lr") == cfg["lr"]:
            same.append(c)
    opts = []
    keys = (["lambda"] if cfg["model"] in ("l2", "jacobian", "nj", "nj-both") else []) + \
        (["noise_std"] if cfg["model"] in ("noise", "nj", "nj-both") else [])
    for k in keys:
        steps = L2_STEPS if cfg["model"] == "l2" else STEPS[k]
        values = [c[k] for c in same if k in c]
        if cfg[k] >= max(values):
            beyond = cfg[k] * steps[1]
        elif cfg[k] <= min(values):
            beyond = cfg[k] * steps[0]
        else:
            continue
        other = [x for x in keys if x != k]
        opts.append(["--model", cfg["model"], "--hidden", cfg["hidden"], "--lr", "%g" % cfg["lr"],
                     "--input-scale", cfg.get("input_scale", "01"), "--" + k.replace("_", "-"), plain(beyond)]
                    + sum((["--" + x.replace("_", "-"), plain(cfg[x])] for x in other), []))
    return opts


def all7291(args):
    selection = json.load(open(os.path.join(args.dir, "final", "selection.json")))
    data = os.path.join(args.data_dir, "usps")
    os.makedirs(os.path.join(args.out, "models"), exist_ok=True)
    for seed, model in [(s, m) for s in (int(x) for x in args.seeds.split(",")) for m in MODELS]:
        out = os.path.join(args.out, "%s-seed%d.json" % (model, seed))
        if os.path.exists(out) and json.load(open(out)).get("complete"):
            print("%s: done before" % out)
            continue
        run = selection[model]["sweep_run"]
        cfg = json.load(open(os.path.join(args.dir, run + ".json")))["config"]
        epochs = json.load(open(os.path.join(args.dir, run + ".json")))["best_epoch"]
        a = ["train", "--train", os.path.join(data, "zip.train.gz"), "--test", os.path.join(data, "zip.test.gz"),
             "--model", cfg["model"], "--hidden", cfg["hidden"], "--lr", repr(cfg["lr"]),
             "--momentum", repr(cfg["momentum"]), "--batch", str(cfg["batch"]), "--epochs", str(epochs),
             "--patience", "0", "--seed", str(seed), "--threads", "1"]
        if cfg["model"] not in ("mlp", "noise"):
            a += ["--lambda", repr(cfg["lambda"])]
        if cfg["model"] in ("noise", "nj", "nj-both"):
            a += ["--noise-std", repr(cfg["noise_std"])]
        a += arch_args(cfg)
        a += ["--save", os.path.join(args.out, "models", "%s-seed%d.jn" % (model, seed)), "--json", out, "--quiet"]
        print("jacnet " + " ".join(a), flush=True)
        subprocess.run([args.jacnet] + a, check=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="stage", required=True)
    e = sub.add_parser("edge")
    e.add_argument("model")
    e.add_argument("dir", nargs="?", default="docs/results/usps/protocol")
    f = sub.add_parser("fine")
    f.add_argument("model")
    f.add_argument("dir", nargs="?", default="docs/results/usps/protocol")
    a = sub.add_parser("all7291")
    a.add_argument("--jacnet", default=os.environ.get("JACNET", "build/bin/jacnet"))
    a.add_argument("--data-dir", default=os.environ.get("JACNET_DATA", "data"))
    a.add_argument("--seeds", default="1")
    a.add_argument("dir")
    a.add_argument("out")
    args = p.parse_args()
    if args.stage == "fine":
        print(" ".join(fine(args.model, args.dir)))
    elif args.stage == "edge":
        for opts in edge(args.model, args.dir):
            print(" ".join(opts))
    else:
        all7291(args)


if __name__ == "__main__":
    main()
