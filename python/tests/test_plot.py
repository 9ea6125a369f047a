"""python3 -m jacnet.plot on the committed record: a PNG of the right size
and with curves drawn; clear errors for bad records and without matplotlib."""
import json
import os
import struct
import subprocess
import sys

import pytest

from conftest import REPO

import jacnet.plot as jplot


def record_path():
    d = os.environ.get("JACNET_TEST_DATA") or os.path.join(REPO, "tests", "data")
    return os.path.join(d, "record_small.json")


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", head[16:24])


def test_committed_record_is_valid():
    rec = jplot.load_record(record_path())
    assert len(rec["epochs"]) >= 3
    assert rec["best_epoch"] in [e["epoch"] for e in rec["epochs"]]
    assert jplot.label_of(rec, record_path()).startswith(rec["config"]["model"] + " (test ")


def test_plot_makes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "curves.png"
    # as a user runs it: the module as a program, the package from wherever it is installed
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    r = subprocess.run([sys.executable, "-m", "jacnet.plot", record_path(), record_path(), "-o", str(out),
                        "--title", "two runs"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(out)
    assert png_size(out) == (1300, 420)
    # Curves were drawn: an empty figure of that size compresses to far less.
    assert out.stat().st_size > 30000


def test_plot_fails_clearly_on_a_bad_record(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"config": {}, "epochs": [{"epoch": 1, "valid_error": "high"}]}))
    assert jplot.main([str(bad), "-o", str(tmp_path / "x.png")]) == 1
    assert "epochs[0].valid_error" in capsys.readouterr().err
    bad.write_text("{\"epochs\": []}")
    assert jplot.main([str(bad), "-o", str(tmp_path / "x.png")]) == 1
    assert "jacnet train --json" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_without_matplotlib_says_how_to_install(tmp_path, monkeypatch, capsys):
    # None in sys.modules makes `import matplotlib` raise ImportError.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    assert jplot.main([record_path(), "-o", str(tmp_path / "x.png")]) == 1
    err = capsys.readouterr().err
    assert "needs matplotlib" in err and "python3-matplotlib" in err


def _variant(tmp_path, name, epochs=None, **config):
    rec = json.load(open(record_path()))
    rec["config"].update(config)
    if epochs:
        rec["epochs"] = rec["epochs"][:epochs]
        rec["best_epoch"] = min(rec["best_epoch"], epochs)
    path = tmp_path / name
    path.write_text(json.dumps(rec))
    return str(path)


def test_overlaid_records_are_labelled_by_what_differs(tmp_path):
    a = _variant(tmp_path, "a.json", **{"lambda": 0.01})
    b = _variant(tmp_path, "b.json", **{"lambda": 0.1})
    c = _variant(tmp_path, "c.json", model="mlp", **{"lambda": None})
    labels = jplot.labels_of([(p, jplot.load_record(p)) for p in (a, b, c)])
    assert [lb.split(" (test")[0] for lb in labels] == ["nj, lambda 0.01", "nj, lambda 0.1", "mlp"]
    # Same configs: the file names tell them apart.
    d = _variant(tmp_path, "d.json", **{"lambda": 0.01})
    labels = jplot.labels_of([(p, jplot.load_record(p)) for p in (a, d)])
    assert [lb.split(" (test")[0] for lb in labels] == ["a", "d"]
    # One record: its model.
    assert jplot.labels_of([(a, jplot.load_record(a))]) == [jplot.label_of(jplot.load_record(a), a)]


def test_epoch_ticks_are_integers(tmp_path):
    pytest.importorskip("matplotlib")
    short = _variant(tmp_path, "short.json", epochs=3)
    fig = jplot.figure([short])
    try:
        fig.canvas.draw()
        for ax in fig.axes:
            ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
            assert ticks and all(float(t).is_integer() for t in ticks), ticks
    finally:
        import matplotlib.pyplot as plt
        plt.close(fig)
