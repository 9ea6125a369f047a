"""Loading libjacnet, the prototype table and the error type.

Everything that touches ctypes declarations lives here; the other modules only call
through ``F`` (a namespace holding one prototyped function per C symbol), so
a test can replace a function in ``F`` to see whether C was reached.
"""
import ctypes
import ctypes.util
import os
import types
from typing import Any, List, Optional, Tuple

import numpy as np

from ._header import version_from_header

HERE = os.path.dirname(os.path.abspath(__file__))
# The source tree this package sits in, if it is python/jacnet of a checkout.
SOURCE_HEADER = os.path.normpath(os.path.join(HERE, "..", "..", "include", "jacnet.h"))


def _package_version() -> Optional[Tuple[int, int, int]]:
    """The jacnet.h version this package was built from: jacnet/_version.py,
    written by setup.py (pip, make wheel) and make install-python, else the
    header of the source tree the package sits in."""
    try:
        from ._version import VERSION
        return tuple(VERSION)  # type: ignore[return-value]
    except ImportError:
        pass
    if os.path.exists(SOURCE_HEADER):
        return version_from_header(SOURCE_HEADER)
    return None


# A library with another major version has another ABI (docs/ABI.md) and is
# refused; within a major version the minor must be at least the package's,
# since a newer minor only adds functions and the table below may name some.
# (Without a known version: the table was first written for 0.1.)
PACKAGE_VERSION = _package_version()
EXPECTED_MAJOR, MINIMUM_MINOR = PACKAGE_VERSION[:2] if PACKAGE_VERSION else (0, 1)

c_size_p = ctypes.POINTER(ctypes.c_size_t)

# Status codes, mirrored from JN_STATUS_LIST in jacnet.h (the names come from
# jn_status_str at run time; only the numbers are repeated here).
OK, ERR_INVALID, ERR_NOMEM, ERR_IO, ERR_FORMAT, ERR_DIVERGED, ERR_STOPPED = range(7)

ACT = {"tanh": 0, "sigmoid": 1, "relu": 2, "linear": 3, "softmax": 4}
LOSS = {"mse": 0, "ce": 1}
PENALTY_TARGET = {"output": 0, "logits": 1}
PENALTY_FORM = {"auto": 0, "direct": 1, "gram": 2}
PRECISION = {"fp32": 0, "bf16": 1, "auto": 2}
NOISE = {"none": 0, "gaussian": 1, "uniform": 2, "mask": 3}
SCHEDULE = {"constant": 0, "step": 1, "inverse": 2}
# MODEL (the presets' names) and DEFAULTS (the recipe) are read from the
# library below: src/train/presets.c is the one place they are written.
DATASET_BORROW = 1
LOAD_BINARIZE = 1


def enum_name(table, value):
    """The name of an enum value in one of the tables above (C returned it)."""
    for name, v in table.items():
        if v == value:
            return name
    raise ValueError("libjacnet returned %d, not one of %s" % (value, table))


class JacnetError(Exception):
    """A libjacnet call returned a status other than JN_OK.

    Attributes: status (int), status_name (jn_status_str(status)), message
    (jn_last_error() right after the failing call), function (C name);
    reports (the epochs so far) when train() failed."""

    def __init__(self, status: int, status_name: str, message: str, function: Optional[str] = None) -> None:
        self.reports: Optional[List[Any]] = None
        self.status = int(status)
        self.status_name = status_name
        self.message = message
        self.function = function
        text = message or status_name
        super().__init__("%s (%s)" % (text, status_name) if message else text)


class LibraryNotFound(OSError):
    """No candidate path gave a loadable libjacnet; .tried lists (path, reason)."""

    def __init__(self, tried):
        self.tried = tried
        lines = "\n".join("  %s: %s" % (p, why) for p, why in tried)
        super().__init__("libjacnet could not be loaded; tried:\n%s\n"
                         "Set JACNET_LIB to the path of libjacnet.so.%d." % (lines, EXPECTED_MAJOR))


