"""scripts/repro/relu_table.py: each activation's column reads its final
runs' selection and test records, and a regularizer's gain is the
activation's MLP mean test error minus its own."""
import json
import os

from conftest import load_script


def make_run(d, tests, activation):
    final = os.path.join(d, "final")
    os.makedirs(final)
    selection = {}
    for model, errs in tests.items():
        cfg = {"model": model, "hidden": "700x700", "lr": 0.1, "input_scale": "pm1", "activation": activation,
               "lambda": 1.2, "noise_std": 0.4}
        selection[model] = {"config": cfg, "valid_error": 0.02}
        for seed, e in enumerate(errs, 1):
            with open(os.path.join(final, "%s-seed%d.json" % (model, seed)), "w") as f:
                json.dump({"complete": 1, "test_error": e, "config": cfg}, f)
    with open(os.path.join(final, "selection.json"), "w") as f:
        json.dump(selection, f)


def test_gains_and_missing_models(tmp_path):
    rt = load_script("relu_table")
    tanh, relu = str(tmp_path / "tanh"), str(tmp_path / "relu")
    make_run(tanh, {"mlp": [0.07, 0.07], "noise": [0.05, 0.0525]}, "tanh")
    make_run(relu, {"mlp": [0.06], "jacobian": [0.048]}, "relu")
    t, r = rt.column(tanh), rt.column(relu)
    assert t["noise"][0] == "700x700, lr 0.1, σ 0.4, [-1, 1]"
    assert r["jacobian"][0] == "700x700, lr 0.1, λ 1.2, [-1, 1]"
    assert rt.gain(t, "noise") == "+1.88"
    assert rt.gain(r, "jacobian") == "+1.20"
    assert rt.gain(r, "noise") == ""  # not run: no gain claimed
    text = rt.table(t, r)
    assert "| + Noise | 700x700, lr 0.1, σ 0.4, [-1, 1] | 2.00 | 5.12 ± 0.18 (2 seeds) | +1.88 | not selected yet" in text
    assert "| + Jacobian | not selected yet |  |  |  | 700x700, lr 0.1, λ 1.2, [-1, 1] | 2.00 | 4.80 (1 seed) | +1.20 |" in text
