"""The classes and functions of the jacnet package (see docs/PYTHON.md)."""
from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import signal
import struct
import threading
import warnings
import weakref
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, TypeVar, Union

try:
    from typing import Literal
except ImportError:  # Python 3.7
    from typing_extensions import Literal  # type: ignore[assignment]

import numpy as np
import numpy.typing as npt

from . import _lib
from ._lib import F, JacnetError, as_float32, as_int32, ptr, path_arg

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int32]
PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
Report = Dict[str, Any]
_H = TypeVar("_H", bound="_Handle")

# The training recipe (docs/METHOD.md, "The training recipe"), as the
# library defines it once (jn_default_value) for the CLI, Python and make
# demo: SGD with lr 0.05 and momentum 0.9 on minibatches of 20, early
# stopping after 15 epochs without progress, at most 100 epochs.
RECIPE_BATCH_SIZE = int(_lib.DEFAULTS["batch_size"])
RECIPE_LR = _lib.DEFAULTS["lr"]
RECIPE_MOMENTUM = _lib.DEFAULTS["momentum"]
RECIPE_EPOCHS = int(_lib.DEFAULTS["epochs"])
RECIPE_PATIENCE = int(_lib.DEFAULTS["patience"])
RECIPE_SEED = int(_lib.DEFAULTS["seed"])


# ---- handles -----------------------------------------------------------------

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


def _rows(data: npt.ArrayLike, D: int, name: str, origin: Optional[str] = None) -> FloatArray:
    """data as an n x D float32 C-contiguous array (1-D data of length D is one row).

    origin: the model file the network came from, named in the message."""
    X = as_float32(data, name)
    if X.ndim == 1 and X.shape[0] == D:
        X = X.reshape(1, D)
    if X.ndim != 2 or X.shape[1] != D:
        raise ValueError("%s: shape %s, expected (n, %d)%s" % (name, X.shape, D, _from_file(origin, D)))
    if X.shape[0] == 0:
        raise ValueError("%s: no rows" % name)
    return X


def _from_file(origin, D):
    return "" if origin is None else ": the network loaded from %r takes %d inputs" % (origin, D)


def _check_labels(y, K, name, origin=None, binary=False):
    """Labels the network can output: 0..K-1 (binary: 0 and 1 for a single
    output, as predict thresholds it)."""
    most = 2 if binary and K == 1 else K
    bad = np.flatnonzero((y < 0) | (y >= most))
    if bad.size:
        i = int(bad[0])
        raise ValueError("%s: label %d at index %d, the network has %d output%s (labels 0..%d)%s"
                         % (name, y[i], i, K, "" if K == 1 else "s", most - 1,
                            "" if origin is None else "; it was loaded from %r" % (origin,)))


def _restore_net(sizes, hidden, output, params):
    """Unpickle a Net: a new C network from the architecture and the
    little-endian float32 parameter bytes."""
    net = Net(sizes, hidden, output)
    net.params = np.frombuffer(params, dtype="<f4")
    return net


def _restore_objective(loss, settings):
    """Unpickle an Objective from its settings."""
    return Objective(loss, **settings)


# ---- networks ---------------------------------------------------------------

def _draw_seed() -> int:
    """A fresh seed for a network nobody gave one: 32 bits, short enough to
    write down and pass back to reproduce the initialisation."""
    return secrets.randbits(32)


