"""scripts/repro/projections_summary.py: the exact runs come from final/,
the projected ones from projections/ (k read from the file name and checked
against the record's config), a run's precision is shown (float32 when the
record predates bfloat16), and the paired table subtracts the exact run of
the same seed."""
import json
import os

import pytest

from conftest import load_script


def record(path, model, k, seed, test, valid, objectives, precision=None, complete=True, recovery=0):
    r = {"config": {"model": model, "projections": k, "lambda": 0.3, "recovery": recovery,
                    "precision": precision or "fp32"}, "seed": seed,
         "complete": 1 if complete else 0, "status": "complete" if complete else "running",
         "test_error": test if complete else None, "best_valid_error": valid, "best_epoch": len(objectives) - 1,
         "epochs_run": len(objectives), "total_seconds": 10.0 * len(objectives),
         "epochs": [{"epoch": i, "train_objective": o} for i, o in enumerate(objectives)]}
    if precision:
        r["precision_used"] = precision
    with open(path, "w") as f:
        json.dump(r, f)


@pytest.fixture
def summary(tmp_path):
    ps = load_script("projections_summary")
    final, proj = tmp_path / "final", tmp_path / "projections"
    final.mkdir()
    proj.mkdir()
    ps.FINAL, ps.PROJ, ps.MODELS = str(final), str(proj), ("nj",)
    record(final / "nj-seed1.json", "nj", 0, 1, 0.0125, 0.0123, [0.3, 0.2, 0.1])
    record(final / "nj-seed2.json", "nj", 0, 2, 0.0133, 0.0118, [0.3, 0.2], precision="bf16")
    # k = 1, seed 1: the objective triples at the third epoch (a blow-up)
    record(proj / "nj-k1-seed1.json", "nj", 1, 1, 0.0150, 0.0172, [0.3, 0.1, 0.3])
    record(proj / "nj-k2-seed1.json", "nj", 2, 1, None, 0.02, [0.3], complete=False)
    record(proj / "nj-k1-rec-seed1.json", "nj", 1, 1, 0.0130, 0.0125, [0.3, 0.1, 0.09], recovery=1)
    record(proj / "nj-k0-bf16-rec-seed1.json", "nj", 0, 1, 0.0120, 0.0120, [0.3, 0.1], precision="bf16", recovery=1)
    return ps


def test_rows_precision_and_jump(summary):
    runs = summary.load_runs()
    text = summary.table(runs, None)
    assert "| nj | 1 | 0.3 | 1 | fp32 | 1.50 | 1.72 | 2 | 3 | 3.00 |" in text
    # mixed precisions are listed per seed; an old record without the field counts as float32
    assert "| nj | exact | 0.3 | 1,2 | fp32,bf16 | 1.29 ± 0.06 |" in text
    assert "| nj | 2 |" not in text  # not finished: no row
    assert "| nj | 1 + recovery | 0.3 | 1 | fp32 | 1.30 |" in text


def write_cost(summary, name, per_setting):
    with open(os.path.join(summary.PROJ, name), "w") as f:
        json.dump({"per_setting": per_setting}, f)


def test_cpu_totals_at_each_runs_precision(summary):
    write_cost(summary, "cost.json", {"nj-k0": {"cpu_per_epoch": 2.0}, "nj-k1": {"cpu_per_epoch": 1.0}})
    text = summary.table(summary.load_runs(), summary.load_cost())
    # exact: seed 1 ran float32 (3 epochs x 2 s); seed 2 bfloat16, not measured yet
    assert "| 2.00 fp32 | 6 (seed 1 only) |" in text
    assert "| 1.00 fp32 | 3 |" in text
    # the bf16 exact run with recovery: nothing measured at its precision, so no cost at all
    assert text.splitlines()[-1].endswith("|  |  |") and "exact + recovery" in text.splitlines()[-1]
    write_cost(summary, "cost-bf16.json", {"nj-k0": {"cpu_per_epoch": 1.0, "precision_used": "bf16"}})
    text = summary.table(summary.load_runs(), summary.load_cost())
    # both precisions measured: per-run totals, listed rather than averaged across precisions
    assert "| 1.00 bf16, 2.00 fp32 | 6, 2 |" in text
    assert text.splitlines()[-1].endswith("| 1.00 bf16 | 2 |")


def test_blowup_epoch_and_objective_at_best(summary):
    text = summary.table(summary.load_runs(), None)
    # k = 1 seed 1: objectives 0.3, 0.1, 0.3 -> epoch index 2 is above twice the lowest (0.1); best epoch 2
    assert "| 3.00 | 2 | 0.3000 |" in text


def test_by_seed_and_paired(summary):
    runs = summary.load_runs()
    seeds = summary.by_seed(runs)
    assert "| nj | 1 | 1.50 (1.72) | running (epoch 1) |  | 1.25 (1.23) |" in seeds
    assert "| nj | 2 |  |  |  | 1.33 (1.18) bf16 |" in seeds
    paired = summary.paired(runs)
    assert "| nj | 1 | 1 | +0.25 | +0.49 |" in paired
    assert "| nj | 1 + recovery | 1 | +0.05 | +0.02 |" in paired  # its own row, not mixed into k = 1's
    assert "| nj | exact + recovery | 1 | -0.05 | -0.03 |" in paired
    assert "| nj | exact + recovery | 0.3 | 1 | bf16 | 1.20 |" in summary.table(runs, None)


def test_config_must_match_the_file_name(summary):
    record(os.path.join(summary.PROJ, "nj-k4-seed1.json"), "nj", 2, 1, 0.01, 0.01, [0.3])
    with pytest.raises(SystemExit, match="projections 2"):
        summary.load_runs()


def test_recovery_must_match_the_file_name(summary):
    record(os.path.join(summary.PROJ, "nj-k2-rec-seed1.json"), "nj", 2, 1, 0.01, 0.01, [0.3], recovery=0)
    with pytest.raises(SystemExit, match="recovery 0"):
        summary.load_runs()


def test_plot_draws_every_kind_of_run(summary, tmp_path):
    pytest.importorskip("matplotlib")
    write_cost(summary, "cost.json", {"nj-k%d" % k: {"cpu_per_epoch": 1.0 + k} for k in (0, 1, 2, 4)})
    out = tmp_path / "p.png"
    summary.plot(summary.load_runs(), summary.load_cost(), str(out))
    assert out.stat().st_size > 1000


def test_bf16_must_match_the_file_name(summary):
    record(os.path.join(summary.PROJ, "nj-k2-bf16-seed1.json"), "nj", 2, 1, 0.01, 0.01, [0.3])
    with pytest.raises(SystemExit, match="precision fp32"):
        summary.load_runs()