class epoch_report(ctypes.Structure):
    """Mirror of jn_epoch_report (jacnet.h); the trainer's epoch callback gets a pointer."""
    _fields_ = [
        ("epoch", ctypes.c_uint),
        ("train_objective", ctypes.c_double),
        ("valid_error", ctypes.c_double),
        ("best_valid_error", ctypes.c_double),
        ("best_epoch", ctypes.c_uint),
        ("seconds", ctypes.c_double),
        ("lr", ctypes.c_double),
        # appended in 0.2
        ("train_loss", ctypes.c_double),
        ("train_penalty", ctypes.c_double),
        ("train_jacobian_sqnorm", ctypes.c_double),
        ("train_error", ctypes.c_double),
        ("recoveries", ctypes.c_uint),
    ]


EPOCH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(epoch_report), ctypes.c_void_p)
BATCH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_uint, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_void_p)


def NULL_EPOCH_CALLBACK() -> Any:
    """A NULL epoch callback (no function): what unsets one in C."""
    return EPOCH_CALLBACK()  # type: ignore[call-overload]


def NULL_BATCH_CALLBACK() -> Any:
    return BATCH_CALLBACK()  # type: ignore[call-overload]

# ---- the prototype table ---------------------------------------------------
# name: (restype, argtypes). "status" marks functions returning jn_status;
# they get an errcheck raising JacnetError. Handles and arrays are c_void_p
# (arrays are passed as arr.ctypes.data, so nothing is copied).
_st = "status"
_vp = ctypes.c_void_p
_pvp = ctypes.POINTER(ctypes.c_void_p)
_sz = ctypes.c_size_t
_u64 = ctypes.c_uint64
_uint = ctypes.c_uint
_int = ctypes.c_int
_dbl = ctypes.c_double
_pdbl = ctypes.POINTER(ctypes.c_double)
_str = ctypes.c_char_p