class Net(_Handle):
    """A multilayer perceptron: sizes = (D, H1, ..., K).

    hidden: tanh, sigmoid, relu, linear; output: sigmoid, softmax, linear,
    tanh, relu. The new network is initialised (Glorot uniform, jn_net_init)
    from `seed`; seed=None draws one, kept in .seed so the run can be
    repeated. (C's jn_net_create leaves the weights zero instead, and
    jn_trainer_run refuses such a network.) copy.copy and copy.deepcopy give
    an independent network (jn_net_clone); pickling stores the architecture
    and parameters."""

    _free_name = "jn_net_free"
    _origin: Optional[str] = None  # the model file it was loaded from, for messages
    seed: Optional[int]

    def __init__(self, sizes: Sequence[int], hidden: str = "tanh", output: str = "sigmoid", *,
                 seed: Optional[int] = None) -> None:
        try:
            sizes = [int(s) for s in sizes]
        except (TypeError, ValueError):
            raise TypeError("sizes: expected a sequence of integers") from None
        if len(sizes) < 2 or any(s < 1 for s in sizes):
            raise ValueError("sizes: need at least two positive widths, got %r" % (sizes,))
        for what, act in (("hidden", hidden), ("output", output)):
            if act not in _lib.ACT:
                raise ValueError("%s: unknown activation %r (one of %s)" % (what, act, ", ".join(_lib.ACT)))
        arr = (ctypes.c_size_t * len(sizes))(*sizes)
        h = _lib.new_handle()
        F.jn_net_create(ctypes.byref(h), arr, len(sizes), _lib.ACT[hidden], _lib.ACT[output])
        self._adopt(h)
        self._cache_shape()
        self.init(_draw_seed() if seed is None else seed)

    @classmethod
    def _wrap(cls, handle: ctypes.c_void_p, seed: Optional[int] = None) -> "Net":
        self = cls.__new__(cls)
        self._adopt(handle)
        self._cache_shape()
        self.seed = seed
        return self

    def _cache_shape(self) -> None:
        h = self._h
        layers = F.jn_net_layers(h)
        self._sizes = tuple(F.jn_net_size(h, i) for i in range(layers + 1))
        self._count = F.jn_net_param_count(h)
        names = {v: k for k, v in _lib.ACT.items()}
        self._hidden = names[F.jn_net_hidden_act(h)]
        self._output = names[F.jn_net_output_act(h)]

    def __repr__(self) -> str:
        state = "closed" if self.closed else "%d parameters" % self._count
        return "jacnet.Net(%r, hidden=%r, output=%r, seed=%r) <%s>" % (list(self._sizes), self._hidden,
                                                                      self._output, self.seed, state)

    # -- architecture
    @property
    def sizes(self) -> Tuple[int, ...]:
        """(D, H1, ..., K)"""
        return self._sizes

    @property
    def hidden_act(self) -> str:
        """Name of the hidden layers' activation function (C: jn_net_hidden_act)."""
        return self._hidden

    @property
    def output_act(self) -> str:
        """Name of the output layer's activation function (C: jn_net_output_act)."""
        return self._output

    # The constructor's argument names; the values of the hidden layers are
    # hidden_activations() (C: jn_net_hidden).
    hidden = hidden_act
    output = output_act

    @property
    def param_count(self) -> int:
        return self._count

    @property
    def n_inputs(self) -> int:
        return self._sizes[0]

    @property
    def n_outputs(self) -> int:
        return self._sizes[-1]

    @property
    def params(self) -> FloatArray:
        """A float32 copy of the flat parameter vector (per layer W row-major, then b)."""
        out = np.empty(self._count, dtype=np.float32)
        F.jn_net_get_params(self._h, ptr(out), self._count)
        return out

    @params.setter
    def params(self, value: npt.ArrayLike) -> None:
        v = as_float32(value, "params").reshape(-1) if np.ndim(value) else None
        if v is None or v.shape[0] != self._count:
            raise ValueError("params: %s values, the network has %d"
                             % ("a scalar" if v is None else v.shape[0], self._count))
        F.jn_net_set_params(self._h, ptr(v), self._count)
        self.seed = None  # the parameters no longer come from a seed

    def init(self, seed: int) -> "Net":
        """Glorot uniform initialisation from seed (recorded in .seed); returns self."""
        F.jn_net_init(self._h, int(seed))
        self.seed = int(seed)
        return self

    def clone(self) -> "Net":
        h = _lib.new_handle()
        F.jn_net_clone(ctypes.byref(h), self._h)
        return Net._wrap(h, self.seed)

    # A copy of a Net is always a new C network: two Python objects never
    # share one (closing one would leave the other with a freed pointer).
    def __copy__(self):
        return self.clone()

    def __deepcopy__(self, memo):
        return self.clone()

    def __reduce__(self):
        params = self.params.astype("<f4").tobytes()  # raises if closed
        return (_restore_net, (list(self._sizes), self._hidden, self._output, params))

    # -- evaluation
    def _rows_to(self, fn: Callable[..., Any], X: npt.ArrayLike, tail: Tuple[int, ...],
                 dtype: Any = np.float32) -> Any:
        """Call C fn(net, X, n, out) for the rows of X into a new n x *tail array."""
        X = _rows(X, self._sizes[0], "X", self._origin)
        out = np.empty((X.shape[0],) + tail, dtype=dtype)
        fn(self._h, ptr(X), X.shape[0], ptr(out))
        return out

    def forward(self, X: npt.ArrayLike) -> FloatArray:
        """Outputs, n x K float32."""
        return self._rows_to(F.jn_net_forward, X, (self._sizes[-1],))

    def predict(self, X: npt.ArrayLike) -> IntArray:
        """Index of the largest output per row, int32."""
        return self._rows_to(F.jn_net_predict, X, (), np.int32)

    def hidden_activations(self, X: npt.ArrayLike, layer: int) -> FloatArray:
        """Activations of hidden layer `layer` (1 .. len(sizes) - 2), n x sizes[layer] (C: jn_net_hidden)."""
        layer = int(layer)
        if not 1 <= layer <= len(self._sizes) - 2:
            raise ValueError("layer: %d, the network has hidden layers 1..%d" % (layer, len(self._sizes) - 2))
        fn = lambda h, x, n, out: F.jn_net_hidden(h, x, n, layer, out)  # noqa: E731
        return self._rows_to(fn, X, (self._sizes[layer],))

    def jacobian(self, X: npt.ArrayLike) -> FloatArray:
        """J[i, k, j] = dF_k/dx_j at X[i]: n x K x D float32."""
        return self._rows_to(F.jn_net_jacobian, X, (self._sizes[-1], self._sizes[0]))

    def jacobian_sqnorm(self, X: npt.ArrayLike) -> FloatArray:
        """||J_F(X[i])||_F^2 per row, n float32."""
        return self._rows_to(F.jn_net_jacobian_sqnorm, X, ())

    def hessian_sqnorm(self, X: npt.ArrayLike) -> FloatArray:
        """sum_k ||d^2 F_k/dx^2 (X[i])||_F^2 per row, n float32 (0 for relu/linear nets)."""
        return self._rows_to(F.jn_net_hessian_sqnorm, X, ())

    def _objective_args(self, obj: "Objective", X: npt.ArrayLike, Y: npt.ArrayLike,
                        Xj: Optional[npt.ArrayLike]) -> Tuple[FloatArray, FloatArray, Optional[FloatArray], int]:
        if not isinstance(obj, Objective):
            raise TypeError("obj: expected a jacnet.Objective, got %s" % type(obj).__name__)
        Xa = _rows(X, self._sizes[0], "X", self._origin)
        n = Xa.shape[0]
        Ya = as_float32(Y, "Y")
        if Ya.ndim == 1 and n == 1:
            Ya = Ya.reshape(1, -1)
        if Ya.shape != (n, self._sizes[-1]):
            raise ValueError("Y: shape %s, expected (%d, %d)" % (Ya.shape, n, self._sizes[-1]))
        Xja = None
        if Xj is not None:
            Xja = _rows(Xj, self._sizes[0], "Xj", self._origin)
            if Xja.shape != Xa.shape:
                raise ValueError("Xj: shape %s, expected the shape of X %s" % (Xja.shape, Xa.shape))
        return Xa, Ya, Xja, n

    def objective(self, obj: "Objective", X: npt.ArrayLike, Y: npt.ArrayLike,
                  Xj: Optional[npt.ArrayLike] = None) -> Tuple[float, FloatArray]:
        """(value, grad) of obj at the n rows of X with targets Y (n x K).

        Xj: inputs of the Jacobian term (None: X). grad is a float32 vector in
        the layout of params. No noise is drawn here."""
        Xa, Ya, Xja, n = self._objective_args(obj, X, Y, Xj)
        value = ctypes.c_double()
        grad = np.empty(self._count, dtype=np.float32)
        F.jn_net_objective(self._h, obj._h, ptr(Xa), ptr(Xja), ptr(Ya), n, ctypes.byref(value), ptr(grad))
        return value.value, grad

    def check_gradient(self, obj: "Objective", X: npt.ArrayLike, Y: npt.ArrayLike,
                       Xj: Optional[npt.ArrayLike] = None) -> float:
        """Largest relative error of the gradient against central differences."""
        Xa, Ya, Xja, n = self._objective_args(obj, X, Y, Xj)
        err = ctypes.c_double()
        F.jn_net_check_gradient(self._h, obj._h, ptr(Xa), ptr(Xja), ptr(Ya), n, ctypes.byref(err))
        return err.value

    def error_rate(self, X: npt.ArrayLike, y: npt.ArrayLike) -> float:
        """Fraction of rows of X whose predicted class differs from the integer labels y."""
        self._h  # a closed network fails before any work
        K = self._sizes[-1]
        Xa = _rows(X, self._sizes[0], "X", self._origin)
        if _is_targets(y):
            raise TypeError("y: error_rate needs integer labels; for float targets use mean_loss")
        ya = as_int32(y, "y")
        if ya.shape != (Xa.shape[0],):
            raise ValueError("y: shape %s, expected (%d,)" % (ya.shape, Xa.shape[0]))
        _check_labels(ya, K, "y", self._origin, binary=True)
        with _Dataset(Xa, ya, 2 if K == 1 else K, self._sizes[0]) as ds:
            err = ctypes.c_double()
            F.jn_net_error_rate(self._h, ds._h, ctypes.byref(err))
            return err.value

    def mean_loss(self, obj: "Objective", X: npt.ArrayLike, y: npt.ArrayLike) -> float:
        """Mean over the rows of obj's loss alone (no penalties): y integer
        labels (one-hot targets) or float targets n x K (C: jn_net_mean_loss)."""
        if not isinstance(obj, Objective):
            raise TypeError("obj: expected a jacnet.Objective, got %s" % type(obj).__name__)
        with _Dataset(X, y, self._sizes[-1], self._sizes[0]) as ds:
            loss = ctypes.c_double()
            F.jn_net_mean_loss(self._h, obj._h, ds._h, ctypes.byref(loss))
            return loss.value

    def input_gradient(self, X: npt.ArrayLike, y: npt.ArrayLike, obj: Optional["Objective"] = None) -> FloatArray:
        """d loss(F(X[i]), y[i]) / d X[i] per row, n x D float32 (C: jn_net_input_gradient):
        each example's own loss, not divided by n; for FGSM/PGD and saliency.

        y: integer labels (one-hot targets; 0/1 targets for one output) or
        float targets n x K. obj: whose loss to use (None: squared error, the
        report's and `jacnet train`'s); its penalties and noise are ignored."""
        if obj is not None and not isinstance(obj, Objective):
            raise TypeError("obj: expected a jacnet.Objective, got %s" % type(obj).__name__)
        K = self._sizes[-1]
        Xa = _rows(X, self._sizes[0], "X", self._origin)
        n = Xa.shape[0]
        Y = _labels_or_targets(y, n, K, "y", like="X")
        if Y.dtype == np.int32:
            _check_labels(Y, K, "y", self._origin, binary=True)
            Y = Y.astype(np.float32).reshape(n, 1) if K == 1 else np.eye(K, dtype=np.float32)[Y]
        out = np.empty_like(Xa)
        with contextlib.ExitStack() as stack:
            if obj is None:
                obj = stack.enter_context(Objective("mse"))
            F.jn_net_input_gradient(self._h, obj._h, ptr(Xa), ptr(Y), n, ptr(out))
        return out

    # -- files
    def save(self, path: PathLike) -> None:
        F.jn_net_save(self._h, path_arg(path))

    @classmethod
    def load(cls, path: PathLike) -> "Net":
        h = _lib.new_handle()
        F.jn_net_load(ctypes.byref(h), path_arg(path))
        net = cls._wrap(h)
        net._origin = os.fsdecode(path)
        return net


