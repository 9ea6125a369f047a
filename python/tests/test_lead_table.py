"""scripts/repro/lead_table.py: a cell is the mean +- sd of its complete
records, says how many seeds it has and how many of them ran the penalty's
products in bfloat16, and gives the difference from the report in our sd."""
import json
import os

from conftest import load_script


def record(d, model, seed, test_error, precision="fp32", complete=1):
    rec = {"complete": complete, "test_error": test_error, "precision_used": precision, "config": {}}
    with open(os.path.join(d, "%s-seed%d.json" % (model, seed)), "w") as f:
        json.dump(rec, f)


def test_cell_counts_seeds_and_bf16_runs(tmp_path):
    lt = load_script("lead_table")
    d = str(tmp_path)
    record(d, "nj", 1, 0.0125)
    record(d, "nj", 2, 0.0121, precision="bf16")
    record(d, "nj", 3, 0.0129, precision="bf16")
    record(d, "nj", 4, 0.5, complete=0)  # a run still going is not a seed
    here, diff = lt.cell(d, "nj", 1.19)
    assert here == "1.25 ± 0.04 (3 seeds, 2 in bf16)"
    assert diff == "+0.06 pt = +1.5 sd"


def test_one_seed_has_no_sd(tmp_path):
    lt = load_script("lead_table")
    d = str(tmp_path)
    record(d, "mlp", 1, 0.0166)
    assert lt.cell(d, "mlp", 1.82) == ("1.66 (1 seed)", "-0.16 pt, no sd")
    assert lt.cell(d, "l2", 1.66) == ("not run", "")
