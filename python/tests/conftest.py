"""Shared helpers for the binding's tests: the oracle cases, data paths and
the result scripts under scripts/repro/."""
import importlib.util
import os
import sys

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_script(name):
    """scripts/repro/NAME.py as a module, with its folder on the path so that
    its own imports of sibling scripts (final, table1) resolve."""
    here = os.path.join(REPO, "scripts", "repro")
    if here not in sys.path:
        sys.path.insert(0, here)
    spec = importlib.util.spec_from_file_location(name, os.path.join(here, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def oracle_dir():
    return os.environ.get("JACNET_ORACLE") or os.path.join(REPO, "tests", "oracle")


def oracle_names():
    d = oracle_dir()
    if not os.path.isdir(d):
        return []
    return sorted(f[:-4] for f in os.listdir(d) if f.endswith(".txt"))


def load_oracle(name):
    """One oracle case (see tests/oracle/README.md) as a dict; arrays are float64."""
    case, lines = {"name": name}, []
    with open(os.path.join(oracle_dir(), name + ".txt")) as f:
        lines = [ln.strip() for ln in f if ln.strip() and not ln.lstrip().startswith("#")]
    i = 0
    while i < len(lines):
        key, *rest = lines[i].split()
        i += 1
        if key == "sizes":
            case[key] = [int(v) for v in rest]
        elif key in ("hidden", "output", "loss"):
            case[key] = rest[0]
        elif key == "n":
            case[key] = int(rest[0])
        elif key in ("lambda_l2", "lambda_jacobian"):
            case[key] = float(rest[0])
        else:  # an array: `key COUNT` then the values on the next line
            count = int(rest[0])
            values = np.array(lines[i].split(), dtype=np.float64)
            i += 1
            assert values.size == count, "%s: %s has %d values, header says %d" % (name, key, values.size, count)
            case[key] = values
    case["objective"] = float(np.asarray(case["objective"]).reshape(-1)[0])  # written as an array of 1
    return case


def worst_rel(got, want):
    """Largest |got - want| / max(|want|, 1e-3 * max|want|): relative, with a floor near zero."""
    got = np.asarray(got, dtype=np.float64).ravel()
    want = np.asarray(want, dtype=np.float64).ravel()
    assert got.shape == want.shape
    floor = 1e-3 * np.max(np.abs(want)) + 1e-12
    return float(np.max(np.abs(got - want) / np.maximum(np.abs(want), floor)))


@pytest.fixture
def small_net():
    import jacnet
    with jacnet.Net([6, 5, 3], "tanh", "sigmoid") as net:
        net.init(7)
        yield net


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
