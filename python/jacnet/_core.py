"""The classes and functions of the jacnet package (see docs/PYTHON.md)."""
import ctypes
import os
import weakref

import numpy as np

from . import _lib
from ._lib import F, JacnetError, as_float32, as_int32, ptr, path_arg


# ---- handles -----------------------------------------------------------------

def _free_handle(free_fn, address, *keep_alive):
    # keep_alive: buffers C borrows; the finalizer holds them until C lets go.
    free_fn(address)


class _Handle:
    """An owned C handle: close() frees it (idempotent), `with` closes it, and
    a weakref.finalize frees it if the object is collected unclosed."""

    _free_name = None  # the jn_*_free function, by name (looked up in F at free time)

    def _adopt(self, handle, keep_alive=()):
        address = handle.value if isinstance(handle, ctypes.c_void_p) else handle
        if not address:
            raise JacnetError(_lib.ERR_NOMEM, _lib.status_name(_lib.ERR_NOMEM), "constructor returned NULL")
        self._address = address
        self._finalizer = weakref.finalize(self, _free_handle, getattr(F, self._free_name), address,
                                           *keep_alive)

    @property
    def _h(self):
        address = getattr(self, "_address", None)
        if address is None:
            raise ValueError("%s is closed" % type(self).__name__)
        return address

    @property
    def closed(self):
        return getattr(self, "_address", None) is None

    def close(self):
        fin = getattr(self, "_finalizer", None)
        if fin is not None:
            fin()
        self._address = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _rows(X, D, name):
    """X as an n x D float32 C-contiguous array (1-D X of length D is one row)."""
    X = as_float32(X, name)
    if X.ndim == 1 and X.shape[0] == D:
        X = X.reshape(1, D)
    if X.ndim != 2 or X.shape[1] != D:
        raise ValueError("%s: shape %s, expected (n, %d)" % (name, X.shape, D))
    if X.shape[0] == 0:
        raise ValueError("%s: no rows" % name)
    return X


# ---- networks ---------------------------------------------------------------

