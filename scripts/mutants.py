#!/usr/bin/env python3
"""Mutation testing: plant each one-line bug of tests/mutants.txt in a scratch
copy of the tree, build, run the C test programs, and print which test (if
any) killed it.

    scripts/mutants.py [--only ID,ID...] [--list] [--keep] [--out FILE]

The working tree is never written: the files git knows (tracked, and
untracked but not ignored) are copied to a temporary directory, built there
once, and each mutant is applied to that copy, rebuilt (make rebuilds only
the mutated object, the static library and the test programs) and reverted.
The test programs run in order of their unmutated run time, fastest first,
each relinked just before it runs, and a mutant is killed at the first one
that fails (or exceeds ten times its unmutated time plus 30 s). The C tests only: no sanitizers, no valgrind, no Python.

Exit status: 0 when every mutant is killed or marked `equivalent:` in the
list (with the reason), 1 when one survives unexplained, 2 when the list is
stale (a `from:` text not found exactly once) or the unmutated suite fails.
--list checks the list against the sources and exits without building.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIST = os.path.join(ROOT, "tests", "mutants.txt")
FIELDS = ("id", "file", "from", "to", "why", "equivalent")


def read_list(path):
    """Blocks of `key: value` lines separated by blank lines; # comments."""
    mutants, cur = [], {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith("#"):
                continue
            if not line.strip():
                if cur:
                    mutants.append(cur)
                    cur = {}
                continue
            key, sep, value = line.partition(":")
            if not sep or key not in FIELDS:
                sys.exit(f"{path}:{n}: expected one of {', '.join(FIELDS)} then ':'")
            if key in cur:
                sys.exit(f"{path}:{n}: '{key}' twice in one mutant")
            # One space after the colon is the separator; the rest is the text.
            cur[key] = value[1:] if value.startswith(" ") else value
    if cur:
        mutants.append(cur)
    ids = set()
    for m in mutants:
        for key in ("id", "file", "from", "to", "why"):
            if key not in m:
                sys.exit(f"{path}: mutant {m.get('id', '?')} lacks '{key}'")
        if not (m["file"].startswith("src/") and m["file"].endswith((".c", ".h"))):
            sys.exit(f"{path}: mutant {m['id']}: only src/*.c and src/*.h files are mutated")
        if m["id"] in ids:
            sys.exit(f"{path}: mutant id {m['id']} twice")
        ids.add(m["id"])
    return mutants


def apply(text, m):
    """The mutated text, or None when `from` is not found exactly once."""
    if text.count(m["from"]) != 1:
        return None
    return text.replace(m["from"], m["to"], 1)


def check_list(mutants, root):
    stale = []
    for m in mutants:
        with open(os.path.join(root, m["file"]), encoding="utf-8") as f:
            text = f.read()
        n = text.count(m["from"])
        if n != 1:
            stale.append(f"{m['id']}: '{m['from']}' occurs {n} times in {m['file']}")
        elif m["from"] == m["to"]:
            stale.append(f"{m['id']}: from and to are the same")
    return stale


def copy_tree(dst):
    files = subprocess.run(["git", "-C", ROOT, "ls-files", "-z", "-c", "-o", "--exclude-standard"],
                           check=True, capture_output=True).stdout.decode().split("\0")
    for rel in filter(None, files):
        src = os.path.join(ROOT, rel)
        if not os.path.isfile(src):
            continue  # deleted in the working tree
        os.makedirs(os.path.dirname(os.path.join(dst, rel)), exist_ok=True)
        shutil.copy2(src, os.path.join(dst, rel))


def build(tree, target="mutants-build"):
    """make target in the scratch tree (default: the static library and
    every C test program); (ok, output)."""
    r = subprocess.run(["make", "-s", "-j1", "-C", tree, target], capture_output=True, text=True)
    return r.returncode == 0, r.stdout + r.stderr


def test_programs(tree):
    d = os.path.join(tree, "build", "tests")
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.startswith("test_") and not f.endswith(".o"))


