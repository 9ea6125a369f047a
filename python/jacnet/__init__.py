"""jacnet: Python (ctypes + numpy) binding of libjacnet.

MLPs trained with squared error + lambda * ||J_F(x~)||_F^2 (Rifai et al.,
TR 1359). The library is found through $JACNET_LIB, then the build tree
(../../lib/libjacnet.so.0 from this package), then the installed copy.
See docs/PYTHON.md.
"""
from ._lib import (JacnetError, LibraryNotFound, LIBRARY_PATH, VERSION_NUMBER, VERSION_STRING,
                   EXPECTED_MAJOR, status_name)
from ._core import (Net, Objective, Optimizer, Rng, train, load_idx, load_usps, load_csv,
                    mnist_splits, usps_splits, set_threads)

__version__ = "0.1.0"  # the binding's version; the library's is jacnet.library_version()


def library_version():
    """(major, minor, patch) of the loaded libjacnet."""
    return VERSION_NUMBER // 10000, VERSION_NUMBER // 100 % 100, VERSION_NUMBER % 100


__all__ = ["JacnetError", "LibraryNotFound", "Net", "Objective", "Optimizer", "Rng", "train",
           "load_idx", "load_usps", "load_csv", "mnist_splits", "usps_splits", "set_threads",
           "library_version", "status_name", "LIBRARY_PATH", "VERSION_STRING", "EXPECTED_MAJOR"]
