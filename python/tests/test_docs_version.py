"""The docs name the package's files with the one version there is, the one
in jacnet.h (setup.py and make wheel read it from there): a wheel or sdist
name written with another version (docs/PYTHON.md said jacnet-0.1.0-*.whl
while make wheel built jacnet-0.2.0-...) fails here."""
import glob
import os
import re

from conftest import REPO

from jacnet import _header

DOCS = [os.path.join(REPO, "README.md"), os.path.join(REPO, "python", "README.md")] + \
    sorted(glob.glob(os.path.join(REPO, "docs", "*.md")))


def test_file_names_in_docs_carry_the_header_version():
    version = "%d.%d.%d" % _header.version_from_header(os.path.join(REPO, "include", "jacnet.h"))
    wrong = []
    for path in DOCS:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                for v in re.findall(r"\bjacnet-(\d+\.\d+\.\d+)", line):
                    if v != version:
                        wrong.append("%s:%d: jacnet-%s" % (os.path.relpath(path, REPO), n, v))
    assert not wrong, "jacnet.h says %s:\n%s" % (version, "\n".join(wrong))


def test_python_md_says_where_the_wheel_version_comes_from():
    with open(os.path.join(REPO, "docs", "PYTHON.md"), encoding="utf-8") as f:
        text = f.read()
    assert "dist/jacnet-*.whl" in text and "JN_VERSION_" in text
