"""scripts/repro/protocol_stages.py: the fine grid of the USPS protocol's
stage 3 is built around the selection and names its values as the earlier
stages did (a run is found by its value's text)."""
import importlib.util
import json
import os
import sys

from conftest import REPO


def load_stages():
    sys.path.insert(0, os.path.join(REPO, "scripts", "repro"))
    spec = importlib.util.spec_from_file_location("protocol_stages",
                                                  os.path.join(REPO, "scripts", "repro", "protocol_stages.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def record(d, name, model, hidden, valid, scale="01", lam=None, noise=None):
    cfg = {"model": model, "hidden": hidden, "lr": 0.1, "input_scale": scale}
    if lam is not None:
        cfg["lambda"] = lam
    if noise is not None:
        cfg["noise_std"] = noise
    widths = [int(w) for w in hidden.split("x")]
    rec = {"config": cfg, "complete": 1, "best_valid_error": valid, "sizes": [256] + widths + [10], "seed": 1}
    with open(os.path.join(d, name + ".json"), "w") as f:
        json.dump(rec, f)


def test_fine_grid_is_around_the_selection(tmp_path):
    st = load_stages()
    d = str(tmp_path)
    record(d, "nj_a", "nj", "1000", 0.02, lam=0.3, noise=0.1)
    record(d, "nj_b", "nj", "400x400", 0.014, scale="pm1", lam=1.2, noise=0.2)
    # A tie with more parameters loses (final.py's rule).
    record(d, "nj_c", "nj", "1000x1000", 0.014, scale="pm1", lam=1.2, noise=0.2)
    record(d, "l2_a", "l2", "700", 0.03, scale="pm1", lam=0.00001)
    assert st.fine("nj", d) == ["--model", "nj", "--hidden", "400x400", "--lr", "0.1", "--input-scale", "pm1",
                                "--lambda", "0.6,1.2,2.4", "--noise-std", "0.1,0.2,0.4"]
    # The weight decay steps by 10 and is written without an exponent.
    assert st.fine("l2", d)[-2:] == ["--lambda", "0.000001,0.00001,0.0001"]
