"""Handles are never shared by accident (docs/PYTHON.md, "Copies, pickles and closed handles").

copy.copy / copy.deepcopy / pickle of a Net or an Objective make a new C
object; the other handle classes refuse with TypeError; every method of a
closed handle, and every function given a closed handle, raises instead of
reaching C with a freed pointer."""
import copy
import copyreg
import gc
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

import jacnet

X = np.random.default_rng(5).random((4, 6), dtype=np.float32)
Y = np.eye(3, dtype=np.float32)[[0, 1, 2, 0]]
LABELS = np.array([0, 1, 2, 0], np.int32)


def _net():
    return jacnet.Net([6, 5, 3], "tanh", "sigmoid").init(11)


def _run_python(code, stdin=b""):
    """Run code in a new interpreter with this jacnet; (returncode, stdout, stderr)."""
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(jacnet.__file__)),
               JACNET_LIB=jacnet.LIBRARY_PATH)
    r = subprocess.run([sys.executable, "-c", code], input=stdin, env=env, capture_output=True, timeout=120)
    return r.returncode, r.stdout, r.stderr.decode("utf-8", "replace")


# ---- networks copy through jn_net_clone ----

@pytest.mark.parametrize("copier", [copy.copy, copy.deepcopy], ids=["copy", "deepcopy"])
def test_net_copy_is_a_new_network(copier):
    net = _net()
    twin = copier(net)
    assert type(twin) is jacnet.Net and twin._address != net._address
    assert twin.sizes == net.sizes and twin.hidden == net.hidden and twin.output == net.output
    np.testing.assert_array_equal(twin.params, net.params)
    want, p0 = net.forward(X), net.params
    # Changing one does not change the other, and closing one leaves the other working.
    p = twin.params
    p[0] += 1.0
    twin.params = p
    np.testing.assert_array_equal(net.params, p0)
    net.close()
    with pytest.raises(ValueError, match="closed"):
        net.forward(X)
    twin.params = p0
    np.testing.assert_array_equal(twin.forward(X), want)
    twin.close()


def test_deepcopy_keeps_shared_references_shared():
    net, obj = _net(), jacnet.Objective(jacobian=0.1)
    box = {"a": net, "b": [net, obj], "c": obj}
    dup = copy.deepcopy(box)
    assert dup["a"] is dup["b"][0] and dup["c"] is dup["b"][1]
    assert dup["a"] is not net and dup["a"]._address != net._address
    assert dup["c"]._address != obj._address
    net.close()
    obj.close()
    value, grad = dup["a"].objective(dup["c"], X, Y)
    assert np.isfinite(value) and grad.shape == (dup["a"].param_count,)


@pytest.mark.parametrize("make", [lambda: jacnet.Objective("mse", l2=0.01, jacobian=0.2, projections=2,
                                                           noise="uniform", input_std=0.05, jacobian_std=0.1,
                                                           seed=9, penalty_target="logits", penalty_every=3,
                                                           penalty_form="gram"),
                                  lambda: jacnet.Objective.model("nj-both", 0.3, 0.1)], ids=["settings", "preset"])
@pytest.mark.parametrize("copier", [copy.copy, copy.deepcopy, lambda o: pickle.loads(pickle.dumps(o))],
                         ids=["copy", "deepcopy", "pickle"])
def test_objective_copies_compute_the_same(make, copier):
    obj = make()
    twin = copier(obj)
    assert twin._address != obj._address and repr(twin) == repr(obj)
    assert twin._settings() == obj._settings()
    with _net() as net:
        want = net.objective(obj, X, Y, Xj=X + 0.01)
        obj.close()
        got = net.objective(twin, X, Y, Xj=X + 0.01)
    assert got[0] == want[0]
    np.testing.assert_array_equal(got[1], want[1])
    twin.close()


# ---- pickles ----

def test_net_pickle_round_trip_in_process():
    net = _net()
    back = pickle.loads(pickle.dumps(net))
    assert back._address != net._address and back.sizes == net.sizes
    np.testing.assert_array_equal(back.params, net.params)
    # The pickle holds the values, not a pointer: it survives the original.
    data = pickle.dumps(net)
    net.close()
    gc.collect()
    again = pickle.loads(data)
    np.testing.assert_array_equal(again.forward(X), back.forward(X))