PROTOTYPES = {
    "jn_version": (_uint, []),
    "jn_version_string": (_str, []),
    "jn_status_str": (_str, [_int]),
    "jn_last_error": (_str, []),
    "jn_set_threads": (_st, [_int]),
    "jn_blas_kernel": (_str, []),
    "jn_model_name": (_str, [_int]),
    "jn_model_uses": (_uint, [_int]),
    "jn_default_value": (_dbl, [_int]),
    # rng and noise
    "jn_rng_create": (_st, [_pvp, _u64]),
    "jn_rng_create_stream": (_st, [_pvp, _u64, _u64]),
    "jn_rng_free": (None, [_vp]),
    "jn_rng_next": (_u64, [_vp]),
    "jn_rng_uniform": (_dbl, [_vp]),
    "jn_rng_gaussian": (_st, [_vp, _vp, _sz, _dbl]),
    "jn_rng_uniform_fill": (_st, [_vp, _vp, _sz, _dbl]),
    "jn_corrupt": (_st, [_vp, _int, _dbl, _vp, _vp, _sz]),
    # networks
    "jn_net_create": (_st, [_pvp, c_size_p, _sz, _int, _int]),
    "jn_net_free": (None, [_vp]),
    "jn_net_clone": (_st, [_pvp, _vp]),
    "jn_net_param_count": (_sz, [_vp]),
    "jn_net_layers": (_sz, [_vp]),
    "jn_net_size": (_sz, [_vp, _sz]),
    "jn_net_hidden_act": (_int, [_vp]),
    "jn_net_output_act": (_int, [_vp]),
    "jn_net_get_params": (_st, [_vp, _vp, _sz]),
    "jn_net_set_params": (_st, [_vp, _vp, _sz]),
    "jn_net_init": (_st, [_vp, _u64]),
    "jn_net_forward": (_st, [_vp, _vp, _sz, _vp]),
    "jn_net_hidden": (_st, [_vp, _vp, _sz, _sz, _vp]),
    "jn_net_predict": (_st, [_vp, _vp, _sz, _vp]),
    "jn_net_jacobian": (_st, [_vp, _vp, _sz, _vp]),
    "jn_net_jacobian_sqnorm": (_st, [_vp, _vp, _sz, _vp]),
    "jn_net_hessian_sqnorm": (_st, [_vp, _vp, _sz, _vp]),
    "jn_net_save": (_st, [_vp, _str]),
    "jn_net_load": (_st, [_pvp, _str]),
    # objectives
    "jn_objective_create": (_st, [_pvp, _int]),
    "jn_objective_create_model": (_st, [_pvp, _int, _dbl, _dbl]),
    "jn_objective_free": (None, [_vp]),
    "jn_objective_clone": (_st, [_pvp, _vp]),
    "jn_objective_set_l2": (_st, [_vp, _dbl]),
    "jn_objective_set_jacobian": (_st, [_vp, _dbl, _uint]),
    "jn_objective_set_penalty_target": (_st, [_vp, _int]),
    "jn_objective_set_penalty_every": (_st, [_vp, _uint]),
    "jn_objective_set_penalty_form": (_st, [_vp, _int]),
    "jn_objective_set_precision": (_st, [_vp, _int]),
    "jn_objective_precision_used": (_int, [_vp]),
    "jn_objective_precision_ratio": (_dbl, [_vp]),
    "jn_objective_set_seed": (_st, [_vp, _u64]),
    "jn_objective_set_loss": (_st, [_vp, _int]),
    "jn_objective_set_noise": (_st, [_vp, _int, _dbl, _dbl]),
    # the getters, one per setting: Objective keeps no copy of them
    "jn_objective_loss": (_int, [_vp]),
    "jn_objective_l2": (_dbl, [_vp]),
    "jn_objective_jacobian": (_dbl, [_vp]),
    "jn_objective_projections": (_uint, [_vp]),
    "jn_objective_penalty_target": (_int, [_vp]),
    "jn_objective_penalty_form": (_int, [_vp]),
    "jn_objective_penalty_every": (_uint, [_vp]),
    "jn_objective_seed": (_u64, [_vp]),
    "jn_objective_precision": (_int, [_vp]),
    "jn_objective_noise": (_int, [_vp]),
    "jn_objective_input_std": (_dbl, [_vp]),
    "jn_objective_jacobian_std": (_dbl, [_vp]),
    "jn_net_objective": (_st, [_vp, _vp, _vp, _vp, _vp, _sz, _pdbl, _vp]),
    "jn_net_check_gradient": (_st, [_vp, _vp, _vp, _vp, _vp, _sz, _pdbl]),
    "jn_net_input_gradient": (_st, [_vp, _vp, _vp, _vp, _sz, _vp]),
    # optimizers
    "jn_optimizer_create_sgd": (_st, [_pvp, _dbl, _dbl]),
    "jn_optimizer_create_adam": (_st, [_pvp, _dbl, _dbl, _dbl, _dbl]),
    "jn_optimizer_free": (None, [_vp]),
    "jn_optimizer_set_schedule": (_st, [_vp, _int, _dbl, ctypes.c_ulong]),
    "jn_optimizer_lr": (_dbl, [_vp]),
    "jn_optimizer_scale_lr": (_st, [_vp, _dbl]),
    "jn_optimizer_step": (_st, [_vp, _vp, _vp]),
    "jn_optimizer_reset": (None, [_vp]),
    # datasets
    "jn_dataset_create": (_st, [_pvp, _vp, _vp, _sz, _sz, _sz, _uint]),
    "jn_dataset_free": (None, [_vp]),
    "jn_dataset_count": (_sz, [_vp]),
    "jn_dataset_dim": (_sz, [_vp]),
    "jn_dataset_classes": (_sz, [_vp]),
    "jn_dataset_features": (_vp, [_vp]),
    "jn_dataset_labels": (_vp, [_vp]),
    "jn_dataset_create_targets": (_st, [_pvp, _vp, _vp, _sz, _sz, _sz, _uint]),
    "jn_dataset_targets": (_vp, [_vp]),
    "jn_net_mean_loss": (_st, [_vp, _vp, _vp, _pdbl]),
    "jn_net_error_rate": (_st, [_vp, _vp, _pdbl]),
    "jn_dataset_load_idx": (_st, [_pvp, _str, _str, _uint]),
    "jn_dataset_load_usps": (_st, [_pvp, _str]),
    "jn_dataset_load_csv": (_st, [_pvp, _str, _uint]),
    "jn_load_mnist": (_st, [_str, _uint, _pvp, _pvp, _pvp]),
    "jn_load_usps": (_st, [_str, _pvp, _pvp, _pvp]),
    # trainer
    "jn_trainer_create": (_st, [_pvp]),
    "jn_trainer_free": (None, [_vp]),
    "jn_trainer_set_epochs": (_st, [_vp, _uint]),
    "jn_trainer_set_batch_size": (_st, [_vp, _sz]),
    "jn_trainer_set_patience": (_st, [_vp, _uint]),
    "jn_trainer_set_seed": (_st, [_vp, _u64]),
    "jn_trainer_set_epoch_callback": (_st, [_vp, EPOCH_CALLBACK, _vp]),
    "jn_trainer_set_batch_callback": (_st, [_vp, BATCH_CALLBACK, _vp]),
    "jn_trainer_set_checkpoint": (_st, [_vp, _str, _uint]),
    "jn_trainer_set_recovery": (_st, [_vp, _dbl, _dbl, _uint]),
    "jn_trainer_epochs": (_uint, [_vp]),
    "jn_trainer_batch_size": (_sz, [_vp]),
    "jn_trainer_patience": (_uint, [_vp]),
    "jn_trainer_seed": (_u64, [_vp]),
    "jn_trainer_checkpoint": (_str, [_vp, ctypes.POINTER(_uint)]),
    "jn_trainer_recovery": (_dbl, [_vp, _pdbl, ctypes.POINTER(_uint)]),
    "jn_trainer_shard_size": (_uint, [_vp, ctypes.POINTER(_uint)]),
    "jn_trainer_run": (_st, [_vp, _vp, _vp, _vp, _vp, _vp]),
}


