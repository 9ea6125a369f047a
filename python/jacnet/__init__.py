"""jacnet: Python (ctypes + numpy) binding of libjacnet.

MLPs trained with squared error + lambda * ||J_F(x~)||_F^2 (Rifai et al.,
TR 1359). The library is looked up, in order, as the package's own copy
(wheels from `make wheel`), $JACNET_LIB, the library recorded when the
package was installed, the build tree (only for the source tree's
python/jacnet), then the system's; see docs/PYTHON.md.
"""
from typing import Tuple

from ._lib import (JacnetError, LibraryNotFound, LIBRARY_PATH, PACKAGE_VERSION, VERSION_NUMBER, VERSION_STRING,
                   EXPECTED_MAJOR, status_name)
from .backend import blas_kernel, set_threads
from .data import load_csv, load_idx, load_usps, mnist_splits, usps_splits
from .net import Net
from .noise import Rng
from .objective import Objective
from .training import (Optimizer, train, RECIPE_BATCH_SIZE, RECIPE_LR, RECIPE_MOMENTUM, RECIPE_EPOCHS,
                       RECIPE_PATIENCE)

# The jacnet.h version the package was built from (the library's own is
# library_version(); import checks they share the major version and that
# the library's minor is at least the package's).
__version__ = "%d.%d.%d" % PACKAGE_VERSION if PACKAGE_VERSION else VERSION_STRING


def library_version() -> Tuple[int, int, int]:
    """(major, minor, patch) of the loaded libjacnet."""
    return VERSION_NUMBER // 10000, VERSION_NUMBER // 100 % 100, VERSION_NUMBER % 100


__all__ = ["JacnetError", "LibraryNotFound", "Net", "Objective", "Optimizer", "Rng", "train",
           "load_idx", "load_usps", "load_csv", "mnist_splits", "usps_splits", "set_threads", "blas_kernel",
           "library_version", "status_name", "LIBRARY_PATH", "VERSION_STRING", "EXPECTED_MAJOR",
           "RECIPE_BATCH_SIZE", "RECIPE_LR", "RECIPE_MOMENTUM",
           "RECIPE_EPOCHS", "RECIPE_PATIENCE"]
