"""Fixtures of the reliability suite: the e2e fixtures, a CLI runner, and the calls log.

The suite's short sample runs in `make test`; the full matrix (every crash point, every
fault seed, thousands of fuzzed configs) is marked `full` and runs in `make test-full`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

from smus_mesh.cli import app
from tests.e2e.conftest import fast_polling, make_workspace, write_config

__all__ = ["fast_polling", "make_workspace", "run_cli", "write_config"]

ENV = {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@cache
def _command() -> Any:
    # Typer's CliRunner rebuilds the click command from the annotations on every call
    # (~0.2 s); the fuzzer runs thousands, so it is built once.
    return typer.main.get_command(app)


def run_cli(*args: str | Path) -> Result:
    """`smus-mesh <args>` in-process, stdout and stderr apart, as CliRunner runs it."""
    runner = CliRunner()
    code: Any = 0
    with runner.isolation(env=ENV) as (stdout, stderr, *_):
        try:
            _command().main(args=[str(a) for a in args], prog_name="smus-mesh")
        except SystemExit as exit_:
            code = exit_.code or 0
        out, err = stdout.getvalue().decode(), stderr.getvalue().decode()
    return Result(code if isinstance(code, int) else 1, out, err)
