"""Networks: Net, a multilayer perceptron and what it evaluates (forward
pass, Jacobians, the objective and its gradient, input gradients, model
files)."""
from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
from typing import Any, Callable, Optional, Sequence, Tuple

import numpy as np
import numpy.typing as npt

from . import _lib
from ._handle import FloatArray, IntArray, PathLike, _Handle
from ._lib import F, as_float32, as_int32, ptr, path_arg
from .data import _Dataset, _check_labels, _is_targets, _labels_or_targets, _rows
from .objective import Objective


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
        self._hidden = _lib.enum_name(_lib.ACT, F.jn_net_hidden_act(h))
        self._output = _lib.enum_name(_lib.ACT, F.jn_net_output_act(h))

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



def _restore_net(sizes, hidden, output, params):
    """Unpickle a Net: a new C network from the architecture and the
    little-endian float32 parameter bytes."""
    net = Net(sizes, hidden, output)
    net.params = np.frombuffer(params, dtype="<f4")
    return net