def test_pickle_round_trip_in_a_new_process():
    """A Net and an Objective pickled here, loaded in a fresh interpreter and
    used there: its forward pass and objective equal ours bit for bit."""
    net = jacnet.Net([6, 7, 5, 3], "relu", "softmax").init(3)
    obj = jacnet.Objective("ce", l2=0.001, jacobian=0.1)
    payload = pickle.dumps((net, obj, X, Y))
    code = ("import pickle, sys\n"
            "net, obj, X, Y = pickle.load(sys.stdin.buffer)\n"
            "F = net.forward(X)\n"
            "value, grad = net.objective(obj, X, Y)\n"
            "pickle.dump((F, value, grad, net.sizes, net.hidden, net.output), sys.stdout.buffer)\n")
    rc, out, err = _run_python(code, payload)
    assert rc == 0, "the new process failed (%d):\n%s" % (rc, err)
    F, value, grad, sizes, hidden, output = pickle.loads(out)
    assert (sizes, hidden, output) == ((6, 7, 5, 3), "relu", "softmax")
    np.testing.assert_array_equal(F, net.forward(X))
    want_value, want_grad = net.objective(obj, X, Y)
    assert value == want_value
    np.testing.assert_array_equal(grad, want_grad)


def test_closed_handles_do_not_pickle():
    net, obj = _net(), jacnet.Objective()
    net.close()
    obj.close()
    for h in (net, obj):
        with pytest.raises(ValueError, match="closed"):
            pickle.dumps(h)
        for copier in (copy.copy, copy.deepcopy):
            with pytest.raises(ValueError, match="closed"):
                copier(h)


def test_pickle_with_a_raw_pointer_is_refused():
    """A pickle that carries a C address (the way an object's __dict__ was
    pickled before) must not produce a Net that uses it."""
    class Forged:
        def __reduce__(self):
            return (copyreg._reconstructor, (jacnet.Net, object, None), {"_address": 0xdeadbeef, "_sizes": (6, 3)})
    data = pickle.dumps(Forged())
    with pytest.raises(TypeError, match="C pointer"):
        pickle.loads(data)


# ---- classes without a C copy refuse ----

def _uncopyable():
    from jacnet.data import _Dataset
    from jacnet.training import _Trainer
    return [jacnet.Optimizer.sgd(0.1, 0.9), jacnet.Optimizer.adam(0.01), jacnet.Rng(4, 1),
            _Dataset(X, LABELS, 3), _Trainer()]


@pytest.mark.parametrize("how", ["copy", "deepcopy", "pickle"])
def test_handles_without_clone_refuse_with_type_error(how):
    for h in _uncopyable():
        name = type(h).__name__.lstrip("_")
        with pytest.raises(TypeError, match="jacnet.%s cannot be" % name):
            {"copy": copy.copy, "deepcopy": copy.deepcopy, "pickle": pickle.dumps}[how](h)
        h.close()


def test_refusals_do_not_disturb_the_handle():
    opt = jacnet.Optimizer.adam(0.01)
    with pytest.raises(TypeError):
        copy.deepcopy({"opt": opt})
    with _net() as net:
        before = net.params
        opt.step(net, np.ones(net.param_count, np.float32))
        assert not np.array_equal(net.params, before)
    opt.close()


# ---- closed handles: every method, and every function given one ----

# A network's architecture is fixed, cached at creation and readable after
# close (repr uses it). An objective's settings are read from C, so they
# raise like everything else.
READABLE_AFTER_CLOSE = {"sizes", "hidden", "output", "param_count", "n_inputs", "n_outputs", "closed", "close",
                        "hidden_act", "output_act", "MODELS_WITH_LAMBDA"}
# Constructors (class methods) that take no handle.
CONSTRUCTORS = {"load", "model", "sgd", "adam"}


def _closed(make):
    h = make()
    h.close()
    return h


NET_CALLS = {
    "params": lambda n: n.params,
    "init": lambda n: n.init(1),
    "clone": lambda n: n.clone(),
    "forward": lambda n: n.forward(X),
    "predict": lambda n: n.predict(X),
    "hidden_activations": lambda n: n.hidden_activations(X, 1),
    "jacobian": lambda n: n.jacobian(X),
    "jacobian_sqnorm": lambda n: n.jacobian_sqnorm(X),
    "hessian_sqnorm": lambda n: n.hessian_sqnorm(X),
    "mean_loss": lambda n: n.mean_loss(jacnet.Objective(), X, LABELS),
    "objective": lambda n: n.objective(jacnet.Objective(), X, Y),
    "check_gradient": lambda n: n.check_gradient(jacnet.Objective(), X, Y),
    "error_rate": lambda n: n.error_rate(X, LABELS),
    "input_gradient": lambda n: n.input_gradient(X, LABELS),
    "save": lambda n: n.save(os.devnull),
}
OBJECTIVE_CALLS = {"clone": lambda o: o.clone(), "precision_used": lambda o: o.precision_used,
                   "precision_ratio": lambda o: o.precision_ratio}
