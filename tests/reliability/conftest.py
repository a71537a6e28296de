"""Fixtures of the reliability suite: the e2e fixtures, a CLI runner, and the calls log.

The suite's short sample runs in `make test`; the full matrix (every crash point, every
fault seed, thousands of fuzzed configs) is marked `full` and runs in `make test-full`.
"""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner, Result

from smus_mesh.cli import app
from tests.e2e.conftest import fast_polling, make_workspace, write_config

__all__ = ["fast_polling", "make_workspace", "run_cli", "write_config"]

ENV = {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}


def run_cli(*args: str | Path) -> Result:
    """`smus-mesh <args>` in-process (Typer's CliRunner), stdout and stderr apart."""
    return CliRunner().invoke(app, [str(a) for a in args], env=ENV)
