"""Error paths: JacnetError from C, and ValueError/TypeError raised before C is reached."""
import os

import numpy as np
import pytest

import jacnet
from jacnet import _lib


@pytest.fixture
def no_c(monkeypatch):
    """Replace every jn_net_*/jn_dataset_*/jn_trainer_* entry point that takes
    user arrays with a tripwire, so a test proves validation happened in Python."""
    calls = []

    def tripwire(name):
        def f(*args):
            calls.append(name)
            raise AssertionError("%s reached C" % name)
        return f

    for name in ("jn_net_forward", "jn_net_jacobian", "jn_net_jacobian_sqnorm", "jn_net_hessian_sqnorm",
                 "jn_net_objective",
                 "jn_net_set_params", "jn_net_predict", "jn_net_hidden", "jn_dataset_create",
                 "jn_trainer_run", "jn_optimizer_step", "jn_net_create", "jn_corrupt"):
        monkeypatch.setattr(_lib.F, name, tripwire(name))
    return calls


def test_error_attributes(small_net):
    X = np.zeros((2, 6), np.float32)
    X[1, 3] = np.nan
    with pytest.raises(jacnet.JacnetError) as ei:
        small_net.forward(X)
    e = ei.value
    assert e.status == _lib.ERR_INVALID
    assert e.status_name == "invalid argument" == jacnet.status_name(e.status)
    assert "NaN" in e.message and e.message in str(e)
    assert e.function == "jn_net_forward"
    assert isinstance(e, Exception)


@pytest.mark.parametrize("method", ["forward", "jacobian", "jacobian_sqnorm", "hessian_sqnorm", "predict"])
def test_nan_and_inf_input_raise_jacnet_error(small_net, method):
    for bad in (np.nan, np.inf, -np.inf):
        X = np.ones((3, 6), np.float32)
        X[2, 5] = bad
        with pytest.raises(jacnet.JacnetError, match="NaN or Inf"):
            getattr(small_net, method)(X)


def test_nan_in_objective_inputs(small_net):
    X, Y = np.zeros((2, 6), np.float32), np.zeros((2, 3), np.float32)
    with jacnet.Objective(jacobian=0.1) as obj:
        for which in ("X", "Y", "Xj"):
            args = {"X": X.copy(), "Y": Y.copy(), "Xj": X.copy()}
            args[which][0, 0] = np.nan
            with pytest.raises(jacnet.JacnetError) as ei:
                small_net.objective(obj, args["X"], args["Y"], Xj=args["Xj"])
            assert ei.value.status == _lib.ERR_INVALID


def test_nan_params_refused_and_net_unchanged(small_net):
    before = small_net.params
    bad = before.copy()
    bad[0] = np.nan
    with pytest.raises(jacnet.JacnetError, match="NaN or Inf"):
        small_net.params = bad
    np.testing.assert_array_equal(small_net.params, before)


def _model_file(tmp_path, net):
    path = tmp_path / "m.jn"
    net.save(path)
    return path, bytearray(path.read_bytes())


