"""One source of truth for names, enum values and defaults (issue 22): the
binding's enum tables against the enums of jacnet.h as the compiler would
number them, and the presets' names and the recipe's defaults of Python and
of the `jacnet` tool against the library's own (jn_model_name,
jn_default_value; Python's train() defaults: test_newuser.py)."""
import os
import re
import subprocess

import pytest

import jacnet
from jacnet import _lib

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEADER = os.path.join(REPO, "include", "jacnet.h")
CLI = os.environ.get("JACNET_CLI") or os.path.join(REPO, "build", "bin", "jacnet")


def header_enum(type_name):
    """{ENUMERATOR: value} of `typedef enum { ... } type_name;` in jacnet.h,
    numbered as C does (implicit values count up from the last one)."""
    if not os.path.exists(HEADER):
        pytest.skip("not in the source tree")
    text = re.sub(r"/\*.*?\*/", "", open(HEADER).read(), flags=re.S)
    m = re.search(r"typedef enum\s*\{([^}]*)\}\s*%s\s*;" % type_name, text)
    assert m, "no enum %s in jacnet.h" % type_name
    values, nxt = {}, 0
    for item in (i.strip() for i in m.group(1).split(",")):
        if not item:
            continue
        name, _, value = (p.strip() for p in item.partition("="))
        nxt = int(value, 0) if value else nxt
        values[name] = nxt
        nxt += 1
    return values


@pytest.mark.parametrize("table, type_name, prefix", [
    (_lib.ACT, "jn_act", "JN_ACT_"), (_lib.LOSS, "jn_loss", "JN_LOSS_"),
    (_lib.PENALTY_TARGET, "jn_penalty_target", "JN_PENALTY_"), (_lib.PENALTY_FORM, "jn_penalty_form", "JN_FORM_"),
    (_lib.PRECISION, "jn_precision", "JN_PRECISION_"), (_lib.NOISE, "jn_noise", "JN_NOISE_"),
    (_lib.SCHEDULE, "jn_schedule", "JN_SCHEDULE_")])
def test_binding_enums_match_the_header(table, type_name, prefix):
    expected = {k[len(prefix):].lower(): v for k, v in header_enum(type_name).items()}
    assert table == expected


def test_models_are_the_librarys():
    # jn_model's enumerators in order, named by jn_model_name; Python adds
    # only the deprecated alias.
    header = header_enum("jn_model")
    assert sorted(_lib.MODEL.values()) == sorted(header.values())
    assert list(_lib.MODEL) == ["mlp", "l2", "noise", "jacobian", "nj", "nj-both"]
    with pytest.warns(DeprecationWarning, match="jacobian"):
        obj = jacnet.Objective.model("jacob", 0.1)
    assert obj.jacobian == 0.1
    obj.close()
    assert set(jacnet.Objective.MODELS_WITH_LAMBDA) == {m for m, u in _lib.MODEL_USES.items() if u & 1}


def test_defaults_follow_the_header_enum():
    # _lib.DEFAULTS reads jn_default_value by position: its keys must be
    # jn_default's enumerators, in order (batch_size is Python's name for BATCH).
    header = sorted(header_enum("jn_default").items(), key=lambda kv: kv[1])
    names = [k[len("JN_DEFAULT_"):].lower() for k, _ in header]
    assert [("batch" if k == "batch_size" else k) for k in _lib.DEFAULTS] == names
    assert [v for _, v in header] == list(range(len(names)))


def cli_help(command):
    if not os.path.exists(CLI):
        pytest.skip("jacnet not built (make)")
    return subprocess.run([CLI, command, "--help"], capture_output=True, text=True, timeout=60).stdout


@pytest.mark.parametrize("command", ["train", "sweep"])
def test_cli_names_and_defaults_are_the_librarys(command):
    text = cli_help(command)
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("--model"))
    assert ", ".join(_lib.MODEL) in line
    d = _lib.DEFAULTS
    for option, key in (("lr", "lr"), ("momentum", "momentum"), ("batch", "batch_size"), ("epochs", "epochs"),
                        ("patience", "patience"), ("noise-std", "noise_std"), ("seed", "seed")):
        m = re.search(r"--%s \S+ .*\(default ([^)]+)\)" % option, text)
        assert m, "%s --help: no default for --%s" % (command, option)
        assert float(m.group(1)) == d[key], "--%s default %s, the library's %g" % (option, m.group(1), d[key])
