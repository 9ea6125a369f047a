"""The products backend's process-wide settings: the thread count and the
BLAS kernel that runs."""
from . import _lib
from ._lib import F


def set_threads(n: int) -> None:
    """Threads of libjacnet's own for its products and the work around them; the BLAS is
    held at one thread (process-wide: numpy's OpenBLAS too). jn_set_threads."""
    F.jn_set_threads(int(n))


def blas_kernel() -> str:
    """The BLAS kernel this process runs (OpenBLAS's core name, e.g. 'Cooperlake', or
    'unknown'): results repeat bit for bit on one kernel only. jn_blas_kernel."""
    return _lib._text(F.jn_blas_kernel())