class Net(_Handle):
    """A multilayer perceptron: sizes = (D, H1, ..., K).

    hidden: tanh, sigmoid, relu, linear; output: sigmoid, softmax, linear,
    tanh, relu. Parameters start at zero: call init(seed) or assign params."""

    _free_name = "jn_net_free"

    def __init__(self, sizes, hidden="tanh", output="sigmoid"):
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

    @classmethod
    def _wrap(cls, handle):
        self = cls.__new__(cls)
        self._adopt(handle)
        self._cache_shape()
        return self

    def _cache_shape(self):
        h = self._h
        layers = F.jn_net_layers(h)
        self._sizes = tuple(F.jn_net_size(h, i) for i in range(layers + 1))
        self._count = F.jn_net_param_count(h)
        names = {v: k for k, v in _lib.ACT.items()}
        self._hidden = names[F.jn_net_hidden_act(h)]
        self._output = names[F.jn_net_output_act(h)]

    def __repr__(self):
        state = "closed" if self.closed else "%d parameters" % self._count
        return "jacnet.Net(%r, hidden=%r, output=%r) <%s>" % (list(self._sizes), self._hidden, self._output, state)

    # -- architecture
    sizes = property(lambda self: self._sizes, doc="(D, H1, ..., K)")
    hidden = property(lambda self: self._hidden)
    output = property(lambda self: self._output)
    param_count = property(lambda self: self._count)
    n_inputs = property(lambda self: self._sizes[0])
    n_outputs = property(lambda self: self._sizes[-1])

    @property
    def params(self):
        """A float32 copy of the flat parameter vector (per layer W row-major, then b)."""
        out = np.empty(self._count, dtype=np.float32)
        F.jn_net_get_params(self._h, ptr(out), self._count)
        return out

    @params.setter
    def params(self, value):
        v = as_float32(value, "params").reshape(-1) if np.ndim(value) else None
        if v is None or v.shape[0] != self._count:
            raise ValueError("params: %s values, the network has %d"
                             % ("a scalar" if v is None else v.shape[0], self._count))
        F.jn_net_set_params(self._h, ptr(v), self._count)

    def init(self, seed=0):
        """Glorot uniform initialisation from seed; returns self."""
        F.jn_net_init(self._h, int(seed))
        return self

    def clone(self):
        h = _lib.new_handle()
        F.jn_net_clone(ctypes.byref(h), self._h)
        return Net._wrap(h)

    # -- evaluation
    def _rows_to(self, fn, X, tail, dtype=np.float32):
        """Call C fn(net, X, n, out) for the rows of X into a new n x *tail array."""
        X = _rows(X, self._sizes[0], "X")
        out = np.empty((X.shape[0],) + tail, dtype=dtype)
        fn(self._h, ptr(X), X.shape[0], ptr(out))
        return out

    def forward(self, X):
        """Outputs, n x K float32."""
        return self._rows_to(F.jn_net_forward, X, (self._sizes[-1],))

    def predict(self, X):
        """Index of the largest output per row, int32."""
        return self._rows_to(F.jn_net_predict, X, (), np.int32)

    def hidden_activations(self, X, layer):
        """Activations of hidden layer `layer` (1 .. len(sizes) - 2), n x sizes[layer]."""
        layer = int(layer)
        if not 1 <= layer <= len(self._sizes) - 2:
            raise ValueError("layer: %d, the network has hidden layers 1..%d" % (layer, len(self._sizes) - 2))
        fn = lambda h, x, n, out: F.jn_net_hidden(h, x, n, layer, out)  # noqa: E731
        return self._rows_to(fn, X, (self._sizes[layer],))

    def jacobian(self, X):
        """J[i, k, j] = dF_k/dx_j at X[i]: n x K x D float32."""
        return self._rows_to(F.jn_net_jacobian, X, (self._sizes[-1], self._sizes[0]))

    def jacobian_sqnorm(self, X):
        """||J_F(X[i])||_F^2 per row, n float32."""
        return self._rows_to(F.jn_net_jacobian_sqnorm, X, ())

    def _objective_args(self, obj, X, Y, Xj):
        if not isinstance(obj, Objective):
            raise TypeError("obj: expected a jacnet.Objective, got %s" % type(obj).__name__)
        X = _rows(X, self._sizes[0], "X")
        n = X.shape[0]
        Y = as_float32(Y, "Y")
        if Y.ndim == 1 and n == 1:
            Y = Y.reshape(1, -1)
        if Y.shape != (n, self._sizes[-1]):
            raise ValueError("Y: shape %s, expected (%d, %d)" % (Y.shape, n, self._sizes[-1]))
        if Xj is not None:
            Xj = _rows(Xj, self._sizes[0], "Xj")
            if Xj.shape != X.shape:
                raise ValueError("Xj: shape %s, expected the shape of X %s" % (Xj.shape, X.shape))
        return X, Y, Xj, n

    def objective(self, obj, X, Y, Xj=None):
        """(value, grad) of obj at the n rows of X with targets Y (n x K).

        Xj: inputs of the Jacobian term (None: X). grad is a float32 vector in
        the layout of params. No noise is drawn here."""
        X, Y, Xj, n = self._objective_args(obj, X, Y, Xj)
        value = ctypes.c_double()
        grad = np.empty(self._count, dtype=np.float32)
        F.jn_net_objective(self._h, obj._h, ptr(X), ptr(Xj), ptr(Y), n, ctypes.byref(value), ptr(grad))
        return value.value, grad

    def check_gradient(self, obj, X, Y, Xj=None):
        """Largest relative error of the gradient against central differences."""
        X, Y, Xj, n = self._objective_args(obj, X, Y, Xj)
        err = ctypes.c_double()
        F.jn_net_check_gradient(self._h, obj._h, ptr(X), ptr(Xj), ptr(Y), n, ctypes.byref(err))
        return err.value

    def error_rate(self, X, y):
        """Fraction of rows of X whose predicted class differs from y."""
        with _Dataset(X, y, self._sizes[-1]) as ds:
            err = ctypes.c_double()
            F.jn_net_error_rate(self._h, ds._h, ctypes.byref(err))
            return err.value

    # -- files
    def save(self, path):
        F.jn_net_save(self._h, path_arg(path))

    @classmethod
    def load(cls, path):
        h = _lib.new_handle()
        F.jn_net_load(ctypes.byref(h), path_arg(path))
        return cls._wrap(h)


