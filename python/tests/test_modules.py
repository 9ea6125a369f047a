"""The package's layout: one module per unit of the library (net,
objective, data, training, noise, backend, plot), imports in one direction
only, everything exported where it was, and pickles made when everything
lived in jacnet._core still loading."""
import ast
import os
import pickle

import numpy as np

import jacnet

PKG = os.path.dirname(jacnet.__file__)


def _package_imports(path):
    """The package modules a module imports at its top level ('.x' or 'jacnet.x')."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    out = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:
                out.update([node.module] if node.module else [a.name for a in node.names])
            elif node.module and node.module.startswith("jacnet."):
                out.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[1] for a in node.names if a.name.startswith("jacnet."))
    return out


def test_no_import_cycles():
    modules = {f[:-3] for f in os.listdir(PKG) if f.endswith(".py") and f != "__init__.py"}
    graph = {m: _package_imports(os.path.join(PKG, m + ".py")) & modules for m in modules}
    assert graph["net"] >= {"data", "objective"} and graph["training"] >= {"net"}  # the scan sees imports
    done, path = set(), []

    def visit(m):
        assert m not in path, "import cycle: %s" % " -> ".join(path[path.index(m):] + [m])
        if m in done:
            return
        path.append(m)
        for n in sorted(graph[m]):
            visit(n)
        path.pop()
        done.add(m)

    for m in sorted(graph):
        visit(m)


def test_exports_unchanged():
    # The names jacnet exported before the split, each from its unit's module.
    homes = {"Net": "net", "Objective": "objective", "Optimizer": "training", "train": "training",
             "Rng": "noise", "load_idx": "data", "load_usps": "data", "load_csv": "data", "mnist_splits": "data",
             "usps_splits": "data", "set_threads": "backend", "blas_kernel": "backend"}
    for name, module in homes.items():
        assert name in jacnet.__all__
        assert getattr(jacnet, name).__module__ == "jacnet." + module
    for name in jacnet.__all__:
        assert hasattr(jacnet, name), name
    assert callable(jacnet.train)  # the function, not a module of that name


def test_pickles_naming_the_old_module_load():
    net = jacnet.Net([3, 2, 2], seed=4)
    obj = jacnet.Objective(l2=0.01, jacobian=0.2, projections=2, seed=5)
    # Protocol 2 names a function as "module\nname\n": rewrite it to what a
    # pickle made before the split holds.
    old_net = pickle.dumps(net, protocol=2).replace(b"jacnet.net\n", b"jacnet._core\n")
    old_obj = pickle.dumps(obj, protocol=2).replace(b"jacnet.objective\n", b"jacnet._core\n")
    assert b"jacnet._core\n_restore_net" in old_net and b"jacnet._core\n_restore_objective" in old_obj
    with pickle.loads(old_net) as back:
        np.testing.assert_array_equal(back.params, net.params)
    with pickle.loads(old_obj) as back:
        assert (back.l2, back.jacobian, back.projections, back.seed) == (0.01, 0.2, 2, 5)
    net.close()
    obj.close()
