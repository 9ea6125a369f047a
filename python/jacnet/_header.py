"""The version written in jacnet.h (JN_VERSION_MAJOR/MINOR/PATCH).

Imports nothing from the package, so setup.py can load this file on its
own to stamp the package with the header's version."""
import re
from typing import Tuple

_FIELD = re.compile(r"^#define JN_VERSION_(MAJOR|MINOR|PATCH) (\d+)\s*$", re.M)


def version_from_header(path: str) -> Tuple[int, int, int]:
    """(major, minor, patch) from the header at path; ValueError if it lacks one."""
    with open(path, encoding="utf-8") as f:
        fields = dict(_FIELD.findall(f.read()))
    try:
        return int(fields["MAJOR"]), int(fields["MINOR"]), int(fields["PATCH"])
    except KeyError as e:
        raise ValueError("%s: no JN_VERSION_%s line" % (path, e.args[0])) from None