def _candidates() -> List[Tuple[str, str]]:
    """(path, how) in lookup order (docs/PYTHON.md, "Which library is loaded"):

    1. the package's own copy, jacnet/libjacnet.so.MAJOR (wheels from make wheel);
    2. $JACNET_LIB;
    3. the library recorded when the package was installed (jacnet/_paths.py:
       make install-python writes its libdir, pip install ./python the libdir
       pkg-config gave for jacnet);
    4. the build tree, lib/ of the checkout, only when the package is that
       checkout's python/jacnet;
    5. ctypes.util.find_library("jacnet"), then libjacnet.so.MAJOR on the
       dynamic loader's search path."""
    name = "libjacnet.so.%d" % EXPECTED_MAJOR
    out = [(os.path.join(HERE, name), "package copy")]
    env = os.environ.get("JACNET_LIB")
    if env:
        out.append((env, "$JACNET_LIB"))
    try:
        from ._paths import INSTALLED_LIBRARY
        out.append((INSTALLED_LIBRARY, "recorded at install (jacnet/_paths.py)"))
    except ImportError:
        pass
    if os.path.exists(SOURCE_HEADER):
        out.append((os.path.normpath(os.path.join(HERE, "..", "..", "lib", name)), "build tree"))
    found = ctypes.util.find_library("jacnet")
    if found:
        out.append((found, "ctypes.util.find_library('jacnet')"))
    out.append((name, "dynamic loader search path"))
    return out


def _load() -> Tuple[ctypes.CDLL, str]:
    # oneDNN's OpenMP threads (libgomp) spin after each bfloat16 product
    # unless OMP_WAIT_POLICY=passive, and at 2 threads they then take the
    # cores the library's own pool needs (a bfloat16 step ran 1.3-1.45 times
    # slower: docs/PERFORMANCE.md). libgomp reads the variable once, when it
    # is loaded, which is now unless the process loaded it before. A value
    # the user set is kept; ours is removed again once the library is
    # loaded, so that programs started from Python do not inherit it.
    ours = "OMP_WAIT_POLICY" not in os.environ
    if ours:
        os.environ["OMP_WAIT_POLICY"] = "passive"
    tried = []
    try:
        for path, how in _candidates():
            if os.sep in path and not os.path.exists(path):
                tried.append(("%s [%s]" % (path, how), "no such file"))
                continue
            try:
                return ctypes.CDLL(path), path
            except OSError as e:
                tried.append(("%s [%s]" % (path, how), str(e)))
    finally:
        if ours:
            del os.environ["OMP_WAIT_POLICY"]
    raise LibraryNotFound(tried)


def _declare(lib):
    """Apply PROTOTYPES to lib; return a namespace of the prototyped functions."""
    ns = types.SimpleNamespace()
    for name, (restype, argtypes) in PROTOTYPES.items():
        fn = getattr(lib, name)  # AttributeError names a symbol the library lacks
        fn.argtypes = argtypes
        if restype == _st:
            fn.restype = ctypes.c_int
            fn.errcheck = _errcheck
        else:
            fn.restype = restype
        setattr(ns, name, fn)
    return ns


