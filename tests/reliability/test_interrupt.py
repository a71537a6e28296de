"""Ctrl-C during `up`, `query` and `down` (issue 16, item 4).

A real `python -m smus_mesh` process against the emulator served by this test process,
sent a real SIGINT while it waits for AWS:

* the first Ctrl-C prints "stopping: N steps in flight; Ctrl-C again to abort", starts
  no other step, lets the steps in flight finish (their waits go on) and exits 130;
* the second Ctrl-C ends every wait at once: the process exits 130 within 2 s of it,
  although the tool was told to sleep 30 s between polls;
* either way the state is saved: a rerun of `up` converges with one of everything (no
  duplicate), and `down` leaves the emulator's inventory as it was before the first `up`.

The emulator's realistic latency (scaled) makes the waits real; it is set back to none
for the reruns, which then converge at once. `make test` runs `up` and `query`; the
`down` case runs in `make test-full`.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import example_document
from tests.e2e.helpers import (
    CONVERGED,
    assert_inventory_unchanged,
    calls_since,
    cli_command,
    count_setup,
    last_seq,
)
from tests.reliability.conftest import run_cli
from tests.support import Cloud

STOPPING = re.compile(r"stopping: (\d+) steps in flight; Ctrl-C again to abort")
#: Issue 16.4: exit within 2 s of the second Ctrl-C.
ABORT_BOUND_S = 2.0
#: How long a watched run may take to reach the call the test waits for.
REACH_S = 120.0


@pytest.fixture
def latency(cloud: Cloud) -> Iterator[Callable[[str, float], None]]:
    """Set the emulator's latency profile; back to none afterwards."""

    def set_latency(profile: str, time_scale: float = 1.0) -> None:
        cloud.admin("POST", "latency", {"profile": profile, "time_scale": time_scale})

    yield set_latency
    set_latency("none", 1.0)


class Run:
    """`smus-mesh <args>` as its own process; stderr collected by a reader thread."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: list[str] = []
        self.stdout = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    def wait_for_line(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                found = pattern.search(line)
                if found:
                    return found
            if self.process.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.01)
        raise AssertionError(f"no line matching {pattern.pattern!r}:\n{self.stderr[-4000:]}")

    def wait_for_call(self, cloud: Cloud, since: int, operation: str, count: int = 1) -> int:
        """Until the emulator has answered `operation` `count` times; the log's last seq."""
        deadline = time.monotonic() + REACH_S
        seen, found = since, 0
        while time.monotonic() < deadline:
            for call in calls_since(cloud, seen):
                seen = int(call["seq"])
                if call["operation"] == operation and call["status"] < 400:
                    found += 1
            if found >= count:
                return seen
            assert self.process.poll() is None, (
                f"exited ({self.process.returncode}) before {operation}:\n{self.stderr[-4000:]}"
            )
            time.sleep(0.01)
        raise AssertionError(f"no {operation} in {REACH_S}s:\n{self.stderr[-4000:]}")

    def finish(self, timeout: float) -> int:
        try:
            code = self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        assert self.process.stdout is not None
        self.stdout = self.process.stdout.read()
        self._reader.join(timeout=10)
        return code


