"""A crash right after every mutating call of `up` and of `down`, each followed by a rerun.

How (a real `python -m smus_mesh` subprocess, as in `tests/e2e/helpers.py`, SIGKILLed
by the emulator's thread in this test process the moment the call has been done,
before its answer is sent):

1. A clean run on a fresh cloud is counted: its N mutating calls.
2. Then the *crash chain*: run the command, kill it right after its first mutating
   call; run it again (the rerun after that crash), kill it right after *its* first
   mutating call; and so on until a run finishes on its own. Every mutating call of
   the whole sequence is followed by a crash and a rerun, and the chain asserts that
   together the runs made exactly the N calls of a clean run: no rerun repeated a call
   that had been answered, and nothing was left undone.

The steps run in parallel as usual, so a call another step had already sent when the
kill came is still done by AWS (the emulator serves it after the kill, as AWS would):
such calls share their crash with the one that triggered it. Doing it as a chain rather
than N independent runs from scratch costs one process start per crash point instead
of a whole `up` (and, for `down`, a whole `up` and `down`) per point: the full matrix of
both commands runs in minutes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smus_mesh_emulator.runtime import RUNTIME
from tests.e2e.helpers import RUN_DEADLINE, calls_since, cli_command, last_seq
from tests.support import Cloud


@dataclass
class Link:
    """One run of the chain: killed right after a mutating call, or finished."""

    killed: bool
    exit_code: int | None
    #: the mutating calls the run made (the last one is the one it was killed after)
    mutating: list[str] = field(default_factory=list)
    stderr: str = ""


def mutating(calls: list[dict[str, Any]]) -> list[str]:
    return [
        f"{c['service']}:{c['operation']} ({c['account']})"
        for c in calls
        if c["mutating"] and c["status"] < 400
    ]


class _KillAfterFirstMutation:
    """Wraps the emulator's calls log (this test process serves the emulator): the moment
    a mutating call is answered, before its response is sent, the watched process is
    SIGKILLed. AWS has done the call; the tool never hears of it. No polling, so nothing
    else can happen between the call and the kill."""

    def __init__(self, record: Callable[..., None]) -> None:
        self._record = record
        self._lock = threading.Lock()
        self.process: subprocess.Popen[bytes] | None = None
        self.killed = False

    def __call__(self, **fields: Any) -> None:
        self._record(**fields)
        if not fields["mutating"] or fields["status"] >= 400:
            return
        with self._lock:
            if self.process is not None and not self.killed:
                self.process.send_signal(signal.SIGKILL)
                self.killed = True


def run_once_killed_after_first_mutation(
    cloud: Cloud, config: Path, state: Path, command: tuple[str, ...], log: Path
) -> Link:
    """Run `smus-mesh <command>` once; SIGKILL it as soon as one mutating call of it has
    been answered. A run that finishes first (nothing left to do) is returned as is."""
    start = last_seq(cloud)
    env = dict(os.environ)
    killer = _KillAfterFirstMutation(RUNTIME.record)
    RUNTIME.record = killer  # type: ignore[method-assign]
    try:
        with open(log, "w", encoding="utf-8") as stderr:
            process = subprocess.Popen(
                cli_command(config, state, *command),
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
            with killer._lock:
                killer.process = process
            try:
                code = process.wait(timeout=RUN_DEADLINE)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait(timeout=30)
    finally:
        RUNTIME.record = killer._record  # type: ignore[method-assign]
    made = mutating(calls_since(cloud, start))
    return Link(killer.killed, None if killer.killed else code, made, log.read_text("utf-8"))


def crash_chain(
    cloud: Cloud, config: Path, state: Path, command: tuple[str, ...], limit: int
) -> list[Link]:
    """Kill `command` right after each mutating call in turn, rerunning it each time, until
    a run finishes by itself (at most `limit` links)."""
    links: list[Link] = []
    for index in range(limit):
        log = state.parent / f"chain-{command[0]}-{index}.log"
        link = run_once_killed_after_first_mutation(cloud, config, state, command, log)
        links.append(link)
        if not link.killed:
            return links
    last = "\n".join(f"  {link.mutating}" for link in links[-12:])
    raise AssertionError(
        f"{command} still had work after {limit} crashes; the last runs' calls:\n{last}"
    )
