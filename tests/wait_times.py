"""Opt-in pytest plugin: the timed waits of every test, by call site, to tell timers from work.

    SMUS_MESH_TEST_WAITS=/tmp/waits .venv/bin/pytest -p tests.wait_times -q tests/e2e/test_down.py
    .venv/bin/python -m tests.wait_times /tmp/waits [minimum seconds]

Wraps `time.sleep`, `threading.Condition.wait` (so `Event.wait`, queues, futures),
`subprocess.Popen.wait`/`communicate`, selectors and `os.fsync`, and counts the emulator's
transitions whose first stage ended by the first-read grace (nobody read them). Each wait of
more than 5 ms is summed under `kind|thread|first frame outside the stdlib|first frame of
ours`. A wait is a timer when its site is a sleep (`time.sleep`, `waiting.Stop.sleep`,
botocore's `_needs_retry`, the emulator's call latency); a main thread waiting on futures
or a subprocess waits for work (CPU, counted by `tests.cpu_times`). The report leaves out
the emulator's idle server threads (`CP Server Thread`, the listener, the clock).
Each process writes `<prefix>.<worker>.json`; the overhead is ~10 µs a wait.
"""

from __future__ import annotations

import glob
import json
import os
import selectors
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from smus_mesh_emulator import progress

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_STDLIB = os.path.dirname(os.__file__)
_IDLE_THREADS = ("CP Server Thread", "smus-mesh-emulator", "emulator-clock", "Thread-")
_local = threading.local()
_current: defaultdict[str, list[float]] = defaultdict(lambda: [0, 0.0])
_rows: dict[str, dict[str, Any]] = {}


def _where(frame: Any) -> tuple[str, str]:
    outside = ours = ""
    while frame is not None and not (outside and ours):
        name = frame.f_code.co_filename
        site = f"{name.split('site-packages/')[-1].replace(_ROOT, '')}:{frame.f_lineno}"
        if not outside and not name.startswith(_STDLIB) and name != __file__:
            outside = f"{site}:{frame.f_code.co_name}"
        if not ours and name.startswith(_ROOT) and name != __file__:
            ours = f"{site}:{frame.f_code.co_name}"
        frame = frame.f_back
    return outside, ours


def _timed(kind: str, wait: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        if getattr(_local, "inside", False):  # e.g. communicate -> wait: counted once
            return wait(*args, **kwargs)
        _local.inside = True
        began = time.monotonic()
        try:
            return wait(*args, **kwargs)
        finally:
            _local.inside = False
            seconds = time.monotonic() - began
            if seconds > 0.005:
                thread = threading.current_thread()
                name = "main" if thread is threading.main_thread() else thread.name
                outside, ours = _where(sys._getframe(1))
                entry = _current[f"{kind}|{name.rstrip('0123456789-_ ')}|{outside}|{ours}"]
                entry[0] += 1
                entry[1] += seconds

    return timed


def _count_grace(pop_due: Callable[..., Any]) -> Callable[..., Any]:
    def counted(self: progress.Scheduler, now: float) -> progress.Transition | None:
        transition = pop_due(self, now)
        if transition is not None and transition.index == 0 and not transition.was_read:
            entry = _current[f"grace|emulator-clock|{transition.label}|"]
            entry[0] += 1
            entry[1] += now - transition.started_at
        return transition  # type: ignore[no-any-return]

    return counted


def pytest_configure(config: pytest.Config) -> None:
    time.sleep = _timed("sleep", time.sleep)  # type: ignore[assignment]
    threading.Condition.wait = _timed("wait", threading.Condition.wait)  # type: ignore[method-assign]
    subprocess.Popen.wait = _timed("popen", subprocess.Popen.wait)  # type: ignore[method-assign]
    subprocess.Popen.communicate = _timed("popen", subprocess.Popen.communicate)  # type: ignore[method-assign]
    os.fsync = _timed("fsync", os.fsync)
    for name in ("SelectSelector", "PollSelector", "EpollSelector"):
        if (selector := getattr(selectors, name, None)) is not None:
            selector.select = _timed("select", selector.select)
    progress.Scheduler._pop_due = _count_grace(progress.Scheduler._pop_due)  # type: ignore[method-assign]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    _current.clear()
    began = time.monotonic()
    yield
    waits = {key: list(entry) for key, entry in _current.items()}
    _rows[item.nodeid] = {"wall": time.monotonic() - began, "waits": waits}


def pytest_sessionfinish(session: pytest.Session) -> None:
    prefix = os.environ.get("SMUS_MESH_TEST_WAITS")
    if prefix and _rows:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        with open(f"{prefix}.{worker}.json", "w", encoding="utf-8") as out:
            json.dump(_rows, out)


def report(prefix: str, minimum: float = 0.1) -> str:
    rows: dict[str, Any] = {}
    for path in sorted(glob.glob(f"{prefix}.*.json")):
        with open(path, encoding="utf-8") as file:
            rows.update(json.load(file))
    lines = []
    for nodeid, row in sorted(rows.items(), key=lambda item: -item[1]["wall"]):
        waits = [
            (key, count, seconds)
            for key, (count, seconds) in row["waits"].items()
            if seconds >= minimum and not key.split("|")[1].startswith(_IDLE_THREADS)
        ]
        if waits:
            lines.append(f"{row['wall']:6.1f} s  {nodeid}")
            waits.sort(key=lambda wait: -wait[2])
            lines += [f"    {s:6.2f} s {n:4.0f}x  {key}" for key, n, s in waits]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 0.1))
