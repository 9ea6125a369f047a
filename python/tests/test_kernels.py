"""The thread-count promise on the BLAS kernel this process runs: `jacnet
train --threads 1` and `--threads 2` save the same bytes, and the record
names the kernel. `make check-kernels` runs this file under every OpenBLAS
kernel the CPU can execute (OPENBLAS_CORETYPE), so the promise is checked
on the AVX-512 kernels even where OpenBLAS would pick others."""
import json
import os
import subprocess

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = os.environ.get("JACNET_CLI") or os.path.join(REPO, "build", "bin", "jacnet")

pytestmark = pytest.mark.skipif(not os.path.exists(CLI), reason="jacnet not built (make)")


def write_digits(path, n=2000, dim=100, classes=10, seed=3):
    """Noisy class prototypes in [0, 1]: enough overlap that training moves
    every weight, so a single differing bit anywhere would show."""
    centers = np.random.default_rng(7).uniform(0, 1, size=(classes, dim))
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    x = np.clip(centers[y] + rng.normal(0, 0.3, size=(n, dim)), 0, 1)
    with open(path, "w") as f:
        for xi, yi in zip(x, y):
            f.write("%d,%s\n" % (yi, ",".join("%.6f" % v for v in xi)))


@pytest.mark.parametrize("model, extra", [("nj", ["--lambda", "0.3"]), ("mlp", [])])
def test_one_and_two_threads_save_the_same_model(tmp_path, model, extra):
    # Shapes chosen so that a step's products are split into row blocks
    # (src/backend/gemm.c's block_size), with ragged last blocks, and two hidden
    # layers for the chained Jacobian. Under the SkylakeX kernels, the split
    # of 0.2.0 (by thread, at multiples of 48 rows) saved different models
    # here; so did batch 20 at width 1000 on 256 inputs.
    write_digits(tmp_path / "t.csv")
    saved, kernels = [], []
    for threads in (1, 2):
        model_file, record = tmp_path / ("m%d.jn" % threads), tmp_path / ("r%d.json" % threads)
        r = subprocess.run([CLI, "train", "--train", str(tmp_path / "t.csv"), "--valid-fraction", "0.2",
                            "--model", model, *extra, "--hidden", "200,100", "--batch", "50", "--epochs", "2",
                            "--patience", "0", "--quiet", "--threads", str(threads), "--save", str(model_file),
                            "--json", str(record)], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        saved.append(model_file.read_bytes())
        kernels.append(json.load(open(record))["blas_kernel"])
    assert saved[0] == saved[1], "kernel %s: --threads 1 and 2 saved different models" % kernels[0]
    assert kernels[0] == kernels[1] and kernels[0]
    forced = os.environ.get("OPENBLAS_CORETYPE")
    if forced and kernels[0] != "unknown":
        assert kernels[0].lower() == forced.lower()
