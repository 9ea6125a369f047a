"""Objectives: Objective, whose settings live in C only (read through the
jn_objective_* getters)."""
from __future__ import annotations

import ctypes
import warnings
from typing import Any, Dict, Optional

from . import _lib
from ._handle import _Handle
from ._lib import F


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


def _restore_objective(loss, settings):
    """Unpickle an Objective from its settings."""
    return Objective(loss, **settings)
