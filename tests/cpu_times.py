"""Opt-in pytest plugin: wall and CPU seconds of every test, to find where the suite's time goes.

    SMUS_MESH_TEST_TIMES=/tmp/times .venv/bin/pytest -p tests.cpu_times -n 2 --maxschedchunk 2 -q
    .venv/bin/python -m tests.cpu_times /tmp/times

Each process (each xdist worker) writes `<prefix>.<worker>.json`; the module run as a script
merges them and prints the totals and the slowest tests. CPU is the process's (the tool's
threads and the in-thread emulator's alike) plus that of the subprocesses a test waited for
(killed runs, `emulator serve`); wall minus CPU is what the test spent waiting.
"""

from __future__ import annotations

import glob
import json
import os
import resource
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

_ROWS: list[tuple[str, float, float, float]] = []


def _cpu() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    wall, (own, children) = time.monotonic(), _cpu()
    yield
    own_after, children_after = _cpu()
    _ROWS.append((item.nodeid, time.monotonic() - wall, own_after - own, children_after - children))


def pytest_sessionfinish(session: pytest.Session) -> None:
    prefix = os.environ.get("SMUS_MESH_TEST_TIMES")
    if not prefix or not _ROWS:
        return
    own, children = _cpu()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(f"{prefix}.{worker}.json", "w", encoding="utf-8") as out:
        json.dump({"rows": _ROWS, "own": own, "children": children}, out)


def report(prefix: str, slowest: int = 15) -> str:
    rows: list[Any] = []
    own = children = 0.0
    for path in sorted(glob.glob(f"{prefix}.*.json")):
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
        rows += data["rows"]
        own += data["own"]
        children += data["children"]
    rows.sort(key=lambda row: -row[1])
    lines = [
        f"{len(rows)} tests; CPU of the test processes {own:.0f} s (of it in tests "
        f"{sum(r[2] for r in rows):.0f} s), of their subprocesses {children:.0f} s; "
        f"wall summed over tests {sum(r[1] for r in rows):.0f} s",
        "   wall     cpu  subproc  test",
    ]
    lines += [f"{w:7.1f} {c:7.1f} {s:8.1f}  {nodeid}" for nodeid, w, c, s in rows[:slowest]]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 15))
