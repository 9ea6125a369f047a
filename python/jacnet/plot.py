"""Learning curves of training runs, from their JSON records.

    python3 -m jacnet.plot RECORD.json [RECORD.json ...] [-o OUT.png] [--title T]

A record is what `jacnet train --json` writes (and
examples/python/record_run.py, from Python):

    {"config": {...}, "library_version": "0.1.0", "seed": 1,
     "epochs": [{"epoch": 1, "train_objective": ..., "train_loss": ...,
                 "train_penalty": ..., "valid_error": ..., "seconds": ...}, ...],
     "best_epoch": 7, "test_error": 0.021, "total_seconds": 95.0}

Three panels share the epoch axis (integer ticks): the training objective,
the validation error (its best epoch marked) and the Jacobian penalty;
several records are overlaid, each labelled by what differs between their
configs (e.g. "nj, lambda 0.1"; else by file name) and its test error; one
record by its config's "model". Fields that are missing or null are left out of the plot.
matplotlib is optional for the rest of the package; without it this module
says how to install it and exits with status 1.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

INSTALL_HINT = ("jacnet.plot needs matplotlib: apt-get install python3-matplotlib "
                "(or pip install matplotlib, or pip install 'jacnet[plot]')")

Record = Dict[str, Any]


class MissingMatplotlib(ImportError):
    """matplotlib is not installed; str() says how to get it."""


def load_record(path: str) -> Record:
    """The record at path, checked for the fields the plot reads; ValueError
    naming the file and the field otherwise."""
    with open(path, encoding="utf-8") as f:
        try:
            rec = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError("%s: not JSON (%s)" % (path, e)) from None
    if not isinstance(rec, dict) or not isinstance(rec.get("epochs"), list) or not rec["epochs"]:
        raise ValueError("%s: no non-empty \"epochs\" list; is it a record of `jacnet train --json`?" % path)
    for i, ep in enumerate(rec["epochs"]):
        if not isinstance(ep, dict) or not isinstance(ep.get("epoch"), int):
            raise ValueError("%s: epochs[%d] has no integer \"epoch\"" % (path, i))
        for key in ("train_objective", "train_loss", "train_penalty", "valid_error", "seconds"):
            v = ep.get(key)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise ValueError("%s: epochs[%d].%s is %r, not a number" % (path, i, key, v))
    return rec


def _config(rec: Record) -> Dict[str, Any]:
    config = rec.get("config")
    return config if isinstance(config, dict) else {}


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def _with_test(name: str, rec: Record) -> str:
    test = rec.get("test_error")
    if isinstance(test, (int, float)) and not isinstance(test, bool):
        name += " (test %.2f%%)" % (100.0 * test)
    return name


def label_of(rec: Record, path: str) -> str:
    """The config's model name (else the file's stem), with the test error."""
    return _with_test(str(_config(rec).get("model") or _stem(path)), rec)


# Config fields that do not change what is trained: never what tells runs apart.
_NOT_LABELS = ("checkpoint", "threads")


def _field(key: str, value: Any) -> str:
    if isinstance(value, list):
        value = "x".join(str(v) for v in value)  # hidden widths
    return str(value) if key == "model" else "%s %s" % (key.replace("_", " "), value)


def labels_of(records: Sequence[Tuple[str, Record]]) -> List[str]:
    """Labels of overlaid records: the config fields that differ between
    them (the model bare, others as "lambda 0.1"), else their file names;
    a single record (or the same one twice) as label_of."""
    configs = [_config(rec) for _, rec in records]
    keys = [k for k in dict.fromkeys(k for c in configs for k in c) if k not in _NOT_LABELS]
    differ = [k for k in keys if len({json.dumps(c.get(k), sort_keys=True) for c in configs}) > 1]
    paths = [path for path, _ in records]
    if len(records) > 1 and differ:
        names = [", ".join(_field(k, c[k]) for k in differ if c.get(k) is not None) for c in configs]
        names = [name or _stem(path) for name, path in zip(names, paths)]
    elif len(records) > 1 and len(set(paths)) == len(paths):
        names = [_stem(p) for p in paths] if len({_stem(p) for p in paths}) == len(paths) else paths
    else:
        return [label_of(rec, path) for path, rec in records]
    return [_with_test(name, rec) for name, (_, rec) in zip(names, records)]


def _series(rec: Record, key: str, scale: float = 1.0) -> Tuple[List[int], List[float]]:
    xs, ys = [], []
    for ep in rec["epochs"]:
        v = ep.get(key)
        if v is not None and math.isfinite(v):
            xs.append(ep["epoch"])
            ys.append(scale * v)
    return xs, ys


def plot_records(paths: Sequence[str], out: str, title: Optional[str] = None) -> str:
    """Draw the records at paths into the PNG file out; returns out."""
    fig = figure(paths, title)
    fig.savefig(out, dpi=100)
    import matplotlib.pyplot as plt
    plt.close(fig)
    return out


def figure(paths: Sequence[str], title: Optional[str] = None) -> Any:
    """The matplotlib figure of the records at paths (the caller closes it)."""
    records = [(p, load_record(p)) for p in paths]
    try:
        import matplotlib
        matplotlib.use("Agg")  # files only: no display needed
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        raise MissingMatplotlib(INSTALL_HINT) from None

    fig, (ax_obj, ax_err, ax_pen) = plt.subplots(1, 3, figsize=(13, 4.2))
    penalty_drawn = False
    for (path, rec), label in zip(records, labels_of(records)):
        xs, ys = _series(rec, "train_objective")
        line, = ax_obj.plot(xs, ys, marker=".", label=label)
        color = line.get_color()
        xs, ys = _series(rec, "valid_error", 100.0)
        if xs:
            ax_err.plot(xs, ys, marker=".", color=color, label=label)
            best = rec.get("best_epoch")
            if best in xs:
                ax_err.plot([best], [ys[xs.index(best)]], marker="o", markersize=9, fillstyle="none", color=color)
        xs, ys = _series(rec, "train_penalty")
        if xs and any(y > 0 for y in ys):
            ax_pen.plot(xs, ys, marker=".", color=color, label=label)
            penalty_drawn = True
    ax_obj.set_title("training objective")
    ax_err.set_title("validation error (best epoch circled)")
    ax_err.set_ylabel("%")
    ax_pen.set_title("Jacobian penalty")
    if not penalty_drawn:
        ax_pen.text(0.5, 0.5, "no penalty recorded", ha="center", va="center", transform=ax_pen.transAxes)
    for ax in (ax_obj, ax_err, ax_pen):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole: no 1.25
        ax.grid(True, alpha=0.3)
    ax_obj.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m jacnet.plot",
                                 description="Learning curves (objective, validation error, penalty per "
                                             "epoch) of one or more `jacnet train --json` records.")
    ap.add_argument("records", nargs="+", metavar="RECORD.json")
    ap.add_argument("-o", "--output", default="learning_curves.png", help="PNG file to write "
                    "(default learning_curves.png)")
    ap.add_argument("--title", default=None)
    a = ap.parse_args(argv)
    try:
        out = plot_records(a.records, a.output, a.title)
    except MissingMatplotlib as e:
        print(e, file=sys.stderr)
        return 1
    except (OSError, ValueError) as e:
        print("jacnet.plot: %s" % e, file=sys.stderr)
        return 1
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
