"""scripts/repro/protocol_stages.py: the fine grid of the USPS protocol's
stage 3 is built around the selection and names its values as the earlier
stages did (a run is found by its value's text)."""
import json
import os

from conftest import load_script


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
    st = load_script("protocol_stages")
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


def test_edge_steps_beyond_a_selection_at_the_end_of_its_grid(tmp_path):
    st = load_script("protocol_stages")
    d = str(tmp_path)
    # jacobian: selected at the largest weight run -> one step up.
    for lam, valid in ((0.6, 0.02), (1.2, 0.0195), (2.4, 0.0185)):
        record(d, "jacobian_%g" % lam, "jacobian", "1000", valid, scale="pm1", lam=lam)
    assert st.edge("jacobian", d) == [["--model", "jacobian", "--hidden", "1000", "--lr", "0.1", "--input-scale",
                                       "pm1", "--lambda", "4.8"]]
    # nj: selected inside its grid in both weight and std -> nothing.
    for lam in (0.6, 1.2, 2.4):
        for noise in (0.1, 0.2, 0.4):
            valid = 0.014 if (lam, noise) == (1.2, 0.2) else 0.02
            record(d, "nj_%g_%g" % (lam, noise), "nj", "400x400", valid, scale="pm1", lam=lam, noise=noise)
    assert st.edge("nj", d) == []
    # Another architecture's runs do not make an edge an inside.
    record(d, "jacobian_other", "jacobian", "700", 0.03, scale="pm1", lam=9.6)
    assert st.edge("jacobian", d)[0][-1] == "4.8"
