"""load_idx / load_usps on small files written here, and on real data when JACNET_DATA is set."""
import gzip
import os
import struct

import numpy as np
import pytest

import jacnet


def write_idx(tmp_path, images, labels, gz=False):
    n, r, c = images.shape
    img = struct.pack(">IIII", 0x803, n, r, c) + images.astype(np.uint8).tobytes()
    lab = struct.pack(">II", 0x801, n) + labels.astype(np.uint8).tobytes()
    op = gzip.open if gz else open
    ip, lp = tmp_path / ("img.idx3" + (".gz" if gz else "")), tmp_path / ("lab.idx1" + (".gz" if gz else ""))
    with op(ip, "wb") as f:
        f.write(img)
    with op(lp, "wb") as f:
        f.write(lab)
    return ip, lp


@pytest.mark.parametrize("gz", [False, True])
def test_load_idx(tmp_path, gz):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (7, 4, 3))
    labels = np.array([3, 1, 4, 1, 5, 9, 2])
    ip, lp = write_idx(tmp_path, images, labels, gz)
    X, y = jacnet.load_idx(ip, str(lp))
    assert X.shape == (7, 12) and X.dtype == np.float32 and X.flags.c_contiguous and X.flags.owndata
    assert y.dtype == np.int32
    np.testing.assert_array_equal(y, labels)
    np.testing.assert_allclose(X, images.reshape(7, 12) / 255.0, rtol=1e-6)
    Xb, yb = jacnet.load_idx(ip, lp, binarize=True)
    np.testing.assert_array_equal(Xb, (images.reshape(7, 12) > 127.5).astype(np.float32))


def test_load_idx_errors(tmp_path):
    images = np.zeros((3, 2, 2))
    ip, lp = write_idx(tmp_path, images, np.array([1, 2, 3]))
    data = ip.read_bytes()
    ip.write_bytes(data[:-1])
    with pytest.raises(jacnet.JacnetError) as ei:
        jacnet.load_idx(ip, lp)
    assert ei.value.status_name == "bad file format" and "img.idx3" in ei.value.message
    with pytest.raises(jacnet.JacnetError) as ei:
        jacnet.load_idx(tmp_path / "missing", lp)
    assert ei.value.status_name == "input/output error"
    with pytest.raises(TypeError):
        jacnet.load_idx(3, lp)


def test_load_usps(tmp_path):
    rng = np.random.default_rng(1)
    vals = np.round(rng.uniform(-1, 1, (5, 256)), 4)
    labels = [6, 5, 4, 7, 3]
    lines = ["%s %s" % (lab if i % 2 else "%d.0000" % lab, " ".join("%.4f" % v for v in row))
             for i, (lab, row) in enumerate(zip(labels, vals))]
    p = tmp_path / "zip.train"
    p.write_text("\n".join(lines) + "\n")
    X, y = jacnet.load_usps(p)
    assert X.shape == (5, 256) and X.dtype == np.float32
    np.testing.assert_array_equal(y, labels)
    np.testing.assert_allclose(X, (vals + 1) / 2, atol=1e-6)
    with gzip.open(tmp_path / "zip.test.gz", "wt") as f:
        f.write("\n".join(lines) + "\n")
    X2, y2 = jacnet.load_usps(tmp_path / "zip.test.gz")
    np.testing.assert_array_equal(X2, X)


def test_load_usps_errors(tmp_path):
    p = tmp_path / "bad"
    p.write_text("6 0.5 0.5\n")
    with pytest.raises(jacnet.JacnetError) as ei:
        jacnet.load_usps(p)
    assert ei.value.status_name == "bad file format" and "line 1" in ei.value.message


def data_dir():
    d = os.environ.get("JACNET_DATA")
    if not d:
        pytest.skip("JACNET_DATA is not set; real MNIST/USPS tests skipped")
    return d


def test_real_mnist():
    d = os.path.join(data_dir(), "mnist")
    if not os.path.exists(os.path.join(d, "t10k-images-idx3-ubyte.gz")):
        pytest.skip("no MNIST in %s" % d)
    X, y = jacnet.load_idx(os.path.join(d, "t10k-images-idx3-ubyte.gz"), os.path.join(d, "t10k-labels-idx1-ubyte.gz"))
    assert X.shape == (10000, 784) and y.shape == (10000,)
    assert 0.0 <= X.min() and X.max() <= 1.0
    assert np.bincount(y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    splits = jacnet.mnist_splits(data_dir())
    assert [splits[k][0].shape[0] for k in ("train", "valid", "test")] == [50000, 10000, 10000]
    np.testing.assert_array_equal(splits["test"][1], y)


def test_real_usps():
    d = os.path.join(data_dir(), "usps")
    path = os.path.join(d, "zip.train.gz")
    if not os.path.exists(path):
        pytest.skip("no USPS in %s" % d)
    X, y = jacnet.load_usps(path)
    assert X.shape == (7291, 256) and set(np.unique(y)) == set(range(10))
    splits = jacnet.usps_splits(data_dir())
    assert splits["valid"][0].shape[0] == 2000