@pytest.mark.parametrize("damage", ["flip", "truncate", "magic", "empty"])
def test_damaged_model_file(tmp_path, small_net, damage):
    path, data = _model_file(tmp_path, small_net)
    if damage == "flip":
        data[len(data) // 2] ^= 0x40
    elif damage == "truncate":
        data = data[: len(data) - 7]
    elif damage == "magic":
        data[0:4] = b"XXXX"
    else:
        data = b""
    path.write_bytes(bytes(data))
    with pytest.raises(jacnet.JacnetError) as ei:
        jacnet.Net.load(path)
    e = ei.value
    assert e.status == _lib.ERR_FORMAT and e.status_name == "bad file format"
    assert e.message and str(path) in e.message  # the message names the file


def test_missing_model_file(tmp_path):
    with pytest.raises(jacnet.JacnetError) as ei:
        jacnet.Net.load(tmp_path / "absent.jn")
    assert ei.value.status == _lib.ERR_IO and "absent.jn" in ei.value.message


def test_save_load_round_trip(tmp_path, small_net):
    path = tmp_path / "net.jn"
    small_net.save(str(path))
    with jacnet.Net.load(path) as back:
        assert back.sizes == small_net.sizes and back.hidden == "tanh" and back.output == "sigmoid"
        np.testing.assert_array_equal(back.params, small_net.params)
        X = np.random.default_rng(0).random((4, 6), dtype=np.float32)
        np.testing.assert_array_equal(back.forward(X), small_net.forward(X))


def test_save_into_missing_directory(tmp_path, small_net):
    with pytest.raises(jacnet.JacnetError) as ei:
        small_net.save(tmp_path / "no" / "such" / "dir" / "net.jn")
    assert ei.value.status == _lib.ERR_IO


@pytest.mark.parametrize("shape", [(3, 5), (3, 7), (3, 6, 1), (0, 6), (6,3)])
def test_wrong_shapes_raise_before_c(small_net, no_c, shape):
    X = np.zeros(shape, np.float32)
    for method in ("forward", "jacobian", "jacobian_sqnorm", "hessian_sqnorm", "predict"):
        with pytest.raises(ValueError):
            getattr(small_net, method)(X)
    assert no_c == []


@pytest.mark.parametrize("bad", [np.array([["a"] * 6]), np.zeros((2, 6), complex), np.zeros((2, 6), bool),
                                 np.array([[object()] * 6]), [[1, 2], [3]]])
def test_wrong_dtypes_raise_before_c(small_net, no_c, bad):
    with pytest.raises(TypeError):
        small_net.forward(bad)
    assert no_c == []


def test_objective_argument_checks_before_c(small_net, no_c):
    obj = jacnet.Objective()
    X = np.zeros((4, 6), np.float32)
    Y = np.zeros((4, 3), np.float32)
    with pytest.raises(ValueError):
        small_net.objective(obj, X, Y[:3])
    with pytest.raises(ValueError):
        small_net.objective(obj, X, np.zeros((4, 2), np.float32))
    with pytest.raises(ValueError):
        small_net.objective(obj, X, Y, Xj=X[:2])
    with pytest.raises(TypeError):
        small_net.objective("mse", X, Y)
    with pytest.raises(TypeError):
        small_net.objective(obj, X, Y.astype(complex))
    with pytest.raises(ValueError):
        small_net.params = np.zeros(small_net.param_count + 1)
    with pytest.raises(ValueError):
        jacnet.Net([3], "tanh")
    with pytest.raises(ValueError):
        jacnet.Net([3, 2], "swish")
    with pytest.raises(TypeError):
        jacnet.Net("abc")
    assert no_c == []
    obj.close()


def test_train_argument_checks_before_c(small_net, no_c):
    X = np.zeros((10, 6), np.float32)
    with pytest.raises(TypeError):
        jacnet.train(small_net, jacnet.Objective(), X, np.zeros(10))  # float labels
    with pytest.raises(ValueError):
        jacnet.train(small_net, jacnet.Objective(), X, np.zeros(9, int))
    with pytest.raises(ValueError):
        jacnet.train(small_net, jacnet.Objective(), X[:, :5], np.zeros(10, int))
    assert no_c == []


def test_invalid_settings_from_c():
    with pytest.raises(jacnet.JacnetError, match="lambda"):
        jacnet.Objective(jacobian=-1.0)
    with pytest.raises(jacnet.JacnetError):
        jacnet.Optimizer.sgd(lr=0.1, momentum=1.5)
    with pytest.raises(jacnet.JacnetError, match="softmax"):
        with jacnet.Net([3, 2], "tanh", "sigmoid").init(1) as net, jacnet.Objective("ce") as obj:
            net.objective(obj, np.zeros((1, 3)), np.array([[1.0, 0.0]]))


def test_labels_out_of_range_in_train(small_net, no_c):
    X = np.zeros((4, 6), np.float32)
    with pytest.raises(ValueError, match=r"y: label 3 at index 3, the network has 3 outputs \(labels 0\.\.2\)"):
        jacnet.train(small_net, jacnet.Objective(), X, np.array([0, 1, 2, 3]), epochs=1)
    with pytest.raises(ValueError, match=r"valid\[1\]: label -1 at index 1"):
        jacnet.train(small_net, jacnet.Objective(), X, np.array([0, 1, 2, 0]), epochs=1,
                     valid=(X, np.array([0, -1, 2, 0])))
    assert no_c == []


def test_closed_handle_raises(small_net):
    net = jacnet.Net([2, 2])
    net.close()
    net.close()  # idempotent
    assert net.closed
    with pytest.raises(ValueError, match="closed"):
        net.forward(np.zeros((1, 2), np.float32))


def _copy_package(tmp_path):
    """The package copied to tmp_path/a/b/jacnet: away from the build tree."""
    import shutil
    pkg = tmp_path / "a" / "b" / "jacnet"
    shutil.copytree(os.path.dirname(jacnet.__file__), pkg, ignore=shutil.ignore_patterns("__pycache__"))
    return pkg


def _import_in(tmp_path, pkg, code="import jacnet", **env_changes):
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k not in ("JACNET_LIB", "LD_LIBRARY_PATH")}
    env.update(PYTHONPATH=str(pkg.parent), **env_changes)
    # cwd outside the source tree, so `python -c` cannot import ./jacnet
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=str(tmp_path))