def _environment(**settings: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({f"SMUS_MESH_{name.upper()}": value for name, value in settings.items()})
    return env


def _ok(args: tuple[str | Path, ...], what: str) -> None:
    result = run_cli(*args)
    assert result.exit_code == 0, f"{what}:\n{result.output[-4000:]}"


def _converges_then_leaves_nothing(
    cloud: Cloud, config: Path, state: Path, before: dict[str, Any], scenario: str
) -> None:
    """The rerun of `up` after the interruption converges with no duplicate; `down`
    leaves the inventory as it was before the first `up`."""
    _ok(("-c", config, "--state", state, "up"), f"{scenario}: the rerun of up")
    assert count_setup(cloud, example_document()["domain"]["name"]) == CONVERGED
    _ok(("-c", config, "--state", state, "down", "--yes"), f"{scenario}: down")
    assert_inventory_unchanged(before, cloud.inventory(), scenario)


def _mutating(cloud: Cloud, since: int) -> list[str]:
    return [c["operation"] for c in calls_since(cloud, since) if c["mutating"]]


def test_first_ctrl_c_finishes_the_steps_in_flight_starts_none_and_exits_130(
    cloud: Cloud,
    fast_polling: None,
    latency: Callable[[str, float], None],
    write_config: Callable[[dict[str, Any]], Path],
    tmp_path: Path,
) -> None:
    """Ctrl-C while the domain is being created (about 3 s): the domain's step waits on
    until the domain is available and is saved as done; nothing that depends on it (the
    projects) is started; exit 130 with the message. The rerun resumes from there."""
    config, state = write_config(example_document()), tmp_path / "state.json"
    before = cloud.inventory()
    latency("realistic", 0.035)  # domain.create: 90 s x 0.035 = 3.2 s
    since = last_seq(cloud)
    run = Run(cli_command(config, state, "up"), _environment())
    run.wait_for_call(cloud, since, "CreateDomain")
    run.process.send_signal(signal.SIGINT)
    stopping = run.wait_for_line(STOPPING, 10)
    code = run.finish(timeout=60)

    assert code == 130, run.stderr[-4000:]
    assert int(stopping.group(1)) >= 1, run.stderr[-4000:]
    assert "interrupted:" in run.stderr and "run the same command again" in run.stderr
    assert "Traceback" not in run.stderr and "hit a bug" not in run.stderr
    # The domain's wait went on to the end, and the state file says so.
    assert re.search(r"done\s+datazone:domain/domain", run.stderr), run.stderr[-4000:]
    records = json.loads(state.read_text())["resources"]
    assert records["datazone:domain/domain"]["status"] == "COMPLETE"
    assert records["datazone:domain/domain"]["identity"]["id"]
    # Nothing that needs the domain was started after the Ctrl-C.
    assert "CreateProject" not in _mutating(cloud, since)

    latency("none", 1.0)
    _converges_then_leaves_nothing(cloud, config, state, before, "up, one Ctrl-C")


def test_second_ctrl_c_ends_every_wait_at_once_and_exits_130_within_2_s(
    cloud: Cloud,
    fast_polling: None,
    latency: Callable[[str, float], None],
    write_config: Callable[[dict[str, Any]], Path],
    tmp_path: Path,
) -> None:
    """The tool sleeps 30 s between polls here: after the first Ctrl-C the domain's step
    would sleep 30 s before its next read; the second ends that wait at once. Then `query`
    the same way, during Athena's wait.

    The latency is scaled so that what the tool waits for is still in progress at its
    first read (the emulator's first-read grace guarantees that much) and at the second
    Ctrl-C, and no more: every call pays the profile's per-call latency too (0.08 s x
    the scale), and at x10 the query's run alone waited 90 s to reach its first read."""
    config, state = write_config(example_document()), tmp_path / "state.json"
    before = cloud.inventory()
    slow = _environment(poll_initial="30", poll_max="30")
    latency("realistic", 0.1)  # domain.create: 90 s x 0.1 = 9 s
    since = last_seq(cloud)
    run = Run(cli_command(config, state, "up"), slow)
    seq = run.wait_for_call(cloud, since, "CreateDomain")
    run.wait_for_call(cloud, seq, "GetDomain")  # read once: the step now sleeps 30 s
    run.process.send_signal(signal.SIGINT)
    run.wait_for_line(STOPPING, 10)
    pressed = time.monotonic()
    run.process.send_signal(signal.SIGINT)
    code = run.finish(timeout=60)
    seconds = time.monotonic() - pressed

    assert code == 130, run.stderr[-4000:]
    assert seconds <= ABORT_BOUND_S, f"exited {seconds:.2f} s after the second Ctrl-C"
    assert "the state file is saved" in run.stderr, run.stderr[-4000:]
    assert "Traceback" not in run.stderr and "hit a bug" not in run.stderr
    print(f"\n[up] second Ctrl-C to exit: {seconds:.3f} s")
    # What was created is in the state: the domain, with its id, still in progress.
    records = json.loads(state.read_text())["resources"]
    assert records["datazone:domain/domain"]["identity"]["id"]

    latency("none", 1.0)
    _ok(("-c", config, "--state", state, "up"), "the rerun of up")
    assert count_setup(cloud, example_document()["domain"]["name"]) == CONVERGED

    # query: the Athena query is QUEUED 2 s, then RUNNING 2 s; the tool reads it once,
    # then sleeps 30 s.
    latency("realistic", 1.0)
    since = last_seq(cloud)
    run = Run(cli_command(config, state, "query"), slow)
    run.wait_for_call(cloud, since, "GetQueryExecution")
    run.process.send_signal(signal.SIGINT)
    stopping = run.wait_for_line(STOPPING, 10)
    assert stopping.group(1) == "1"  # the check in flight
    pressed = time.monotonic()
    run.process.send_signal(signal.SIGINT)
    code = run.finish(timeout=60)
    seconds = time.monotonic() - pressed
    assert code == 130, run.stderr[-4000:]
    assert seconds <= ABORT_BOUND_S, f"query exited {seconds:.2f} s after the second Ctrl-C"
    print(f"[query] second Ctrl-C to exit: {seconds:.3f} s")

    latency("none", 1.0)
    _converges_then_leaves_nothing(cloud, config, state, before, "up and query, two Ctrl-C")


@pytest.mark.full  # an up and two downs: make test-full (make test keeps its budget)
def test_ctrl_c_during_down_stops_deleting_and_the_rerun_leaves_nothing(
    cloud: Cloud,
    fast_polling: None,
    latency: Callable[[str, float], None],
    write_config: Callable[[dict[str, Any]], Path],
    tmp_path: Path,
) -> None:
    """Ctrl-C while a project is being deleted: that deletion finishes, the domain (which
    waits for it) is not deleted, exit 130; the next `down` deletes the rest."""
    config, state = write_config(example_document()), tmp_path / "state.json"
    before = cloud.inventory()
    _ok(("-c", config, "--state", state, "up"), "up")
    latency("realistic", 0.05)  # project.delete: 45 s x 0.05 = 2.2 s
    since = last_seq(cloud)
    run = Run(cli_command(config, state, "down", "--yes"), _environment())
    run.wait_for_call(cloud, since, "DeleteProject")
    run.process.send_signal(signal.SIGINT)
    run.wait_for_line(STOPPING, 10)
    code = run.finish(timeout=90)

    assert code == 130, run.stderr[-4000:]
    assert "interrupted:" in run.stderr and "Traceback" not in run.stderr
    assert "DeleteDomain" not in _mutating(cloud, since)
    assert state.exists(), "an interrupted down must keep its state file"

    latency("none", 1.0)
    _ok(("-c", config, "--state", state, "down", "--yes"), "the rerun of down")
    assert_inventory_unchanged(before, cloud.inventory(), "down, one Ctrl-C")
