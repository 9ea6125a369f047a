"""oneDNN's OpenMP threads sleep between products (OMP_WAIT_POLICY=passive)
when bfloat16 is asked of the `jacnet` tool, and whenever Python loads the
library, unless the user chose a policy; Python leaves its environment as
it was. libgomp prints what it read when OMP_DISPLAY_ENV=verbose: its spin
count is 0 under passive, 300000 by default (the display's OMP_WAIT_POLICY
line reads PASSIVE either way, so the spin count is what tells). Where
libjacnet is built without oneDNN (no libgomp loaded) there is nothing to
check."""
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = os.environ.get("JACNET_CLI") or os.path.join(REPO, "build", "bin", "jacnet")


def spin_counts(stderr):
    """GOMP_SPINCOUNT of every libgomp that started (a re-run prints twice)."""
    return [line.split("=")[1].strip().strip("'") for line in stderr.splitlines() if "GOMP_SPINCOUNT" in line]


def env_without_policy(**extra):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env.update(OMP_DISPLAY_ENV="verbose", **extra)
    return env


def cli(*args, **env):
    r = subprocess.run([CLI, *args], capture_output=True, text=True, env=env_without_policy(**env))
    assert r.returncode == 0, r.stderr
    return spin_counts(r.stderr)


@pytest.mark.skipif(not os.path.exists(CLI), reason="jacnet not built (make)")
def test_cli_runs_openmp_passive_when_bf16_is_asked():
    if not cli("version"):
        pytest.skip("this jacnet loads no libgomp (built without oneDNN)")
    assert cli("train", "--precision", "bf16", "--help")[-1] == "0"
    assert cli("train", "--precision=auto", "--help")[-1] == "0"
    # float32 never calls oneDNN: no second start for it.
    assert cli("train", "--help") == ["300000"]
    # The user's choice stands.
    assert cli("train", "--precision", "bf16", "--help", OMP_WAIT_POLICY="active")[-1] != "0"


def test_python_loads_the_library_with_openmp_passive_and_leaves_the_environment():
    code = "import os, jacnet; jacnet.library_version(); print('left:', os.environ.get('OMP_WAIT_POLICY'))"
    env = env_without_policy(PYTHONPATH=os.path.join(REPO, "python"))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    counts = spin_counts(r.stderr)
    if not counts:
        pytest.skip("libjacnet loads no libgomp here (built without oneDNN)")
    assert counts == ["0"]
    assert "left: None" in r.stdout
