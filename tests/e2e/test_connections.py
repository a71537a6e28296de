"""A run lets go of its connections when it ends, not when the garbage collector runs (ADR 37).

A botocore client is a web of reference cycles: dropped, it keeps its sockets open until a
full collection finds it, and the emulator's side of each keep-alive connection with them.
With the collector off, every `plan` used to leave about 30 descriptors behind (the suite's
pty tests then failed in select() on descriptors above 1023).
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from smus_mesh.cli import app
from smus_mesh.engine.workspace import Workspace
from tests.e2e.conftest import example_document
from tests.support import Cloud

FD_DIR = "/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd"

#: Descriptors a run may leave open for a while: a connection the emulator's thread has not
#: yet seen closed, a file of a lazily imported module.
SLACK = 6


def open_descriptors() -> int:
    return len(os.listdir(FD_DIR))


def settled(bound: int) -> int:
    """The process's open descriptors, once at most `bound` (the emulator's thread closes
    its side of a connection when it sees the client's close), or after 5 s."""
    deadline = time.monotonic() + 5
    while (count := open_descriptors()) > bound and time.monotonic() < deadline:
        time.sleep(0.05)
    return count


@pytest.fixture
def no_garbage_collection() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def test_commands_close_their_connections(
    cloud: Cloud,
    write_config: Callable[[dict[str, Any]], Path],
    fast_polling: None,
    no_garbage_collection: None,
) -> None:
    config = write_config(example_document())

    def plan() -> None:
        result = CliRunner().invoke(app, ["-c", str(config), "--output", "json", "plan"])
        assert result.exit_code == 0, result.output

    plan()  # the first run opens what stays open for the process (lazy imports, pools)
    before = settled(open_descriptors())
    for _ in range(3):
        plan()
    assert settled(before + SLACK) <= before + SLACK


def test_a_closed_workspace_holds_no_connection(
    cloud: Cloud,
    make_workspace: Callable[..., Workspace],
    no_garbage_collection: None,
) -> None:
    with make_workspace() as workspace:
        workspace.plan()
    before = settled(open_descriptors())
    for _ in range(3):
        with make_workspace() as workspace:
            workspace.plan()
    assert settled(before + SLACK) <= before + SLACK
