"""Ctrl-C and exceptions during jacnet.train: the run stops within a
minibatch, is checkpointed, the exception comes out of train, and the
resumed call returns the whole run's reports, equal to one uninterrupted
run's (docs/PYTHON.md, jacnet.train)."""
import os
import signal
import struct
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import jacnet

# Epochs of about 0.4 s (one thread), long next to the callbacks' microseconds,
# so that a SIGINT sent well into the second epoch lands while C trains.
# The child answers Ctrl-C as at a terminal, also when this test runs as a
# background job of a non-interactive shell (which starts it, and so the
# child, with SIGINT ignored: CI scripts run so).
SETUP = textwrap.dedent('''
    import signal
    import sys
    import numpy as np
    import jacnet

    signal.signal(signal.SIGINT, signal.default_int_handler)

    jacnet.set_threads(1)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20000, 50)).astype(np.float32)
    y = rng.integers(0, 5, 20000).astype(np.int32)

    def train(epochs, checkpoint=None, rows=20000, **kw):
        with jacnet.Net([50, 300, 5]).init(1) as net, jacnet.Objective.model("nj", 0.01, 0.1) as obj:
            return (jacnet.train(net, obj, X[:rows], y[:rows], epochs=epochs, checkpoint=checkpoint, **kw),
                    net.params.copy())
''')
ns = {}
exec(SETUP, ns)


def checkpoint_position(path):
    """(epochs done, minibatches done of the next epoch) of a checkpoint (docs/FORMAT.md)."""
    data = open(path, "rb").read()
    (m,) = struct.unpack_from("<Q", data, 188)
    b = 204 + 2 * m
    return struct.unpack_from("<I", data, b)[0], struct.unpack_from("<Q", data, b + 4)[0]


def same_reports(a, b):
    assert [r["epoch"] for r in a] == [r["epoch"] for r in b]
    for r, s in zip(a, b):
        assert {k: v for k, v in r.items() if k != "seconds"} == {k: v for k, v in s.items() if k != "seconds"}


def test_sigint_while_c_trains_raises_and_resumes(tmp_path):
    path = str(tmp_path / "run.jnc")
    child = SETUP + textwrap.dedent('''
        try:
            train(3, sys.argv[1], callback=lambda r: print("epoch", r["epoch"], r["seconds"], flush=True))
            print("train returned", flush=True)
        except KeyboardInterrupt:
            print("KeyboardInterrupt from train", flush=True)
    ''')
    env = dict(os.environ, JACNET_THREADS="1")
    p = subprocess.Popen([sys.executable, "-c", child, path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=env)
    line = p.stdout.readline()
    while line and not line.startswith("epoch 1 "):
        line = p.stdout.readline()
    assert line, p.communicate()
    time.sleep(0.3 * float(line.split()[2]))  # a third into epoch 2, however loaded the machine
    p.send_signal(signal.SIGINT)  # inside jn_trainer_run
    out, err = p.communicate(timeout=120)
    assert "KeyboardInterrupt from train" in out, (out, err)
    assert "Exception ignored" not in err, err
    assert os.path.exists(path)
    done, batches = checkpoint_position(path)
    assert done == 1 and batches > 0  # stopped mid-epoch 2, not at its end

    ref_reports, ref_params = ns["train"](3)
    reports, params = ns["train"](3, path)
    same_reports(reports, ref_reports)  # epochs 1, 2 and 3: the whole run
    np.testing.assert_array_equal(params, ref_params)
    again, _ = ns["train"](3, path)  # finished: nothing to train, same reports
    same_reports(again, ref_reports)


class Boom(Exception):
    pass


def test_callback_exception_mid_epoch_checkpoints_and_resumes(tmp_path):
    jacnet.set_threads(1)
    path = str(tmp_path / "run.jnc")

    def on_batch(epoch, done, total):
        if (epoch, done) == (2, 7):
            raise Boom

    with pytest.raises(Boom):
        ns["train"](3, path, rows=2000, on_batch=on_batch)
    assert checkpoint_position(path) == (1, 7)
    ref_reports, ref_params = ns["train"](3, rows=2000)
    reports, params = ns["train"](3, path, rows=2000)
    same_reports(reports, ref_reports)
    np.testing.assert_array_equal(params, ref_params)


@pytest.fixture
def ctrl_c_raises():
    """SIGINT raising KeyboardInterrupt in this process, as at a terminal,
    whatever the process was started with; put back afterwards."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_signal_inside_a_callback(tmp_path, ctrl_c_raises):
    """SIGINT handled while the user's own callback runs interrupts it there."""
    jacnet.set_threads(1)
    path = str(tmp_path / "run.jnc")
    seen = []

    def on_batch(epoch, done, total):
        if (epoch, done) == (1, 3):
            os.kill(os.getpid(), signal.SIGINT)
            seen.append("not interrupted")

    with pytest.raises(KeyboardInterrupt):
        ns["train"](2, path, rows=2000, on_batch=on_batch)
    assert seen == [] and checkpoint_position(path) == (0, 3)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


def test_missing_reports_file_warns(tmp_path):
    jacnet.set_threads(1)
    path = str(tmp_path / "run.jnc")
    ns["train"](1, path, rows=2000)
    os.remove(path + ".reports.json")
    with pytest.warns(UserWarning, match="no reports of the 1 epochs"):
        reports, _ = ns["train"](2, path, rows=2000)
    assert [r["epoch"] for r in reports] == [2]


def test_verbose_prints_a_line_per_epoch(capsys):
    jacnet.set_threads(1)
    ns["train"](2, rows=2000)
    assert capsys.readouterr().out == ""  # off by default
    ns["train"](2, rows=2000, verbose=True)
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[:2] for ln in lines] == [["epoch", "1/2"], ["epoch", "2/2"]]
    assert all("objective" in ln and "train" in ln for ln in lines)
