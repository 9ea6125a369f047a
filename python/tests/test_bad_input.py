"""Bad input at the edges a user meets first (the C side: tests/test_edges.c).

Each is refused with a message naming the argument or the file: data of the
wrong width, labels beyond the outputs, a model file for another
architecture, empty data files, a directory where a file is expected."""
import gzip

import numpy as np
import pytest

import jacnet
from jacnet import _lib

rng = np.random.default_rng(8)
X8 = rng.random((12, 8), dtype=np.float32)
X6 = rng.random((12, 6), dtype=np.float32)
Y3 = np.arange(12, dtype=np.int32) % 3


def _net(D=8, K=3):
    return jacnet.Net([D, 5, K]).init(1)


@pytest.mark.parametrize("call", ["forward", "predict", "jacobian", "jacobian_sqnorm", "objective",
                                  "error_rate", "train"])
def test_input_width_mismatch_names_the_argument(call):
    with _net() as net, jacnet.Objective() as obj:
        calls = {
            "forward": lambda: net.forward(X6),
            "predict": lambda: net.predict(X6),
            "jacobian": lambda: net.jacobian(X6),
            "jacobian_sqnorm": lambda: net.jacobian_sqnorm(X6),
            "objective": lambda: net.objective(obj, X6, np.zeros((12, 3), np.float32)),
            "error_rate": lambda: net.error_rate(X6, Y3),
            "train": lambda: jacnet.train(net, obj, X6, Y3, epochs=1),
        }
        with pytest.raises(ValueError, match=r"^X: shape \(12, 6\), expected \(n, 8\)$"):
            calls[call]()


def test_validation_width_mismatch_names_valid():
    with _net() as net, jacnet.Objective() as obj:
        with pytest.raises(ValueError, match=r"valid\[0\]: shape \(12, 6\), expected \(n, 8\)"):
            jacnet.train(net, obj, X8, Y3, epochs=1, valid=(X6, Y3))


def test_labels_beyond_outputs():
    y = Y3.copy()
    y[7] = 5
    with _net() as net, jacnet.Objective() as obj:
        with pytest.raises(ValueError, match=r"y: label 5 at index 7, the network has 3 outputs \(labels 0\.\.2\)"):
            jacnet.train(net, obj, X8, y, epochs=1)
        with pytest.raises(ValueError, match=r"valid\[1\]: label 5 at index 7"):
            jacnet.train(net, obj, X8, Y3, epochs=1, valid=(X8, y))
        with pytest.raises(ValueError, match=r"y: label 5 at index 7"):
            net.error_rate(X8, y)
        with pytest.raises(ValueError, match=r"y: label -1 at index 0"):
            net.error_rate(X8, np.r_[-1, Y3[1:]])
    # One output: a binary classifier, labels 0 and 1 (predict thresholds at 0.5).
    with _net(K=1) as net:
        assert 0.0 <= net.error_rate(X8, Y3 % 2) <= 1.0
        with pytest.raises(ValueError, match=r"y: label 2 at index 2, the network has 1 output \(labels 0\.\.1\)"):
            net.error_rate(X8, Y3)


def test_model_file_for_another_architecture(tmp_path):
    path = tmp_path / "mnist-like.jn"
    with _net(D=8) as net:
        net.save(path)
    with jacnet.Net.load(path) as net, jacnet.Objective() as obj:
        pattern = r"X: shape \(12, 6\), expected \(n, 8\): the network loaded from '.*mnist-like\.jn' takes 8 inputs"
        with pytest.raises(ValueError, match=pattern):
            net.forward(X6)
        with pytest.raises(ValueError, match=pattern):
            jacnet.train(net, obj, X6, Y3, epochs=1)
        with pytest.raises(ValueError, match=r"label 3 .*; it was loaded from '.*mnist-like\.jn'"):
            jacnet.train(net, obj, X8, Y3 + 1, epochs=1)
        with _net(D=6) as other, pytest.raises(ValueError, match=r"params: 63 values, the network has 53"):
            other.params = net.params


def _expect_file_error(call, path, status, detail):
    with pytest.raises(jacnet.JacnetError) as ei:
        call()
    e = ei.value
    assert e.status == status, (e.status_name, e.message)
    assert str(path) in e.message, e.message
    assert detail in e.message, e.message


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gzip"])
def test_empty_data_files(tmp_path, gz):
    empty = tmp_path / ("empty.gz" if gz else "empty")
    empty.write_bytes(gzip.compress(b"") if gz else b"")
    labels = tmp_path / "labels"
    labels.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 1, 3]))
    fmt = _lib.ERR_FORMAT
    _expect_file_error(lambda: jacnet.load_idx(empty, labels), empty, fmt, "empty")
    _expect_file_error(lambda: jacnet.load_idx(labels, empty), empty, fmt, "empty")
    _expect_file_error(lambda: jacnet.load_usps(empty), empty, fmt, "empty")
    _expect_file_error(lambda: jacnet.load_csv(empty), empty, fmt, "empty")
    header = tmp_path / "header.csv"
    header.write_text("label,a,b\n")
    _expect_file_error(lambda: jacnet.load_csv(header), header, fmt, "no data rows")
    _expect_file_error(lambda: jacnet.Net.load(empty), empty, fmt, "offset 0")


def test_directory_where_a_file_is_expected(tmp_path):
    d = tmp_path / "a-directory"
    d.mkdir()
    labels = tmp_path / "labels"
    labels.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 1, 3]))
    io = _lib.ERR_IO
    _expect_file_error(lambda: jacnet.load_idx(d, labels), d, io, "directory")
    _expect_file_error(lambda: jacnet.load_idx(labels, d), d, io, "directory")
    _expect_file_error(lambda: jacnet.load_usps(d), d, io, "directory")
    _expect_file_error(lambda: jacnet.load_csv(d), d, io, "directory")
    _expect_file_error(lambda: jacnet.Net.load(d), d, io, "directory")
    with _net() as net:
        _expect_file_error(lambda: net.save(d), d, io, "directory")
    assert d.is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-directory", "labels"]  # no temporary left
    # And a file where the data directory is expected.
    _expect_file_error(lambda: jacnet.mnist_splits(labels), labels, io, "not a data directory")
    _expect_file_error(lambda: jacnet.usps_splits(labels), labels, io, "not a data directory")
