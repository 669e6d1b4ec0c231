#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
"""Sum meson testlog.json files into one 'N passed, N failed' line."""
import json
import sys

counts = {"passed": 0, "failed": 0, "skipped": 0}
for path in sys.argv[1:]:
    with open(path) as f:
        for line in f:
            result = json.loads(line)["result"]
            if result in ("OK", "EXPECTEDFAIL"):
                counts["passed"] += 1
            elif result == "SKIP":
                counts["skipped"] += 1
            else:
                counts["failed"] += 1
print("odfork: %(passed)d passed, %(failed)d failed, %(skipped)d skipped"
      % counts)
sys.exit(1 if counts["failed"] or not counts["passed"] else 0)