def run_test(path, tree, limit):
    """(passed, seconds, tail of the output)."""
    # Check's own per-test timeouts (4 s by default) stretched: a shared,
    # busy machine must not kill a mutant, nor fail the unmutated suite.
    env = dict(os.environ, JACNET_ORACLE=os.path.join(tree, "tests", "oracle"), CK_TIMEOUT_MULTIPLIER="5")
    env.pop("JN_TEST_VERBOSE", None)
    t0 = time.monotonic()
    try:
        r = subprocess.run([path], cwd=tree, env=env, capture_output=True, text=True, timeout=limit)
        out = (r.stdout + r.stderr).strip().splitlines()
        return r.returncode == 0, time.monotonic() - t0, " | ".join(out[-2:])
    except subprocess.TimeoutExpired:
        return False, time.monotonic() - t0, f"timed out after {limit:.0f} s"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="comma-separated mutant ids")
    ap.add_argument("--list", action="store_true", help="check the list against the sources, do not run")
    ap.add_argument("--keep", action="store_true", help="keep the scratch tree")
    ap.add_argument("--out", help="also write the kill table to this file")
    args = ap.parse_args()

    mutants = read_list(LIST)
    if args.only:
        wanted = set(args.only.split(","))
        unknown = wanted - {m["id"] for m in mutants}
        if unknown:
            sys.exit(f"unknown mutant ids: {', '.join(sorted(unknown))}")
        mutants = [m for m in mutants if m["id"] in wanted]
    stale = check_list(mutants, ROOT)
    if stale:
        print("stale entries in tests/mutants.txt:\n  " + "\n  ".join(stale))
        return 2
    if args.list:
        files = sorted({m["file"] for m in mutants})
        print(f"{len(mutants)} mutants in {len(files)} files, all found exactly once: {', '.join(files)}")
        return 0

    t_start = time.monotonic()
    tree = tempfile.mkdtemp(prefix="jacnet-mutants-")
    try:
        copy_tree(tree)
        ok, log = build(tree)
        if not ok:
            print(log)
            print("the unmutated tree does not build")
            return 2
        programs = test_programs(tree)
        base = {}
        for p in programs:
            passed, secs, tail = run_test(p, tree, 600)
            if not passed:
                print(f"the unmutated suite fails: {os.path.basename(p)}: {tail}")
                return 2
            base[p] = secs
        programs.sort(key=lambda p: base[p])
        print(f"baseline: {len(programs)} test programs pass in {sum(base.values()):.1f} s; "
              f"{len(mutants)} mutants", flush=True)

        rows = []
        for i, m in enumerate(mutants, 1):
            path = os.path.join(tree, m["file"])
            with open(path, encoding="utf-8") as f:
                original = f.read()
            # A header is rebuilt through make's dependencies (every object
            # depends on every header under src/), a source file by removing its object.
            obj = os.path.join(tree, "build", "obj", os.path.basename(m["file"])[:-2] + ".o")
            t0 = time.monotonic()
            try:
                if os.path.exists(obj):
                    os.remove(obj)  # rebuilt whatever the timestamps say
                with open(path, "w", encoding="utf-8") as f:
                    f.write(apply(original, m))
                # The library now; each test program just before it runs, so
                # a mutant killed early costs few links.
                ok, log = build(tree, "mutants-lib")
                status, by = "survived", ""
                for p in programs:
                    if ok:
                        ok, log = build(tree, os.path.relpath(p, tree))
                    if not ok:
                        status, by = "NO BUILD", log.strip().splitlines()[-1] if log.strip() else ""
                        break
                    passed, _, tail = run_test(p, tree, 10 * base[p] + 30)
                    if not passed:
                        status, by = "killed", os.path.basename(p)
                        break
            finally:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(original)
                if os.path.exists(obj):
                    os.remove(obj)  # rebuilt from the restored source next time
            if status == "survived" and m.get("equivalent"):
                status = "equivalent"
            rows.append((m, status, by, time.monotonic() - t0))
            print(f"[{i}/{len(mutants)}] {m['id']}: {status} {by} ({rows[-1][3]:.0f} s)", flush=True)

        elapsed = time.monotonic() - t_start
        lines = ["", f"{'mutant':34} {'file':20} {'result':10} killed by", "-" * 90]
        for m, status, by, _ in rows:
            lines.append(f"{m['id']:34} {m['file'][4:] if m['file'].startswith('src/') else m['file']:20} "
                         f"{status:10} {by if status != 'equivalent' else 'why: see tests/mutants.txt'}")
        killed = sum(1 for r in rows if r[1] == "killed")
        equivalent = sum(1 for r in rows if r[1] == "equivalent")
        bad = [r[0]["id"] for r in rows if r[1] in ("survived", "NO BUILD")]
        lines.append("-" * 90)
        lines.append(f"{killed} of {len(rows)} killed, {equivalent} equivalent (explained), "
                     f"{len(bad)} survived or broken{': ' + ', '.join(bad) if bad else ''}; "
                     f"{elapsed / 60:.1f} min")
        print("\n".join(lines))
        if args.out:
            with open(args.out, "w", encoding="utf-8") as f:
                f.write("\n".join(lines[1:]) + "\n")
        return 1 if bad else 0
    finally:
        if args.keep:
            print(f"scratch tree kept in {tree}")
        else:
            shutil.rmtree(tree, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
