#!/usr/bin/env python3
"""Best examples/s per benchmark and thread count of bench/split_cost.sh's
output, old split against new, and the ratio per round (the rounds
alternate, so a ratio compares two runs seconds apart).
  bench/split_cost_summary.py OUTPUT..."""
import collections
import re
import sys

for path in sys.argv[1:]:
    rates, which = collections.defaultdict(list), None
    for line in open(path):
        m = re.match(r"## round \d+: (\w+)", line)
        if m:
            which = m.group(1)
            continue
        f = line.split()
        if len(f) > 3 and f[0] in ("B1", "B2", "B4") and f[1] in ("1", "2") and f[2].isdigit():
            rates[(f[0], f[1], which)].append(float(f[2]))
    print(path)
    for b in ("B1", "B2", "B4"):
        for t in "12":
            old, new = rates[(b, t, "old")], rates[(b, t, "new")]
            print("  %s %s thread(s): old %6.0f  new %6.0f ex/s (best of %d)  new/old %.2f  per round %s" % (
                b, t, max(old), max(new), len(old), max(new) / max(old),
                " ".join("%.2f" % (n / o) for n, o in zip(new, old))))
