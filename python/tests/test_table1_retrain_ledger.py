"""scripts/repro/table1_retrain.py: the wall time is kept per invocation in
OUT/wall.json, so a retraining interrupted and resumed reports the sum."""
import json
import os

from conftest import load_script


def test_ledger_adds_up_across_invocations(tmp_path):
    t1 = load_script("table1_retrain")
    path = str(tmp_path / "out" / "wall.json")
    first = t1.Ledger(path)
    assert first.total() == 0
    first.add(3600.5, 2)
    second = t1.Ledger(path)  # a later invocation reads what the first kept
    second.add(1800.0, 2)
    assert t1.Ledger(path).total() == 5400.5
    entries = json.load(open(path))["invocations"]
    assert [e["seconds"] for e in entries] == [3600.5, 1800.0]
    assert all(e["jobs"] == 2 for e in entries)