OBJECTIVE_CALLS.update({name: (lambda o, name=name: getattr(o, name)) for name in
                        ("loss", "l2", "jacobian", "projections", "noise", "input_std", "jacobian_std", "seed",
                         "penalty_target", "penalty_every", "penalty_form", "precision")})
OPTIMIZER_CALLS = {
    "schedule": lambda o: o.schedule("step", 0.5, 2),
    "lr": lambda o: o.lr,
    "step": lambda o: o.step(_net(), np.zeros(_net().param_count, np.float32)),
    "reset": lambda o: o.reset(),
    "scale_lr": lambda o: o.scale_lr(0.5),
}
RNG_CALLS = {"gaussian": lambda r: r.gaussian((3,)), "corrupt": lambda r: r.corrupt(X)}


@pytest.mark.parametrize("cls, make, calls", [
    (jacnet.Net, _net, NET_CALLS),
    (jacnet.Objective, jacnet.Objective, OBJECTIVE_CALLS),
    (jacnet.Optimizer, lambda: jacnet.Optimizer.sgd(0.1), OPTIMIZER_CALLS),
    (jacnet.Rng, lambda: jacnet.Rng(1), RNG_CALLS),
], ids=["Net", "Objective", "Optimizer", "Rng"])
def test_every_method_of_a_closed_handle_raises(cls, make, calls):
    public = {n for n in dir(cls) if not n.startswith("_")}
    untested = public - set(calls) - READABLE_AFTER_CLOSE - CONSTRUCTORS
    assert not untested, "add these methods to the closed-handle test: %s" % sorted(untested)
    h = _closed(make)
    for name, call in calls.items():
        with pytest.raises(ValueError, match="closed"):
            call(h)
    if cls is jacnet.Net:
        with pytest.raises(ValueError, match="closed"):
            h.params = np.zeros(h.param_count, np.float32)
    repr(h)  # still fine
    h.close()  # and closing again too


def test_closed_handles_given_to_functions_raise():
    net, obj, opt = _net(), jacnet.Objective(jacobian=0.1), jacnet.Optimizer.sgd(0.1)
    dead_net, dead_obj, dead_opt = _closed(_net), _closed(jacnet.Objective), _closed(lambda: jacnet.Optimizer.sgd(0.1))
    y = np.array([0, 1, 2, 0], np.int32)
    calls = {
        "Net.objective(closed objective)": lambda: net.objective(dead_obj, X, Y),
        "Net.check_gradient(closed objective)": lambda: net.check_gradient(dead_obj, X, Y),
        "Optimizer.step(closed net)": lambda: opt.step(dead_net, np.zeros(net.param_count, np.float32)),
        "train(closed net)": lambda: jacnet.train(dead_net, obj, X, y, epochs=1),
        "train(closed objective)": lambda: jacnet.train(net, dead_obj, X, y, epochs=1),
        "train(closed optimizer)": lambda: jacnet.train(net, obj, X, y, epochs=1, optimizer=dead_opt),
        "train(closed optimizer, schedule)": lambda: jacnet.train(net, obj, X, y, epochs=1, optimizer=dead_opt,
                                                                  schedule=("step", 0.5, 1)),
        "train(closed objective, noise override)": lambda: jacnet.train(net, dead_obj, X, y, epochs=1,
                                                                        input_std=0.1),
    }
    before = net.params
    for what, call in calls.items():
        with pytest.raises(ValueError, match="closed"):
            call()
    # Nothing was half done: the open handles are untouched and work.
    np.testing.assert_array_equal(net.params, before)
    assert np.isfinite(net.objective(obj, X, Y)[0])
    jacnet.train(net, obj, X, y, epochs=1, optimizer=opt, batch_size=2)
    for h in (net, obj, opt):
        h.close()


def test_issue_scenario_does_not_crash():
    """What a new user tried (issue 10): deepcopy, close the original, use the
    copy; pickle, load in a new process, forward. In a child process so a
    crash shows as a signal instead of killing the test run."""
    code = ("import copy, gc, pickle, numpy as np, jacnet\n"
            "net = jacnet.Net([4, 3, 2]).init(1)\n"
            "twin = copy.deepcopy(net)\n"
            "net.close()\n"
            "x = np.ones((2, 4), np.float32)\n"
            "print(twin.forward(x).shape)\n"
            "try:\n"
            "    net.forward(x)\n"
            "except ValueError as e:\n"
            "    print('closed:', e)\n"
            "del net, twin\n"
            "gc.collect()\n")
    rc, out, err = _run_python(code)
    assert rc == 0, "exit %d:\n%s" % (rc, err)
    assert b"(2, 2)" in out and b"closed: jacnet.Net is closed" in out
