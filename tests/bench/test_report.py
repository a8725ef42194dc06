#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Self-test of report.py's determinism verdict (make check): the runs of
one job under icount must agree to fio's resolution, and runs that did
different work, or that real time moved by percents, must not."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402


def run(runtime_ms, clat_ns, ios=2048):
    return {"iops": ios * 1000.0 / runtime_ms, "bw_kib": 0, "clat_us": clat_ns / 1000,
            "ios": ios, "runtime_ms": runtime_ms, "clat_ns": clat_ns}


def verdict(*runs):
    fio = {("cow64k", f"same-randwrite-4k-qd16.{i + 1}"): r for i, r in enumerate(runs)}
    rows = report.determinism(fio)
    assert len(rows) == 1, rows
    return rows[0]["identical"]


CASES = [
    ("the same run twice", True, [run(23, 168930.9), run(23, 168930.9)]),
    # A make check run on another host: 24 and 23 ms, 0.046 % apart.
    ("one millisecond apart, 0.05 % in latency", True, [run(24, 169003.8), run(23, 168925.4)]),
    ("two milliseconds apart", False, [run(25, 168930.9), run(23, 168930.9)]),
    ("1 % apart in latency", False, [run(23, 170620.2), run(23, 168930.9)]),
    ("different I/O counts", False, [run(23, 168930.9), run(23, 168930.9, ios=2047)]),
    ("one run only", False, [run(23, 168930.9)]),
]

failed = 0
for name, want, runs in CASES:
    got = verdict(*runs)
    ok = got == want
    failed += not ok
    print(f"{'PASS' if ok else 'FAIL'} determinism verdict: {name} "
          f"(agree={got}, expected {want})")
print(f"bench report self-test: {len(CASES) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