# ---- objectives ----------------------------------------------------------------

def _setting(getter: str, names: Optional[Dict[str, int]] = None, doc: str = "") -> Any:
    """A read-only attribute read from C at every access (getter names the
    jn_objective_* function; names maps enum values back to their names).
    Python keeps no copy, so what it shows is what C trains with."""

    def get(self: "Objective") -> Any:
        value = getattr(F, getter)(self._h)
        return _lib.enum_name(names, value) if names is not None else value

    return property(get, doc=doc)


class Objective(_Handle):
    """loss + jacobian * ||J_F(x~)||_F^2 + l2 * sum ||W||_F^2.

    loss: "mse" (sum of squares, no 1/2) or "ce" (softmax outputs).
    projections: 0 exact penalty, k > 0 the k-projection estimate.
    noise, input_std, jacobian_std: noise the *trainer* draws per minibatch
    (Net.objective never draws noise). penalty_target: "output" or "logits".
    penalty_form: "auto", "direct" or "gram" (docs/METHOD.md).
    precision: "fp32" (default), "bf16" or "auto" (the same choice): the
    penalty's products in bfloat16 where libjacnet has oneDNN and bfloat16
    measured faster on the shape (timed once per shape and process); else
    fp32. precision_used says which ran, precision_ratio the measured
    fp32/bf16 time ratio (JACNET_FORCE_BF16=1 takes it wherever oneDNN can,
    =0 never).
    The settings are read-only attributes read from the C objective (its
    getters); clone(**changes) makes a changed copy.
    copy.copy, copy.deepcopy and pickle copy it by its settings."""

    _free_name = "jn_objective_free"

    loss = _setting("jn_objective_loss", _lib.LOSS, "'mse' or 'ce', fixed at creation")
    l2 = _setting("jn_objective_l2", doc="weight of the l2 term sum_l ||W_l||_F^2")
    jacobian = _setting("jn_objective_jacobian", doc="weight of the Jacobian penalty ||J||_F^2")
    projections = _setting("jn_objective_projections", doc="0: exact penalty; k > 0: k random projections")
    noise = _setting("jn_objective_noise", _lib.NOISE, doc="kind of noise the trainer draws")
    input_std = _setting("jn_objective_input_std", doc="noise level on the loss term's input")
    jacobian_std = _setting("jn_objective_jacobian_std", doc="noise level on the Jacobian term's input")
    seed = _setting("jn_objective_seed", doc="seed of the projections (1 unless set)")
    penalty_target = _setting("jn_objective_penalty_target", _lib.PENALTY_TARGET, "'output' or 'logits'")
    penalty_every = _setting("jn_objective_penalty_every", doc="the penalty on every k-th training step")
    penalty_form = _setting("jn_objective_penalty_form", _lib.PENALTY_FORM, "'auto', 'direct' or 'gram'")
    precision = _setting("jn_objective_precision", _lib.PRECISION, "the requested precision (see precision_used)")

    def __init__(self, loss: str = "mse", l2: float = 0.0, jacobian: float = 0.0, projections: int = 0, *,
                 noise: str = "none", input_std: float = 0.0, jacobian_std: float = 0.0,
                 seed: Optional[int] = None, penalty_target: str = "output", penalty_every: int = 1,
                 penalty_form: str = "auto", precision: str = "fp32") -> None:
        if loss not in _lib.LOSS:
            raise ValueError("loss: %r, expected 'mse' or 'ce'" % (loss,))
        h = _lib.new_handle()
        F.jn_objective_create(ctypes.byref(h), _lib.LOSS[loss])
        self._adopt(h)
        self._configure(l2, jacobian, projections, noise, input_std, jacobian_std, seed, penalty_target,
                        penalty_every, penalty_form, precision)

    def _configure(self, l2: float, jacobian: float, projections: int, noise: str, input_std: float,
                   jacobian_std: float, seed: Optional[int], penalty_target: str, penalty_every: int,
                   penalty_form: str = "auto", precision: str = "fp32") -> None:
        """Every setting into C (seed None: left as it is)."""
        if noise not in _lib.NOISE:
            raise ValueError("noise: %r, one of %s" % (noise, ", ".join(_lib.NOISE)))
        if penalty_target not in _lib.PENALTY_TARGET:
            raise ValueError("penalty_target: %r, 'output' or 'logits'" % (penalty_target,))
        if penalty_form not in _lib.PENALTY_FORM:
            raise ValueError("penalty_form: %r, 'auto', 'direct' or 'gram'" % (penalty_form,))
        if precision not in _lib.PRECISION:
            raise ValueError("precision: %r, 'fp32', 'bf16' or 'auto'" % (precision,))
        if int(projections) < 0 or int(penalty_every) < 1:
            raise ValueError("projections must be >= 0 and penalty_every >= 1")
        h = self._h
        F.jn_objective_set_l2(h, float(l2))
        F.jn_objective_set_jacobian(h, float(jacobian), int(projections))
        F.jn_objective_set_noise(h, _lib.NOISE[noise], float(input_std), float(jacobian_std))
        F.jn_objective_set_penalty_target(h, _lib.PENALTY_TARGET[penalty_target])
        F.jn_objective_set_penalty_every(h, int(penalty_every))
        F.jn_objective_set_penalty_form(h, _lib.PENALTY_FORM[penalty_form])
        F.jn_objective_set_precision(h, _lib.PRECISION[precision])
        if seed is not None:
            F.jn_objective_set_seed(h, int(seed))

    @property
    def precision_used(self) -> str:
        """"fp32" or "bf16": what the penalty's products run in with this
        objective here (jn_objective_precision_used)."""
        return _lib.enum_name(_lib.PRECISION, F.jn_objective_precision_used(self._h))

    @property
    def precision_ratio(self) -> float:
        """float32 time / bfloat16 time measured for precision_used; 0.0 where
        nothing was measured (jn_objective_precision_ratio)."""
        return F.jn_objective_precision_ratio(self._h)

    # The presets whose lambda means something: the l2 weight for "l2", the
    # Jacobian weight for the others.
    MODELS_WITH_LAMBDA = tuple(m for m, uses in _lib.MODEL_USES.items() if uses & _lib.USES_LAMBDA)

    @classmethod
    def model(cls, name: str, lam: Optional[float] = None, std: float = 0.1) -> "Objective":
        """The report's presets: mlp, l2, noise, jacobian, nj, nj-both (MSE),
        named as everywhere else (jn_model_name; "jacob" still works, with a
        DeprecationWarning).

        lam is required for l2, jacobian, nj and nj-both (the report's MNIST
        recipe: nj with lam=0.01, std=0.1) and refused for mlp and noise,
        which have no lambda. std is the Gaussian noise of noise, nj and
        nj-both."""
        if name in _lib.MODEL_ALIASES:
            warnings.warn("Objective.model(%r): the preset is now called %r, as in the CLI"
                          % (name, _lib.MODEL_ALIASES[name]), DeprecationWarning, stacklevel=2)
            name = _lib.MODEL_ALIASES[name]
        if name not in _lib.MODEL:
            raise ValueError("model: %r, one of %s" % (name, ", ".join(_lib.MODEL)))
        if name in cls.MODELS_WITH_LAMBDA and lam is None:
            raise TypeError("Objective.model(%r) needs lam, the %s weight (e.g. Objective.model(%r, 0.01, 0.1))"
                            % (name, "l2" if name == "l2" else "Jacobian penalty", name))
        if name not in cls.MODELS_WITH_LAMBDA and lam is not None:
            raise ValueError("Objective.model(%r) has no lambda; lam=%r would be ignored (models with one: %s)"
                             % (name, lam, ", ".join(cls.MODELS_WITH_LAMBDA)))
        lam = 0.0 if lam is None else float(lam)
        h = _lib.new_handle()
        # What the preset sets is C's alone (jn_objective_create_model); the
        # attributes read it back.
        F.jn_objective_create_model(ctypes.byref(h), _lib.MODEL[name], float(lam), float(std))
        self = cls.__new__(cls)
        self._adopt(h)
        return self

    def _settings(self) -> Dict[str, Any]:
        """The keyword settings of the constructor (all but loss), read from C."""
        return {name: getattr(self, name) for name in _SETTINGS}

    def clone(self, **changes: Any) -> "Objective":
        """A copy (jn_objective_clone) with the given keyword settings changed."""
        unknown = set(changes) - set(_SETTINGS)
        if unknown:
            raise TypeError("clone: unknown settings %s" % ", ".join(sorted(unknown)))
        h = _lib.new_handle()
        F.jn_objective_clone(ctypes.byref(h), self._h)
        new = Objective.__new__(Objective)
        new._adopt(h)
        if changes:
            try:
                new._configure(**dict(new._settings(), **changes))
            except BaseException:
                new.close()
                raise
        return new

    def __copy__(self) -> "Objective":
        return self.clone()

    def __deepcopy__(self, memo: Any) -> "Objective":
        return self.clone()

    def __reduce__(self):
        return (_restore_objective, (self.loss, self._settings()))  # a closed objective raises here

    def __repr__(self) -> str:
        if self.closed:
            return "jacnet.Objective(<closed>)"
        return ("jacnet.Objective(loss=%r, l2=%g, jacobian=%g, projections=%d, noise=%r, input_std=%g, "
                "jacobian_std=%g, precision=%r)" % (self.loss, self.l2, self.jacobian, self.projections, self.noise,
                                                    self.input_std, self.jacobian_std, self.precision))


