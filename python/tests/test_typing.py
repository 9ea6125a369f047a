"""The package's annotations (py.typed) check under mypy, and so does a
user's program written against the documented API. Skipped without mypy
(Debian: apt-get install mypy)."""
import os
import subprocess
import sys

import pytest

import jacnet

USER_PROGRAM = '''
import numpy as np
import jacnet

X = np.random.default_rng(0).random((20, 4), dtype=np.float32)
y = (X[:, 0] > 0.5).astype(np.int32)
with jacnet.Net([4, 3, 2], "tanh", "sigmoid", seed=1) as net, jacnet.Objective.model("nj", 0.01, 0.1) as obj:
    reports = jacnet.train(net, obj, X, y, epochs=1)
    first: float = reports[0]["train_objective"]
    F = net.forward(X)
    J = net.jacobian(X[:2])
    value, grad = net.objective(obj, X, np.eye(2, dtype=np.float32)[y])
    err: float = net.error_rate(X, y) + net.mean_loss(obj, X, y) + value
    seed = net.seed
    shape = F.shape + J.shape + grad.shape
'''


def test_mypy_on_package_and_user_program(tmp_path):
    pytest.importorskip("mypy")
    prog = tmp_path / "user.py"
    prog.write_text(USER_PROGRAM)
    pkg_parent = os.path.dirname(os.path.dirname(jacnet.__file__))
    env = dict(os.environ, MYPYPATH=pkg_parent)
    r = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir=/dev/null", "--ignore-missing-imports",
                        os.path.dirname(jacnet.__file__), str(prog)], capture_output=True, text=True, env=env, cwd=str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