# ---- objectives ----------------------------------------------------------------

class Objective(_Handle):
    """loss + jacobian * ||J_F(x~)||_F^2 + l2 * sum ||W||_F^2.

    loss: "mse" (sum of squares, no 1/2) or "ce" (softmax outputs).
    projections: 0 exact penalty, k > 0 the k-projection estimate.
    noise, input_std, jacobian_std: noise the *trainer* draws per minibatch
    (Net.objective never draws noise). penalty_target: "output" or "logits".
    penalty_form: "auto", "direct" or "gram" (docs/METHOD.md).
    precision: "fp32" (default) or "bf16", the penalty's products in bfloat16
    where libjacnet has oneDNN and the CPU AMX (else fp32; precision_used
    says which runs; JACNET_FORCE_BF16=1 allows it without AMX)."""

    _free_name = "jn_objective_free"

    def __init__(self, loss="mse", l2=0.0, jacobian=0.0, projections=0, *, noise="none",
                 input_std=0.0, jacobian_std=0.0, seed=None, penalty_target="output", penalty_every=1,
                 penalty_form="auto", precision="fp32"):
        if loss not in _lib.LOSS:
            raise ValueError("loss: %r, expected 'mse' or 'ce'" % (loss,))
        h = _lib.new_handle()
        F.jn_objective_create(ctypes.byref(h), _lib.LOSS[loss])
        self._adopt(h)
        self.loss = loss
        self._configure(l2, jacobian, projections, noise, input_std, jacobian_std, seed, penalty_target,
                        penalty_every, penalty_form, precision)

    def _configure(self, l2, jacobian, projections, noise, input_std, jacobian_std, seed, penalty_target,
                   penalty_every, penalty_form="auto", precision="fp32"):
        if noise not in _lib.NOISE:
            raise ValueError("noise: %r, one of %s" % (noise, ", ".join(_lib.NOISE)))
        if penalty_target not in _lib.PENALTY_TARGET:
            raise ValueError("penalty_target: %r, 'output' or 'logits'" % (penalty_target,))
        if penalty_form not in _lib.PENALTY_FORM:
            raise ValueError("penalty_form: %r, 'auto', 'direct' or 'gram'" % (penalty_form,))
        if precision not in _lib.PRECISION:
            raise ValueError("precision: %r, 'fp32' or 'bf16'" % (precision,))
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
        self.l2, self.jacobian, self.projections = float(l2), float(jacobian), int(projections)
        self.noise, self.input_std, self.jacobian_std = noise, float(input_std), float(jacobian_std)
        self.seed, self.penalty_target, self.penalty_every = seed, penalty_target, int(penalty_every)
        self.penalty_form = penalty_form
        self.precision = precision

    @property
    def precision_used(self):
        """"fp32" or "bf16": what the penalty's products run in with this
        objective here (jn_objective_precision_used)."""
        used = F.jn_objective_precision_used(self._h)
        return next(k for k, v in _lib.PRECISION.items() if v == used)

    @classmethod
    def model(cls, name, lam=0.0, std=0.1):
        """The report's presets: mlp, l2, noise, jacob, nj, nj-both (MSE)."""
        if name not in _lib.MODEL:
            raise ValueError("model: %r, one of %s" % (name, ", ".join(_lib.MODEL)))
        h = _lib.new_handle()
        F.jn_objective_create_model(ctypes.byref(h), _lib.MODEL[name], float(lam), float(std))
        self = cls.__new__(cls)
        self._adopt(h)
        self.loss = "mse"
        # What the preset means, for repr and clone (see jn_objective_create_model).
        l2 = lam if name == "l2" else 0.0
        jac = lam if name in ("jacob", "nj", "nj-both") else 0.0
        noise = "gaussian" if name in ("noise", "nj", "nj-both") else "none"
        in_std = std if name in ("noise", "nj-both") else 0.0
        jac_std = std if name in ("nj", "nj-both") else 0.0
        self.l2, self.jacobian, self.projections = l2, jac, 0
        self.noise, self.input_std, self.jacobian_std = noise, in_std, jac_std
        self.seed, self.penalty_target, self.penalty_every = None, "output", 1
        self.penalty_form = "auto"
        self.precision = "fp32"
        return self

    def clone(self, **changes):
        """A copy (jn_objective_clone) with the given keyword settings changed."""
        h = _lib.new_handle()
        F.jn_objective_clone(ctypes.byref(h), self._h)
        new = Objective.__new__(Objective)
        new._adopt(h)
        new.loss = self.loss
        settings = dict(l2=self.l2, jacobian=self.jacobian, projections=self.projections, noise=self.noise,
                        input_std=self.input_std, jacobian_std=self.jacobian_std, seed=self.seed,
                        penalty_target=self.penalty_target, penalty_every=self.penalty_every,
                        penalty_form=self.penalty_form, precision=self.precision)
        unknown = set(changes) - set(settings)
        if unknown:
            raise TypeError("clone: unknown settings %s" % ", ".join(sorted(unknown)))
        settings.update(changes)
        new._configure(**settings)
        return new

    def __repr__(self):
        return ("jacnet.Objective(loss=%r, l2=%g, jacobian=%g, projections=%d, noise=%r, input_std=%g, "
                "jacobian_std=%g, precision=%r)" % (self.loss, self.l2, self.jacobian, self.projections, self.noise,
                                                    self.input_std, self.jacobian_std, self.precision))