# The constructor's keyword settings, in its order: what clone, pickle and
# _settings carry.
_SETTINGS = ("l2", "jacobian", "projections", "noise", "input_std", "jacobian_std", "seed", "penalty_target",
             "penalty_every", "penalty_form", "precision")


# ---- optimizers and random numbers ---------------------------------------------

class Optimizer(_Handle):
    """SGD (momentum) or Adam over a network's flat parameters.

    Optimizer.sgd(lr, momentum=0.0), Optimizer.adam(lr, beta1, beta2, eps);
    schedule(kind, gamma, period); step(net, grad). Not copyable or picklable
    (TypeError): its state lives in C with no copy function."""

    _free_name = "jn_optimizer_free"
    _no_copy = ("its state (momentum or moments, step count) lives in C and libjacnet has no function to "
                "copy it; create another with Optimizer.sgd / Optimizer.adam")

    def __init__(self, *a: Any, **k: Any) -> None:
        raise TypeError("use Optimizer.sgd(...) or Optimizer.adam(...)")

    @classmethod
    def sgd(cls, lr: float = RECIPE_LR, momentum: float = RECIPE_MOMENTUM) -> "Optimizer":
        """SGD with momentum; the defaults are the training recipe's (docs/METHOD.md)."""
        h = _lib.new_handle()
        F.jn_optimizer_create_sgd(ctypes.byref(h), float(lr), float(momentum))
        self = cls.__new__(cls)
        self._adopt(h)
        return self

    @classmethod
    def adam(cls, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> "Optimizer":
        h = _lib.new_handle()
        F.jn_optimizer_create_adam(ctypes.byref(h), float(lr), float(beta1), float(beta2), float(eps))
        self = cls.__new__(cls)
        self._adopt(h)
        return self

    def schedule(self, kind: str = "constant", gamma: float = 0.0, period: int = 1) -> "Optimizer":
        """Learning-rate schedule; period (and the step count t) counts
        optimizer steps, i.e. minibatches, not epochs (jacnet.h)."""
        if kind not in _lib.SCHEDULE:
            raise ValueError("schedule: %r, one of %s" % (kind, ", ".join(_lib.SCHEDULE)))
        F.jn_optimizer_set_schedule(self._h, _lib.SCHEDULE[kind], float(gamma), int(period))
        return self

    @property
    def lr(self) -> float:
        return F.jn_optimizer_lr(self._h)

    def scale_lr(self, factor: float) -> "Optimizer":
        """Multiply the base learning rate (and SGD's velocity) by factor > 0."""
        F.jn_optimizer_scale_lr(self._h, float(factor))
        return self

    def step(self, net: Net, grad: npt.ArrayLike) -> None:
        if not isinstance(net, Net):
            raise TypeError("net: expected a jacnet.Net, got %s" % type(net).__name__)
        g = as_float32(grad, "grad")
        if g.ndim != 1 or g.shape[0] != net.param_count:
            raise ValueError("grad: shape %s, expected (%d,)" % (g.shape, net.param_count))
        F.jn_optimizer_step(self._h, net._h, ptr(g))

    def reset(self) -> None:
        F.jn_optimizer_reset(self._h)


class Rng(_Handle):
    """xoshiro256** stream (jn_rng): Rng(seed, stream=0). Not copyable or
    picklable (TypeError): its position lives in C with no copy function."""

    _free_name = "jn_rng_free"
    _no_copy = ("its position in the stream lives in C and libjacnet has no function to copy it; "
                "create Rng(seed, stream) again to replay a stream")

    def __init__(self, seed: int, stream: int = 0) -> None:
        h = _lib.new_handle()
        F.jn_rng_create_stream(ctypes.byref(h), int(seed), int(stream))
        self._adopt(h)

    def gaussian(self, shape: Union[int, Tuple[int, ...]], std: float = 1.0) -> FloatArray:
        out = np.empty(shape, dtype=np.float32)
        F.jn_rng_gaussian(self._h, ptr(out), out.size, float(std))
        return out

    def corrupt(self, X: npt.ArrayLike, kind: str = "gaussian", level: float = 0.1,
                out: Optional[FloatArray] = None) -> FloatArray:
        """A corrupted copy of X (jn_corrupt); out (float32, C-contiguous, X's shape) may be X itself."""
        if kind not in _lib.NOISE:
            raise ValueError("kind: %r, one of %s" % (kind, ", ".join(_lib.NOISE)))
        src = as_float32(X, "X")
        if out is None:
            out = np.empty_like(src)
        elif (not isinstance(out, np.ndarray) or out.dtype != np.float32 or not out.flags.c_contiguous
              or not out.flags.writeable or out.shape != src.shape):
            raise ValueError("out: need a writable float32 C-contiguous array of shape %s" % (src.shape,))
        F.jn_corrupt(self._h, _lib.NOISE[kind], float(level), ptr(src), ptr(out), src.size)
        return out


def set_threads(n: int) -> None:
    """Threads of libjacnet's own for its products and the work around them; the BLAS is
    held at one thread (process-wide: numpy's OpenBLAS too). jn_set_threads."""
    F.jn_set_threads(int(n))


def blas_kernel() -> str:
    """The BLAS kernel this process runs (OpenBLAS's core name, e.g. 'Cooperlake', or
    'unknown'): results repeat bit for bit on one kernel only. jn_blas_kernel."""
    return _lib._text(F.jn_blas_kernel())


# ---- datasets ------------------------------------------------------------------

def _is_targets(y: npt.ArrayLike) -> bool:
    """y holds float targets (2-D, real) rather than integer labels (1-D)."""
    return np.ndim(y) == 2


def _labels_or_targets(y: npt.ArrayLike, n: int, K: int, name: str, like: Optional[str] = None) -> np.ndarray:
    """y for n rows and K outputs: float32 targets n x K (2-D) or int32
    labels of length n (1-D; integers only, not floats rounded). The messages
    name the argument, and `like`, when given, the features whose row count
    the labels must match."""
    if _is_targets(y):
        Y = as_float32(y, name)
        if Y.shape != (n, K):
            raise ValueError("%s: float targets of shape %s, expected (%d, %d)" % (name, Y.shape, n, K))
        return Y
    if np.asarray(y).dtype.kind not in "iu":
        raise TypeError("%s: labels must be integers (1-D), or float targets 2-D (n, %d); got dtype %s, shape %s"
                        % (name, K, np.asarray(y).dtype, np.shape(y)))
    labels = as_int32(y, name)
    if labels.shape != (n,):
        raise ValueError("%s: shape %s, expected (%d,)%s"
                         % (name, labels.shape, n, "" if like is None else " like " + like))
    return labels


class _Dataset(_Handle):
    """A dataset borrowing X (float32) and y: int32 labels (1-D, classes =
    K) or float32 targets (2-D, n x K). The arrays are kept alive until the C
    handle is freed (they ride in the finalizer)."""

    _free_name = "jn_dataset_free"
    _no_copy = "it borrows the caller's arrays; copy those instead"

    def __init__(self, features: npt.ArrayLike, y: npt.ArrayLike, classes: int, D: Optional[int] = None) -> None:
        X = as_float32(features, "X")
        if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0 or (D is not None and X.shape[1] != D):
            raise ValueError("X: shape %s, expected (n, %s)" % (X.shape, D if D is not None else "D"))
        h = _lib.new_handle()
        self.targets = _is_targets(y)
        Y = _labels_or_targets(y, X.shape[0], classes, "y")
        create = F.jn_dataset_create_targets if self.targets else F.jn_dataset_create
        create(ctypes.byref(h), ptr(X), ptr(Y), X.shape[0], X.shape[1], int(classes), _lib.DATASET_BORROW)
        self._adopt(h, keep_alive=(X, Y))
        self.X, self.y = X, Y


def _copy_out(h: int) -> Tuple[FloatArray, IntArray]:
    """(X, y) copies of a C-owned dataset's arrays; the handle is freed."""
    try:
        n, d = F.jn_dataset_count(h), F.jn_dataset_dim(h)
        X = np.ctypeslib.as_array(ctypes.cast(F.jn_dataset_features(h), ctypes.POINTER(ctypes.c_float)),
                                  shape=(n, d)).copy()
        y = np.ctypeslib.as_array(ctypes.cast(F.jn_dataset_labels(h), ctypes.POINTER(ctypes.c_int32)),
                                  shape=(n,)).copy()
        return X, y
    finally:
        F.jn_dataset_free(h)


def load_idx(images: PathLike, labels: PathLike, binarize: bool = False) -> Tuple[FloatArray, IntArray]:
    """MNIST-style IDX3 images + IDX1 labels (raw or .gz): (X n x D float32 in [0,1], y int32)."""
    h = _lib.new_handle()
    F.jn_dataset_load_idx(ctypes.byref(h), path_arg(images, "images"), path_arg(labels, "labels"),
                          _lib.LOAD_BINARIZE if binarize else 0)
    return _copy_out(h.value)


def load_usps(path: PathLike) -> Tuple[FloatArray, IntArray]:
    """One USPS file (zip.train / zip.test, raw or .gz): (X n x 256 float32 in [0,1], y int32)."""
    h = _lib.new_handle()
    F.jn_dataset_load_usps(ctypes.byref(h), path_arg(path))
    return _copy_out(h.value)


def load_csv(path: PathLike, binarize: bool = False) -> Tuple[FloatArray, IntArray]:
    """CSV with the label first: (X, y). Values are kept as written (not
    scaled); binarize maps each to 1 if > 0.5 else 0."""
    h = _lib.new_handle()
    F.jn_dataset_load_csv(ctypes.byref(h), path_arg(path), _lib.LOAD_BINARIZE if binarize else 0)
    return _copy_out(h.value)


def _splits(loader: Callable[..., Any], *args: Any) -> Dict[str, Tuple[FloatArray, IntArray]]:
    hs = [_lib.new_handle() for _ in range(3)]
    try:
        loader(*args, *[ctypes.byref(h) for h in hs])
    except BaseException:
        for h in hs:
            F.jn_dataset_free(h.value)
        raise
    return {name: _copy_out(h.value) for name, h in zip(("train", "valid", "test"), hs)}


def _dir_arg(d: Optional[PathLike]) -> Optional[bytes]:
    return None if d is None else path_arg(d, "dir")


def mnist_splits(dir: Optional[PathLike] = None,
                 binarize: bool = False) -> Dict[str, Tuple[FloatArray, IntArray]]:
    """The report's MNIST splits from dir/mnist (dir None: $JACNET_DATA, else ./data):
    {"train": (X, y) 50000, "valid": 10000, "test": 10000}."""
    return _splits(F.jn_load_mnist, _dir_arg(dir), _lib.LOAD_BINARIZE if binarize else 0)


def usps_splits(dir: Optional[PathLike] = None) -> Dict[str, Tuple[FloatArray, IntArray]]:
    """The report's USPS splits from dir/usps: {"train", "valid", "test"} -> (X, y)."""
    return _splits(F.jn_load_usps, _dir_arg(dir))


# ---- trainer -------------------------------------------------------------------

class _Trainer(_Handle):
    _free_name = "jn_trainer_free"
    _no_copy = "it only lives for one train() call"

    def __init__(self) -> None:
        h = _lib.new_handle()
        F.jn_trainer_create(ctypes.byref(h))
        self._adopt(h)


def _train_set(X: npt.ArrayLike, y: npt.ArrayLike, K: int, D: int, xname: str, yname: str,
               origin: Optional[str]) -> Tuple[FloatArray, np.ndarray]:
    """(X, y) for the trainer: X float32 of the network's width; y int32
    labels below K, or float32 targets n x K; checked here so that the
    message names the argument."""
    Xa = _rows(X, D, xname, origin)
    Ya = _labels_or_targets(y, Xa.shape[0], K, yname, like=xname)
    if not _is_targets(y):
        _check_labels(Ya, K, yname, origin)
    return Xa, Ya


def _report_dict(r: Any) -> Report:
    return {"epoch": r.epoch, "train_objective": r.train_objective,
            "valid_error": None if r.valid_error < 0 else r.valid_error,
            "best_valid_error": None if r.best_valid_error < 0 else r.best_valid_error,
            "best_epoch": r.best_epoch, "seconds": r.seconds, "lr": r.lr,
            "train_loss": r.train_loss, "train_penalty": r.train_penalty,
            "train_jacobian_sqnorm": None if r.train_jacobian_sqnorm < 0 else r.train_jacobian_sqnorm,
            "train_error": None if r.train_error < 0 else r.train_error, "recoveries": r.recoveries}


# jacnet.train(recovery=True): a blow-up is an epoch mean 3 times the lowest
# so far; the rate is halved at each, at most 10 times in a run.
RECOVERY_DEFAULT = (3.0, 0.5, 10)


def _recovery_args(recovery):
    """(factor, lr_scale, max_recoveries) from train()'s recovery option."""
    if recovery is None or recovery is False:
        return None
    if recovery is True:
        return RECOVERY_DEFAULT
    if isinstance(recovery, dict):
        unknown = set(recovery) - {"factor", "lr_scale", "max_recoveries"}
        if unknown:
            raise ValueError("recovery: unknown keys %s (factor, lr_scale, max_recoveries)" % sorted(unknown))
        recovery = (recovery.get("factor", RECOVERY_DEFAULT[0]), recovery.get("lr_scale", RECOVERY_DEFAULT[1]),
                    recovery.get("max_recoveries", RECOVERY_DEFAULT[2]))
    try:
        factor, lr_scale, most = recovery
    except (TypeError, ValueError):
        raise ValueError("recovery: True, None, (factor, lr_scale, max_recoveries) or a dict of those, "
                         "got %r" % (recovery,)) from None
    if int(most) < 0:
        raise ValueError("recovery: max_recoveries = %r, need >= 0" % (most,))
    return float(factor), float(lr_scale), int(most)


# ---- what train() adds around jn_trainer_run -------------------------------------------

@contextlib.contextmanager
def _deferred_signals(failure: List[BaseException], in_user: Callable[[], bool]):
    """During the run, the exceptions of Python signal handlers (SIGINT's
    KeyboardInterrupt) go into failure. Python runs a handler at the next
    bytecode it executes; while C trains that is the first line of a ctypes
    callback, outside any try, where ctypes prints the exception and carries
    on. Inside the user's callbacks (in_user()) handlers raise as usual, into
    the try around them."""
    if threading.current_thread() is not threading.main_thread():
        yield  # handlers run in the main thread only: none can run here
        return
    saved = {}
    for sig in signal.Signals:
        h = signal.getsignal(sig)
        if callable(h):  # a Python handler (not SIG_DFL, SIG_IGN or a C one)
            saved[sig] = h

    def handler(signum, frame):
        previous = saved[signal.Signals(signum)]
        if in_user():
            previous(signum, frame)
            return
        try:
            previous(signum, frame)
        except BaseException as e:
            failure.append(e)

    for sig in saved:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, h in saved.items():
            signal.signal(sig, h)


_CHECKPOINT_MAGIC = b"\x89JNC\r\n\x1a\n"


def _checkpoint_state(path: bytes) -> Optional[Tuple[bytes, int]]:
    """(run identity bytes, epochs done) of a checkpoint (docs/FORMAT.md,
    "Checkpoint files"); None when there is none or it cannot be read (C
    then says why, or starts a new run)."""
    try:
        with open(path, "rb") as f:
            head = f.read(196)
            if head[:8] != _CHECKPOINT_MAGIC:
                return None
            (m,) = struct.unpack_from("<Q", head, 188)
            f.seek(204 + 2 * m)
            (done,) = struct.unpack("<I", f.read(4))
    except (OSError, struct.error, OverflowError, ValueError):
        return None
    return head[8:196], done


class _RunRecord:
    """The reports of a checkpointed run, in CHECKPOINT.reports.json. The
    checkpoint holds the run's state, not its past reports; this file does,
    so that a resumed train() returns the whole run's reports (as the CLI's
    --json record lists them). It is rewritten atomically at every epoch's
    end, before C checkpoints that epoch, so it never lags the checkpoint."""

    def __init__(self, checkpoint: bytes):
        self.checkpoint = checkpoint
        self.path = checkpoint + b".reports.json"
        self.reports: List[Report] = []  # the epochs done before this call
        self.identity: Optional[bytes] = None
        state = _checkpoint_state(checkpoint)
        if state is None or state[1] == 0:
            return  # a new run (or one C refuses): nothing before it
        self.identity, done = state
        try:
            with open(self.path) as f:
                rec = json.load(f)
            kept = rec["reports"][:done]
            if rec["identity"] == self.identity.hex() and [r["epoch"] for r in kept] == list(range(1, done + 1)):
                self.reports = kept
        except (OSError, ValueError, KeyError, TypeError):
            pass
        if not self.reports:
            warnings.warn("%s: no reports of the %d epochs the checkpoint holds; the reports returned start at "
                          "epoch %d" % (os.fsdecode(self.path), done, done + 1), stacklevel=3)

    def save(self, new: List[Report]) -> None:
        if self.identity is None:  # the checkpoint C wrote at the start of this run
            state = _checkpoint_state(self.checkpoint)
            self.identity = state[0] if state else b""
        tmp = self.path + b".tmp"
        with open(tmp, "w") as f:
            json.dump({"identity": self.identity.hex(), "reports": self.reports + new}, f)
        os.replace(tmp, self.path)


def _progress_line(d: Report, epochs: int) -> str:
    """train(verbose=True)'s line for one epoch (the CLI's epoch line)."""
    s = "epoch %3d/%d  objective %.5f (loss %.5f + penalty %.5f)" % (
        d["epoch"], epochs, d["train_objective"], d["train_loss"], d["train_penalty"])
    if d["train_jacobian_sqnorm"] is not None:
        s += "  ||J||^2 %.4g" % d["train_jacobian_sqnorm"]
    if d["train_error"] is not None:
        s += "  train %5.2f%%" % (100 * d["train_error"])
    if d["recoveries"]:
        s += "  RECOVERED x%d" % d["recoveries"]
    if d["valid_error"] is not None:
        # An error rate with labels; the mean loss with float targets (no train_error).
        fmt = "  valid %.4g  best %.4g (epoch %d)" if d["train_error"] is None else \
            "  valid %6.2f%%  best %6.2f%% (epoch %d)"
        scale = 1 if d["train_error"] is None else 100
        s += fmt % (scale * d["valid_error"], scale * d["best_valid_error"], d["best_epoch"])
    return s + "  lr %.4g  %.1f s" % (d["lr"], d["seconds"])


def train(net: Net, objective: Objective, X: npt.ArrayLike, y: npt.ArrayLike, *, epochs: int = RECIPE_EPOCHS,
          batch_size: int = RECIPE_BATCH_SIZE, optimizer: Union[str, Optimizer] = "sgd",
          lr: float = RECIPE_LR, momentum: float = RECIPE_MOMENTUM,
          adam: Tuple[float, float, float] = (0.9, 0.999, 1e-8),
          schedule: Optional[Tuple[str, float, int]] = None, seed: int = RECIPE_SEED, noise: Optional[str] = None,
          input_std: Optional[float] = None, jacobian_std: Optional[float] = None,
          valid: Optional[Tuple[npt.ArrayLike, npt.ArrayLike]] = None, patience: int = RECIPE_PATIENCE,
          callback: Optional[Callable[[Report], Any]] = None,
          on_batch: Optional[Callable[[int, int, int], Any]] = None, checkpoint: Optional[str] = None,
          checkpoint_every: int = 1, recovery: Any = None, verbose: bool = False) -> List[Report]:
    """Train net in place with libjacnet's trainer; return the per-epoch reports.

    X (n x D) and y: integer labels in [0, K) (1-D, one-hot targets), or
    float targets n x K (2-D; regression, auto-encoders: y = X). With float
    targets valid_error is the validation set's mean loss (Net.mean_loss),
    since an error rate is not defined. The defaults are the training
    recipe (SGD lr 0.05, momentum 0.9, batch 20; docs/METHOD.md); epochs
    10 as the C trainer. optimizer "sgd" (lr, momentum) or
    "adam" (lr, adam=(beta1, beta2, eps)) or a jacnet.Optimizer; schedule
    (kind, gamma, period), period in minibatch steps. noise / input_std / jacobian_std override the
    objective's noise for this run (the objective itself is not changed).
    valid = (X_valid, y_valid); patience > 0 stops after that many epochs
    without improvement; the best parameters are restored when valid is given.
    callback(report_dict) each epoch: a true result stops training.
    on_batch(epoch, done, total) after each minibatch: a true result stops
    training at once. An exception in either, or a signal handler's (Ctrl-C's
    KeyboardInterrupt, also while C runs), stops the run after the minibatch
    in progress, checkpoints it, and is raised by train.
    checkpoint: a path; the run's whole state is written there every
    checkpoint_every epochs (0: only at the start, when stopped and at the
    end), and when the file exists the run resumes from it (the same
    arguments, epochs possibly larger). The reports are kept in
    checkpoint + ".reports.json", so a resumed call returns the whole run's.
    A checkpoint of another run raises JacnetError.
    verbose: print a line per epoch (as the CLI does) to stdout.
    recovery: None (off), True (factor 3, lr_scale 0.5, at most 10), a tuple
    (factor, lr_scale, max_recoveries) or a dict of those keys: roll back and
    lower the rate when the epoch's mean objective exceeds factor times the
    lowest so far (jn_trainer_set_recovery in jacnet.h).
    Each report: epoch, train_objective, valid_error (None without valid;
    the mean loss for float targets),
    best_valid_error, best_epoch, seconds, lr, train_loss, train_penalty,
    train_jacobian_sqnorm (None when not computed), train_error, recoveries."""
    if not isinstance(net, Net):
        raise TypeError("net: expected a jacnet.Net")
    if not isinstance(objective, Objective):
        raise TypeError("objective: expected a jacnet.Objective")
    if not (isinstance(optimizer, Optimizer) or (isinstance(optimizer, str) and optimizer in ("sgd", "adam"))):
        raise ValueError("optimizer: 'sgd', 'adam' or a jacnet.Optimizer")
    # Closed handles fail here, before anything is made.
    net._h
    objective._h
    if isinstance(optimizer, Optimizer):
        optimizer._h
    D, K = net.n_inputs, net.n_outputs
    if int(epochs) < 1 or int(batch_size) < 1 or int(patience) < 0:
        raise ValueError("epochs and batch_size must be >= 1, patience >= 0")
    if int(checkpoint_every) < 0:
        raise ValueError("checkpoint_every must be >= 0")
    recovery_args = _recovery_args(recovery)
    checkpoint_path = None if checkpoint is None else path_arg(checkpoint, "checkpoint")
    owned: List[_Handle] = []  # handles made here, closed at the end
    try:
        # Both sets are checked before either is handed to C.
        X, y = _train_set(X, y, K, D, "X", "y", net._origin)
        if valid is not None:
            valid = _train_set(valid[0], valid[1], K, D, "valid[0]", "valid[1]", net._origin)
        train_ds = _Dataset(X, y, K, D)
        owned.append(train_ds)
        valid_ds = None
        if valid is not None:
            valid_ds = _Dataset(valid[0], valid[1], K, D)
            owned.append(valid_ds)
        obj = objective
        if noise is not None or input_std is not None or jacobian_std is not None:
            obj = objective.clone(noise=noise if noise is not None else
                                  (objective.noise if objective.noise != "none" else "gaussian"),
                                  input_std=objective.input_std if input_std is None else input_std,
                                  jacobian_std=objective.jacobian_std if jacobian_std is None else jacobian_std)
            owned.append(obj)
        if isinstance(optimizer, Optimizer):
            opt = optimizer
        elif optimizer == "sgd":
            opt = Optimizer.sgd(lr, momentum)
            owned.append(opt)
        elif optimizer == "adam":
            opt = Optimizer.adam(lr, *adam)
            owned.append(opt)
        else:
            raise ValueError("optimizer: 'sgd', 'adam' or a jacnet.Optimizer")
        if schedule is not None:
            opt.schedule(*schedule)
        tr = _Trainer()
        owned.append(tr)
        F.jn_trainer_set_epochs(tr._h, int(epochs))
        F.jn_trainer_set_batch_size(tr._h, int(batch_size))
        F.jn_trainer_set_patience(tr._h, int(patience))
        F.jn_trainer_set_seed(tr._h, int(seed))
        if checkpoint_path is not None:
            F.jn_trainer_set_checkpoint(tr._h, checkpoint_path, int(checkpoint_every))
        if recovery_args is not None:
            F.jn_trainer_set_recovery(tr._h, *recovery_args)

        earlier = _RunRecord(checkpoint_path) if checkpoint_path is not None else None
        reports: List[Report] = []
        failure: List[BaseException] = []
        in_user = False

        def call_user(fn, *args):
            # A signal handler raising inside the user's code lands in this
            # try; in_user tells _deferred_signals that raising is safe.
            nonlocal in_user
            in_user = True
            try:
                stop = bool(fn(*args))
            except BaseException as e:  # KeyboardInterrupt included
                in_user = False
                failure.append(e)
                return True
            in_user = False
            return stop

        def on_epoch(d):
            if verbose:
                print(_progress_line(d, int(epochs)), flush=True)
            return callback is not None and callback(dict(d))

        # Exceptions cannot cross C (ctypes prints and drops them): the
        # callbacks catch them, ask the trainer to stop, and train() raises
        # them afterwards. failure is read last, so that a signal recorded
        # while the callback ran stops the run at once.
        def epoch_cb(rep_p, user):
            stop = False
            try:
                # The epoch is done whatever happens next, and C checkpoints
                # it after this call: it is recorded first.
                reports.append(_report_dict(rep_p.contents))
                if earlier is not None:
                    earlier.save(reports)
                if not failure:
                    stop = call_user(on_epoch, reports[-1])
            except BaseException as e:
                failure.append(e)
            return 1 if failure or stop else 0

        # Installed even without on_batch: a SIGINT that arrives while C
        # trains is handled at the next Python code the process runs, and
        # this gives it some after every minibatch, not only at epoch ends.
        def batch_cb(epoch, done, total, user):
            stop = not failure and on_batch is not None and call_user(on_batch, epoch, done, total)
            return 1 if failure or stop else 0

        # The CFUNCTYPE objects must live as long as C may call them: they are
        # locals of this frame for the whole run and are unset before return.
        c_epoch = _lib.EPOCH_CALLBACK(epoch_cb)
        c_batch = _lib.BATCH_CALLBACK(batch_cb)
        F.jn_trainer_set_epoch_callback(tr._h, c_epoch, None)
        F.jn_trainer_set_batch_callback(tr._h, c_batch, None)
        try:
            with _deferred_signals(failure, lambda: in_user):
                F.jn_trainer_run(tr._h, net._h, obj._h, opt._h, train_ds._h, valid_ds._h if valid_ds else None)
        except JacnetError as e:
            if failure:
                raise failure[0] from None
            if e.status != _lib.ERR_STOPPED:
                e.reports = (earlier.reports if earlier else []) + reports
                raise
        finally:
            F.jn_trainer_set_epoch_callback(tr._h, _lib.NULL_EPOCH_CALLBACK(), None)
            F.jn_trainer_set_batch_callback(tr._h, _lib.NULL_BATCH_CALLBACK(), None)
        if failure:
            raise failure[0]
        if earlier is not None:
            reports = earlier.reports + reports
        return reports
    finally:
        for o in reversed(owned):
            o.close()
