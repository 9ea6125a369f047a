"""What every module of the package shares: the owned-handle base class
(_Handle) and the array type aliases of the annotations."""
from __future__ import annotations

import ctypes
import os
import weakref
from typing import Any, Callable, Optional, Tuple, TypeVar, Union

try:
    from typing import Literal
except ImportError:  # Python 3.7
    from typing_extensions import Literal  # type: ignore[assignment]

import numpy as np
import numpy.typing as npt

from . import _lib
from ._lib import F, JacnetError

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int32]
PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
_H = TypeVar("_H", bound="_Handle")


def _free_handle(free_fn: Callable[[int], None], address: int, *keep_alive: Any) -> None:
    # keep_alive: buffers C borrows; the finalizer holds them until C lets go.
    free_fn(address)


class _Handle:
    """An owned C handle: close() frees it (idempotent), `with` closes it, and
    a weakref.finalize frees it if the object is collected unclosed.

    A handle is never shared by two Python objects: copy.copy, copy.deepcopy
    and pickle either make a new C object (Net and Objective override the
    methods below) or raise TypeError (the default here), so closing one
    object can never leave another holding a freed pointer."""

    _free_name: str = ""  # the jn_*_free function, by name (looked up in F at free time)
    _address: Optional[int]
    # Why the class cannot be copied; subclasses that can override __copy__ etc.
    _no_copy = "libjacnet has no function to copy it"

    def _adopt(self, handle: Union[ctypes.c_void_p, int, None], keep_alive: Tuple[Any, ...] = ()) -> None:
        address = handle.value if isinstance(handle, ctypes.c_void_p) else handle
        if not address:
            raise JacnetError(_lib.ERR_NOMEM, _lib.status_name(_lib.ERR_NOMEM), "constructor returned NULL")
        self._address = address
        self._finalizer = weakref.finalize(self, _free_handle, getattr(F, self._free_name), address,
                                           *keep_alive)

    @property
    def _h(self) -> int:
        address = getattr(self, "_address", None)
        if address is None:
            raise ValueError("jacnet.%s is closed (close() was called, or it was never opened)"
                             % type(self).__name__.lstrip("_"))
        return address

    @property
    def closed(self) -> bool:
        return getattr(self, "_address", None) is None

    def close(self) -> None:
        fin = getattr(self, "_finalizer", None)
        if fin is not None:
            fin()
        self._address = None

    def _refuse_copy(self, what):
        return TypeError("jacnet.%s cannot be %s: %s" % (type(self).__name__.lstrip("_"), what, self._no_copy))

    def __copy__(self):
        raise self._refuse_copy("copied")

    def __deepcopy__(self, memo):
        raise self._refuse_copy("copied")

    def __reduce__(self):
        raise self._refuse_copy("pickled")

    def __setstate__(self, state):
        # Only a pickle made before handles pickled by value lands here: its
        # state holds a C address from another process, never to be used.
        raise TypeError("this pickle of jacnet.%s holds a C pointer from another process (made by an older "
                        "jacnet) and cannot be loaded" % type(self).__name__)

    def __enter__(self: _H) -> _H:
        return self

    def __exit__(self, *exc: Any) -> Literal[False]:
        self.close()
        return False