# ---- optimizers and random numbers ---------------------------------------------

class Optimizer(_Handle):
    """SGD (momentum) or Adam over a network's flat parameters.

    Optimizer.sgd(lr, momentum=0.0), Optimizer.adam(lr, beta1, beta2, eps);
    schedule(kind, gamma, period); step(net, grad)."""

    _free_name = "jn_optimizer_free"

    def __init__(self, *a, **k):
        raise TypeError("use Optimizer.sgd(...) or Optimizer.adam(...)")

    @classmethod
    def sgd(cls, lr=0.1, momentum=0.0):
        h = _lib.new_handle()
        F.jn_optimizer_create_sgd(ctypes.byref(h), float(lr), float(momentum))
        self = cls.__new__(cls)
        self._adopt(h)
        return self

    @classmethod
    def adam(cls, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        h = _lib.new_handle()
        F.jn_optimizer_create_adam(ctypes.byref(h), float(lr), float(beta1), float(beta2), float(eps))
        self = cls.__new__(cls)
        self._adopt(h)
        return self

    def schedule(self, kind="constant", gamma=0.0, period=1):
        if kind not in _lib.SCHEDULE:
            raise ValueError("schedule: %r, one of %s" % (kind, ", ".join(_lib.SCHEDULE)))
        F.jn_optimizer_set_schedule(self._h, _lib.SCHEDULE[kind], float(gamma), int(period))
        return self

    @property
    def lr(self):
        return F.jn_optimizer_lr(self._h)

    def step(self, net, grad):
        g = as_float32(grad, "grad")
        if g.ndim != 1 or g.shape[0] != net.param_count:
            raise ValueError("grad: shape %s, expected (%d,)" % (g.shape, net.param_count))
        F.jn_optimizer_step(self._h, net._h, ptr(g))

    def reset(self):
        F.jn_optimizer_reset(self._h)


class Rng(_Handle):
    """xoshiro256** stream (jn_rng): Rng(seed, stream=0)."""

    _free_name = "jn_rng_free"

    def __init__(self, seed, stream=0):
        h = _lib.new_handle()
        F.jn_rng_create_stream(ctypes.byref(h), int(seed), int(stream))
        self._adopt(h)

    def gaussian(self, shape, std=1.0):
        out = np.empty(shape, dtype=np.float32)
        F.jn_rng_gaussian(self._h, ptr(out), out.size, float(std))
        return out

    def corrupt(self, X, kind="gaussian", level=0.1, out=None):
        """A corrupted copy of X (jn_corrupt); out (float32, C-contiguous, X's shape) may be X itself."""
        if kind not in _lib.NOISE:
            raise ValueError("kind: %r, one of %s" % (kind, ", ".join(_lib.NOISE)))
        X = as_float32(X, "X")
        if out is None:
            out = np.empty_like(X)
        elif (not isinstance(out, np.ndarray) or out.dtype != np.float32 or not out.flags.c_contiguous
              or not out.flags.writeable or out.shape != X.shape):
            raise ValueError("out: need a writable float32 C-contiguous array of shape %s" % (X.shape,))
        F.jn_corrupt(self._h, _lib.NOISE[kind], float(level), ptr(X), ptr(out), X.size)
        return out


def set_threads(n):
    """BLAS threads used by libjacnet's GEMMs."""
    F.jn_set_threads(int(n))


# ---- datasets ------------------------------------------------------------------

class _Dataset(_Handle):
    """A dataset borrowing X (float32) and y (int32): the arrays are kept alive
    until the C handle is freed (they ride in the finalizer)."""

    _free_name = "jn_dataset_free"

    def __init__(self, X, y, classes, D=None):
        X = as_float32(X, "X")
        if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0 or (D is not None and X.shape[1] != D):
            raise ValueError("X: shape %s, expected (n, %s)" % (X.shape, D if D is not None else "D"))
        y = as_int32(y, "y")
        if y.shape != (X.shape[0],):
            raise ValueError("y: shape %s, expected (%d,)" % (y.shape, X.shape[0]))
        h = _lib.new_handle()
        F.jn_dataset_create(ctypes.byref(h), ptr(X), ptr(y), X.shape[0], X.shape[1], int(classes),
                            _lib.DATASET_BORROW)
        self._adopt(h, keep_alive=(X, y))
        self.X, self.y = X, y


def _copy_out(h):
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


def load_idx(images, labels, binarize=False):
    """MNIST-style IDX3 images + IDX1 labels (raw or .gz): (X n x D float32 in [0,1], y int32)."""
    h = _lib.new_handle()
    F.jn_dataset_load_idx(ctypes.byref(h), path_arg(images, "images"), path_arg(labels, "labels"),
                          _lib.LOAD_BINARIZE if binarize else 0)
    return _copy_out(h.value)


def load_usps(path):
    """One USPS file (zip.train / zip.test, raw or .gz): (X n x 256 float32 in [0,1], y int32)."""
    h = _lib.new_handle()
    F.jn_dataset_load_usps(ctypes.byref(h), path_arg(path))
    return _copy_out(h.value)


def load_csv(path, binarize=False):
    """CSV with the label first: (X, y)."""
    h = _lib.new_handle()
    F.jn_dataset_load_csv(ctypes.byref(h), path_arg(path), _lib.LOAD_BINARIZE if binarize else 0)
    return _copy_out(h.value)


def _splits(loader, *args):
    hs = [_lib.new_handle() for _ in range(3)]
    try:
        loader(*args, *[ctypes.byref(h) for h in hs])
    except BaseException:
        for h in hs:
            F.jn_dataset_free(h.value)
        raise
    return {name: _copy_out(h.value) for name, h in zip(("train", "valid", "test"), hs)}


def _dir_arg(d):
    return None if d is None else path_arg(d, "dir")


def mnist_splits(dir=None, binarize=False):
    """The report's MNIST splits from dir/mnist (dir None: $JACNET_DATA, else ./data):
    {"train": (X, y) 50000, "valid": 10000, "test": 10000}."""
    return _splits(F.jn_load_mnist, _dir_arg(dir), _lib.LOAD_BINARIZE if binarize else 0)


def usps_splits(dir=None):
    """The report's USPS splits from dir/usps: {"train", "valid", "test"} -> (X, y)."""
    return _splits(F.jn_load_usps, _dir_arg(dir))


# ---- trainer -------------------------------------------------------------------

class _Trainer(_Handle):
    _free_name = "jn_trainer_free"

    def __init__(self):
        h = _lib.new_handle()
        F.jn_trainer_create(ctypes.byref(h))
        self._adopt(h)


def _report_dict(r):
    return {"epoch": r.epoch, "train_objective": r.train_objective,
            "valid_error": None if r.valid_error < 0 else r.valid_error,
            "best_valid_error": None if r.best_valid_error < 0 else r.best_valid_error,
            "best_epoch": r.best_epoch, "seconds": r.seconds, "lr": r.lr}


def train(net, objective, X, y, *, epochs=10, batch_size=100, optimizer="sgd", lr=0.1, momentum=0.0,
          adam=(0.9, 0.999, 1e-8), schedule=None, seed=1, noise=None, input_std=None, jacobian_std=None,
          valid=None, patience=0, callback=None, on_batch=None):
    """Train net in place with libjacnet's trainer; return the per-epoch reports.

    X (n x D) and integer labels y in [0, K). optimizer "sgd" (lr, momentum) or
    "adam" (lr, adam=(beta1, beta2, eps)) or a jacnet.Optimizer; schedule
    (kind, gamma, period). noise / input_std / jacobian_std override the
    objective's noise for this run (the objective itself is not changed).
    valid = (X_valid, y_valid); patience > 0 stops after that many epochs
    without improvement; the best parameters are restored when valid is given.
    callback(report_dict) each epoch: a true result stops training.
    on_batch(epoch, done, total) after each minibatch: a true result stops
    training at once.
    Each report: epoch, train_objective, valid_error (None without valid),
    best_valid_error, best_epoch, seconds, lr."""
    if not isinstance(net, Net):
        raise TypeError("net: expected a jacnet.Net")
    if not isinstance(objective, Objective):
        raise TypeError("objective: expected a jacnet.Objective")
    D, K = net.n_inputs, net.n_outputs
    if int(epochs) < 1 or int(batch_size) < 1 or int(patience) < 0:
        raise ValueError("epochs and batch_size must be >= 1, patience >= 0")
    owned = []  # handles made here, closed at the end
    try:
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

        reports, failure = [], []

        # Exceptions cannot cross C: the callbacks catch them, ask the trainer
        # to stop, and train() raises them afterwards.
        def epoch_cb(rep_p, user):
            try:
                d = _report_dict(rep_p.contents)
                reports.append(d)
                if failure:
                    return 1
                return 1 if (callback is not None and callback(dict(d))) else 0
            except BaseException as e:  # KeyboardInterrupt included
                failure.append(e)
                return 1

        def batch_cb(epoch, done, total, user):
            if failure:
                return 1
            try:
                return 1 if on_batch(epoch, done, total) else 0
            except BaseException as e:  # KeyboardInterrupt included: stop at once
                failure.append(e)
                return 1

        # The CFUNCTYPE objects must live as long as C may call them: they are
        # locals of this frame for the whole run and are unset before return.
        c_epoch = _lib.EPOCH_CALLBACK(epoch_cb)
        c_batch = _lib.BATCH_CALLBACK(batch_cb) if on_batch is not None else _lib.BATCH_CALLBACK()
        F.jn_trainer_set_epoch_callback(tr._h, c_epoch, None)
        F.jn_trainer_set_batch_callback(tr._h, c_batch, None)
        try:
            F.jn_trainer_run(tr._h, net._h, obj._h, opt._h, train_ds._h, valid_ds._h if valid_ds else None)
        except JacnetError as e:
            if failure:
                raise failure[0] from None
            if e.status != _lib.ERR_STOPPED:
                e.reports = reports
                raise
        finally:
            F.jn_trainer_set_epoch_callback(tr._h, _lib.EPOCH_CALLBACK(), None)
            F.jn_trainer_set_batch_callback(tr._h, _lib.BATCH_CALLBACK(), None)
        if failure:
            raise failure[0]
        return reports
    finally:
        for o in reversed(owned):
            o.close()