def test_library_lookup_failure_lists_paths(tmp_path):
    """With the package copied away from the build tree and JACNET_LIB wrong,
    the import error names every path it tried, in the documented order, and
    no build-tree path (the copy is not a checkout's python/jacnet)."""
    import ctypes.util
    if ctypes.util.find_library("jacnet"):
        pytest.skip("an installed libjacnet is on the loader path; the lookup would succeed")
    pkg = _copy_package(tmp_path)
    r = _import_in(tmp_path, pkg, JACNET_LIB=str(tmp_path / "nope.so"))
    assert r.returncode != 0
    assert "LibraryNotFound" in r.stderr
    own = str(pkg / "libjacnet.so.0") + " [package copy]"
    env = str(tmp_path / "nope.so") + " [$JACNET_LIB]"
    loader = "libjacnet.so.0 [dynamic loader search path]"
    for line in (own, env, loader):
        assert line in r.stderr, r.stderr
    assert r.stderr.index(own) < r.stderr.index(env) < r.stderr.index(loader)
    assert "build tree" not in r.stderr


def test_package_copy_wins_over_jacnet_lib(tmp_path):
    """A library inside the package (what make wheel ships) is loaded before
    $JACNET_LIB is even looked at."""
    import shutil
    pkg = _copy_package(tmp_path)
    shutil.copy(os.path.realpath(jacnet.LIBRARY_PATH), pkg / "libjacnet.so.0")
    r = _import_in(tmp_path, pkg, "import jacnet; print(jacnet.LIBRARY_PATH)", JACNET_LIB=str(tmp_path / "nope.so"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(pkg / "libjacnet.so.0")


def test_recorded_install_path_is_used(tmp_path):
    """jacnet/_paths.py (written at install) is tried after $JACNET_LIB."""
    pkg = _copy_package(tmp_path)
    (pkg / "_paths.py").write_text("INSTALLED_LIBRARY = %r\n" % os.path.realpath(jacnet.LIBRARY_PATH))
    r = _import_in(tmp_path, pkg, "import jacnet; print(jacnet.LIBRARY_PATH)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == os.path.realpath(jacnet.LIBRARY_PATH)


def test_package_version_checked_against_library(tmp_path):
    """A package built from a newer jacnet.h than the library refuses it;
    one from the same header reports that version as __version__."""
    pkg = _copy_package(tmp_path)
    major, minor, patch = jacnet.library_version()
    (pkg / "_version.py").write_text("VERSION = (%d, %d, 0)\n" % (major, minor + 1))
    r = _import_in(tmp_path, pkg, JACNET_LIB=os.path.realpath(jacnet.LIBRARY_PATH))
    assert r.returncode != 0
    assert "ImportError" in r.stderr and "needs %d.%d" % (major, minor + 1) in r.stderr, r.stderr
    (pkg / "_version.py").write_text("VERSION = (%d, %d, %d)\n" % (major, minor, patch))
    r = _import_in(tmp_path, pkg, "import jacnet; print(jacnet.__version__)",
                   JACNET_LIB=os.path.realpath(jacnet.LIBRARY_PATH))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "%d.%d.%d" % (major, minor, patch)


def test_source_tree_version_is_the_header():
    from jacnet import _lib
    from jacnet._header import version_from_header
    if not os.path.exists(_lib.SOURCE_HEADER):
        pytest.skip("not the source tree's package")
    assert _lib.PACKAGE_VERSION == version_from_header(_lib.SOURCE_HEADER) == jacnet.library_version()
    assert jacnet.__version__ == jacnet.VERSION_STRING


def test_version():
    major, minor, patch = jacnet.library_version()
    assert major == jacnet.EXPECTED_MAJOR
    assert jacnet.VERSION_STRING == "%d.%d.%d" % (major, minor, patch)
    assert os.path.exists(jacnet.LIBRARY_PATH)


def test_labels_beyond_32_bits_refused(small_net, no_c):
    # A cast to int32 would wrap 2**40 + 1 around to label 1 and train on it.
    X = np.zeros((3, 6), np.float32)
    with pytest.raises(ValueError, match="32 bits"):
        jacnet.train(small_net, jacnet.Objective(), X, np.array([0, 1, 2**40 + 1]), epochs=1)
    with pytest.raises(ValueError, match="32 bits"):
        small_net.error_rate(X, np.array([0, -2**33, 1]))
    assert no_c == []