def _text(b):
    return b.decode("utf-8", "replace") if b is not None else ""


def _errcheck(result, func, args):
    # Runs in the calling thread right after the call, so jn_last_error (per
    # thread in C) still describes this failure.
    if result != OK:
        raise JacnetError(result, status_name(result), _text(_lib.jn_last_error()), func.__name__)
    return result


def status_name(status):
    return _text(_lib.jn_status_str(int(status)))


_lib, LIBRARY_PATH = _load()
F = _declare(_lib)

VERSION_NUMBER = F.jn_version()
VERSION_STRING = _text(F.jn_version_string())
_major, _minor, _patch = VERSION_NUMBER // 10000, VERSION_NUMBER // 100 % 100, VERSION_NUMBER % 100
if VERSION_STRING != "%d.%d.%d" % (_major, _minor, _patch):
    raise ImportError("libjacnet at %s: jn_version() = %d but jn_version_string() = %r"
                      % (LIBRARY_PATH, VERSION_NUMBER, VERSION_STRING))
if _major != EXPECTED_MAJOR or _minor < MINIMUM_MINOR:
    raise ImportError("libjacnet at %s is version %s; this jacnet package (%s) needs %d.%d or a later %d.x"
                      % (LIBRARY_PATH, VERSION_STRING,
                         "built from jacnet.h %d.%d.%d" % PACKAGE_VERSION if PACKAGE_VERSION else "version unknown",
                         EXPECTED_MAJOR, MINIMUM_MINOR, EXPECTED_MAJOR))

# The presets, in jn_model order, and the settings each reads.
MODEL = {}
while F.jn_model_name(len(MODEL)):
    MODEL[_text(F.jn_model_name(len(MODEL)))] = len(MODEL)
USES_LAMBDA, USES_NOISE = 1, 2  # JN_USES_LAMBDA, JN_USES_NOISE
MODEL_USES = {name: F.jn_model_uses(code) for name, code in MODEL.items()}
# Old names kept working, with a DeprecationWarning (Objective.model).
MODEL_ALIASES = {"jacob": "jacobian"}
# The training recipe's defaults (jn_default_value, in jn_default order).
DEFAULTS = {key: F.jn_default_value(i) for i, key in enumerate(
    ("lr", "momentum", "batch_size", "epochs", "patience", "noise_std", "hidden", "seed"))}


def new_handle():
    return ctypes.c_void_p()


def as_float32(a, name):
    """a as a float32 C-contiguous ndarray; the same object when it already is one.

    Raises TypeError for non-numeric input (strings, objects, complex, bool)."""
    if isinstance(a, np.ndarray):
        kind = a.dtype.kind
    else:
        try:
            kind = np.asarray(a).dtype.kind
        except Exception as e:  # ragged lists and the like
            raise TypeError("%s: cannot be read as a float32 array (%s)" % (name, e)) from None
    if kind not in "fiu":
        raise TypeError("%s: dtype kind %r is not a real number type (float32 wanted)" % (name, kind))
    return np.ascontiguousarray(a, dtype=np.float32)


def as_int32(a, name):
    arr = a if isinstance(a, np.ndarray) else np.asarray(a)
    if arr.dtype.kind not in "iu":
        raise TypeError("%s: labels must be integers, got dtype %s" % (name, arr.dtype))
    # A cast would wrap 2**40 + 1 around to 1: refuse what int32 cannot hold.
    if arr.size and arr.dtype.itemsize >= 4 and (arr.max() > np.iinfo(np.int32).max or arr.min() < np.iinfo(np.int32).min):
        raise ValueError("%s: labels must fit in 32 bits, got values from %d to %d" % (name, arr.min(), arr.max()))
    return np.ascontiguousarray(arr, dtype=np.int32)


def ptr(a):
    """Address of an ndarray's data (None for None): the argument C receives."""
    return None if a is None else a.ctypes.data


def path_arg(p, name="path"):
    if not isinstance(p, (str, bytes, os.PathLike)):
        raise TypeError("%s: expected a str, bytes or os.PathLike, got %s" % (name, type(p).__name__))
    return os.fsencode(p)
