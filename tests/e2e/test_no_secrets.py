"""No secret key or session token leaves memory (issue 13, item 5): not the operator's,
not the sessions it assumes, not the project role's from GetEnvironmentCredentials.

A whole up/query/down/audit through the CLI at the highest verbosity (`-vv --debug`, text
and JSON), then every byte it left behind is searched: stdout, stderr, the tool's and the
emulator's log records (DEBUG), the state file, its journal and anything else in the
state directory, and the emulator's calls log. The secrets searched for are the ones the
emulator issued (every assumed-role session of every account, read from its STS backend)
and the operator's own.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from smus_mesh.cli import app
from tests.e2e.conftest import example_document
from tests.support import Cloud

ENV = {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
OPERATOR_SECRET = "emulator-secret"  # tests/conftest.py's AWS_SECRET_ACCESS_KEY


def _issued_secrets(cloud: Cloud) -> set[str]:
    from moto.sts.models import sts_backends

    found = {OPERATOR_SECRET}
    for account in cloud.accounts():
        for backend in sts_backends[account].values():
            for session in backend.assumed_roles:
                found |= {session.secret_access_key, session.session_token}
    return found


def test_no_secret_or_token_in_output_logs_state_or_calls_log(
    enforced_iam: Cloud,
    fast_polling: None,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cloud = enforced_iam
    config = tmp_path / "smus-mesh.yaml"
    config.write_text(yaml.safe_dump(example_document(), sort_keys=False))
    runner = CliRunner()
    outputs: list[str] = []
    files: dict[str, str] = {}  # every file after each command (down removes the state)
    caplog.set_level(logging.DEBUG, logger="smus_mesh")
    caplog.set_level(logging.DEBUG, logger="smus_mesh_emulator")
    for command in (
        ["-vv", "--debug", "up", "--auto-approve"],
        ["-vv", "--debug", "--output", "json", "query"],
        ["-vv", "--debug", "query"],
        ["-vv", "--debug", "--output", "json", "down", "--yes"],
        ["-vv", "--debug", "audit"],
    ):
        result = runner.invoke(app, ["-c", str(config), *command], env=ENV)
        assert result.exit_code == 0, (command, result.output)
        outputs += [result.stdout, result.stderr]
        for path in sorted(tmp_path.rglob("*")):
            if path.is_file():
                name = f"{path.relative_to(tmp_path)} after {command[-1]}"
                files[name] = path.read_text(errors="replace")
    # The project role's credentials were issued (query reads as the project role).
    secrets = _issued_secrets(cloud)
    assert len(secrets) >= 5, "the run assumed roles and got project credentials"

    left_behind = {
        "output": "\n".join(outputs),
        "logs": "\n".join(
            f"{r.name} {r.getMessage()}"
            for r in caplog.records
            if r.name.startswith(("smus_mesh", "smus_mesh_emulator"))
        ),
        "calls log": json.dumps(cloud.admin("GET", "calls")),
    }
    left_behind.update(files)
    # (the journal is compacted into the state file when a run ends: its lines are the
    # same records)
    assert any(".state.json" in name for name in files), sorted(files)
    for where, text in left_behind.items():
        leaked = sorted(s[:8] + "..." for s in secrets if s in text)
        assert not leaked, f"{where} holds secrets: {leaked}"
