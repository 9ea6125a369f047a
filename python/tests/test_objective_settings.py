"""Objective keeps no shadow state: every setting is read from the C
objective (jn_objective_* getters), so a change made in C is what Python
shows, copies and pickles; nothing can be assigned beside C's copy."""
import copy
import pickle

import pytest

import jacnet
from jacnet import _lib
from jacnet._lib import F

# (attribute, C setter call on a handle, the value Python then reads): each
# a value no constructor default has.
C_CHANGES = [
    ("l2", lambda h: F.jn_objective_set_l2(h, 0.25), 0.25),
    ("jacobian", lambda h: F.jn_objective_set_jacobian(h, 0.5, 3), 0.5),
    ("projections", lambda h: F.jn_objective_set_jacobian(h, 0.0, 7), 7),
    ("noise", lambda h: F.jn_objective_set_noise(h, _lib.NOISE["mask"], 0.0, 0.0), "mask"),
    ("input_std", lambda h: F.jn_objective_set_noise(h, _lib.NOISE["gaussian"], 0.125, 0.0), 0.125),
    ("jacobian_std", lambda h: F.jn_objective_set_noise(h, _lib.NOISE["gaussian"], 0.0, 0.375), 0.375),
    ("seed", lambda h: F.jn_objective_set_seed(h, 2 ** 63 + 5), 2 ** 63 + 5),
    ("penalty_target", lambda h: F.jn_objective_set_penalty_target(h, _lib.PENALTY_TARGET["logits"]), "logits"),
    ("penalty_every", lambda h: F.jn_objective_set_penalty_every(h, 4), 4),
    ("penalty_form", lambda h: F.jn_objective_set_penalty_form(h, _lib.PENALTY_FORM["gram"]), "gram"),
    ("precision", lambda h: F.jn_objective_set_precision(h, _lib.PRECISION["auto"]), "auto"),
]


@pytest.mark.parametrize("name, change, value", C_CHANGES, ids=[c[0] for c in C_CHANGES])
def test_a_change_made_in_c_is_what_python_sees(name, change, value):
    with jacnet.Objective("mse") as obj:
        assert getattr(obj, name) != value
        change(obj._h)
        assert getattr(obj, name) == value
        with obj.clone() as twin:
            assert getattr(twin, name) == value
        with obj.clone(l2=0.5) as twin:  # a clone with a change keeps the rest
            assert getattr(twin, name) == (0.5 if name == "l2" else value)
        with pickle.loads(pickle.dumps(obj)) as back, copy.deepcopy(obj) as deep:
            assert getattr(back, name) == getattr(deep, name) == value
        if name in ("l2", "jacobian", "projections", "noise", "input_std", "jacobian_std", "precision"):
            assert repr(value)[:4] in repr(obj)


def test_the_whole_settings_list_is_tested():
    # A setting added to Objective needs a row in C_CHANGES.
    settings = {n for n, v in vars(jacnet.Objective).items() if isinstance(v, property)}
    assert settings - {"precision_used", "precision_ratio"} == {c[0] for c in C_CHANGES} | {"loss"}


def test_loss_is_read_from_c():
    for loss in ("mse", "ce"):
        with jacnet.Objective(loss) as obj, obj.clone() as twin:
            assert obj.loss == twin.loss == loss
            assert F.jn_objective_loss(obj._h) == _lib.LOSS[loss]


def test_no_copy_kept_and_none_can_be_made():
    with jacnet.Objective("ce", l2=0.1, jacobian=0.2, projections=2, noise="uniform", input_std=0.3,
                          seed=9, penalty_every=3) as obj:
        assert not {c[0] for c in C_CHANGES} & set(vars(obj))
        for name, _, value in C_CHANGES:
            with pytest.raises(AttributeError):
                setattr(obj, name, value)
        assert (obj.l2, obj.jacobian, obj.projections, obj.noise, obj.input_std, obj.seed,
                obj.penalty_every) == (0.1, 0.2, 2, "uniform", 0.3, 9, 3)


def test_constructor_defaults_are_c_defaults():
    with jacnet.Objective() as obj:
        assert (obj.loss, obj.l2, obj.jacobian, obj.projections, obj.noise, obj.input_std, obj.jacobian_std,
                obj.seed, obj.penalty_target, obj.penalty_every, obj.penalty_form, obj.precision) == \
            ("mse", 0.0, 0.0, 0, "none", 0.0, 0.0, 1, "output", 1, "auto", "fp32")


# What each preset configures (jacnet.h, jn_model), at lam 0.3 and std 0.2:
# (l2, jacobian, noise, input_std, jacobian_std).
PRESETS = {
    "mlp": (0.0, 0.0, "none", 0.0, 0.0),
    "l2": (0.3, 0.0, "none", 0.0, 0.0),
    "noise": (0.0, 0.0, "gaussian", 0.2, 0.0),
    "jacobian": (0.0, 0.3, "none", 0.0, 0.0),
    "nj": (0.0, 0.3, "gaussian", 0.0, 0.2),
    "nj-both": (0.0, 0.3, "gaussian", 0.2, 0.2),
}


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_read_what_c_configured(name):
    lam = 0.3 if name in jacnet.Objective.MODELS_WITH_LAMBDA else None
    with jacnet.Objective.model(name, lam, 0.2) as obj, obj.clone() as twin:
        for o in (obj, twin):
            assert (o.l2, o.jacobian, o.noise, o.input_std, o.jacobian_std) == PRESETS[name]
            assert (o.loss, o.projections, o.seed, o.penalty_every) == ("mse", 0, 1, 1)


def test_closed_objective_settings_raise():
    obj = jacnet.Objective(l2=0.1)
    obj.close()
    with pytest.raises(ValueError, match="closed"):
        obj.l2
    assert "closed" in repr(obj)
