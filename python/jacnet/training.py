"""Training: Optimizer, the training recipe's defaults and train(), which
runs the C trainer and adds what Python needs around it (callbacks,
signals, the reports of a checkpointed run).

Named training, not train: the package exports the function train, and a
submodule of the same name would shadow it or be shadowed by it."""
from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import struct
import threading
import warnings
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar, Union

import numpy as np
import numpy.typing as npt

from . import _lib
from ._handle import FloatArray, _Handle
from ._lib import F, JacnetError, as_float32, ptr, path_arg
from .data import _Dataset, _check_labels, _is_targets, _labels_or_targets, _rows
from .net import Net
from .objective import Objective

Report = Dict[str, Any]

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
    recipe (SGD lr 0.05, momentum 0.9, batch 20, at most 100 epochs,
    patience 15; docs/METHOD.md). optimizer "sgd" (lr, momentum) or
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
        train_ds = _own(owned, _Dataset(X, y, K, D))
        valid_ds = None if valid is None else _own(owned, _Dataset(valid[0], valid[1], K, D))
        obj = _run_objective(objective, noise, input_std, jacobian_std, owned)
        opt = _run_optimizer(optimizer, lr, momentum, adam, owned)
        if schedule is not None:
            opt.schedule(*schedule)
        tr = _own(owned, _Trainer())
        F.jn_trainer_set_epochs(tr._h, int(epochs))
        F.jn_trainer_set_batch_size(tr._h, int(batch_size))
        F.jn_trainer_set_patience(tr._h, int(patience))
        F.jn_trainer_set_seed(tr._h, int(seed))
        if checkpoint_path is not None:
            F.jn_trainer_set_checkpoint(tr._h, checkpoint_path, int(checkpoint_every))
        if recovery_args is not None:
            F.jn_trainer_set_recovery(tr._h, *recovery_args)
        record = _RunRecord(checkpoint_path) if checkpoint_path is not None else None
        calls = _Callbacks(callback, on_batch, int(epochs) if verbose else None, record)
        return _run(tr, net, obj, opt, train_ds, valid_ds, calls)
    finally:
        for o in reversed(owned):
            o.close()


_O = TypeVar("_O", bound=_Handle)


def _own(owned: List[_Handle], handle: _O) -> _O:
    """handle, appended to the handles train() closes at its end."""
    owned.append(handle)
    return handle


def _run_objective(objective: Objective, noise: Optional[str], input_std: Optional[float],
                   jacobian_std: Optional[float], owned: List[_Handle]) -> Objective:
    """The run's objective: the caller's, or with train()'s noise overrides a
    clone (the caller's objective is never changed). An override of the
    levels alone on an objective without noise means Gaussian noise."""
    if noise is None and input_std is None and jacobian_std is None:
        return objective
    kind = noise if noise is not None else (objective.noise if objective.noise != "none" else "gaussian")
    return _own(owned, objective.clone(noise=kind,
                                       input_std=objective.input_std if input_std is None else input_std,
                                       jacobian_std=objective.jacobian_std if jacobian_std is None else jacobian_std))


def _run_optimizer(optimizer: Union[str, Optimizer], lr: float, momentum: float, adam: Tuple[float, float, float],
                   owned: List[_Handle]) -> Optimizer:
    """The run's optimizer: the caller's, or a new one by name."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if optimizer == "sgd":
        return _own(owned, Optimizer.sgd(lr, momentum))
    if optimizer == "adam":
        return _own(owned, Optimizer.adam(lr, *adam))
    raise ValueError("optimizer: 'sgd', 'adam' or a jacnet.Optimizer")


class _Callbacks:
    """The trainer's epoch and batch callbacks of one train() call: the
    reports, the user's callback and on_batch, the printed lines and the
    reports file of a checkpointed run.

    Exceptions cannot cross C (ctypes prints and drops them): the callbacks
    catch them into .failure, ask the trainer to stop, and train() raises
    them afterwards. failure is read last, so that a signal recorded while
    a callback ran stops the run at once."""

    def __init__(self, callback: Optional[Callable[[Report], Any]], on_batch: Optional[Callable[[int, int, int], Any]],
                 print_epochs: Optional[int], record: Optional[_RunRecord]) -> None:
        self.callback, self.on_batch = callback, on_batch
        self.print_epochs = print_epochs  # the epoch count printed in each line; None: quiet
        self.record = record
        self.reports: List[Report] = []  # this call's epochs
        self.failure: List[BaseException] = []
        self.in_user = False  # inside the user's code: see _deferred_signals

    def _call_user(self, fn: Callable[..., Any], *args: Any) -> bool:
        # A signal handler raising inside the user's code lands in this
        # try; in_user tells _deferred_signals that raising is safe.
        self.in_user = True
        try:
            stop = bool(fn(*args))
        except BaseException as e:  # KeyboardInterrupt included
            self.in_user = False
            self.failure.append(e)
            return True
        self.in_user = False
        return stop

    def _on_epoch(self, d: Report) -> Any:
        if self.print_epochs is not None:
            print(_progress_line(d, self.print_epochs), flush=True)
        return self.callback is not None and self.callback(dict(d))

    def epoch(self, rep_p: Any, user: Any) -> int:
        stop = False
        try:
            # The epoch is done whatever happens next, and C checkpoints
            # it after this call: it is recorded first.
            self.reports.append(_report_dict(rep_p.contents))
            if self.record is not None:
                self.record.save(self.reports)
            if not self.failure:
                stop = self._call_user(self._on_epoch, self.reports[-1])
        except BaseException as e:
            self.failure.append(e)
        return 1 if self.failure or stop else 0

    # Installed even without on_batch: a SIGINT that arrives while C
    # trains is handled at the next Python code the process runs, and
    # this gives it some after every minibatch, not only at epoch ends.
    def batch(self, epoch: int, done: int, total: int, user: Any) -> int:
        stop = not self.failure and self.on_batch is not None and self._call_user(self.on_batch, epoch, done, total)
        return 1 if self.failure or stop else 0


def _run(tr: _Trainer, net: Net, obj: Objective, opt: Optimizer, train_ds: _Dataset, valid_ds: Optional[_Dataset],
         calls: _Callbacks) -> List[Report]:
    """jn_trainer_run with calls' callbacks installed and Python's signal
    handlers held back; the whole run's reports (a resumed run's earlier
    epochs first), or the failure raised."""
    earlier = calls.record.reports if calls.record is not None else []
    # The CFUNCTYPE objects must live as long as C may call them: they are
    # locals of this frame for the whole run and are unset before return.
    c_epoch = _lib.EPOCH_CALLBACK(calls.epoch)
    c_batch = _lib.BATCH_CALLBACK(calls.batch)
    F.jn_trainer_set_epoch_callback(tr._h, c_epoch, None)
    F.jn_trainer_set_batch_callback(tr._h, c_batch, None)
    try:
        with _deferred_signals(calls.failure, lambda: calls.in_user):
            F.jn_trainer_run(tr._h, net._h, obj._h, opt._h, train_ds._h, valid_ds._h if valid_ds else None)
    except JacnetError as e:
        if calls.failure:
            raise calls.failure[0] from None
        if e.status != _lib.ERR_STOPPED:
            e.reports = earlier + calls.reports
            raise
    finally:
        F.jn_trainer_set_epoch_callback(tr._h, _lib.NULL_EPOCH_CALLBACK(), None)
        F.jn_trainer_set_batch_callback(tr._h, _lib.NULL_BATCH_CALLBACK(), None)
    if calls.failure:
        raise calls.failure[0]
    return earlier + calls.reports
