"""Text output for people and pipes, options anywhere, and the emulator's first minute.

In-process through Typer's `CliRunner` (stdout is not a terminal there, as in a pipe),
against the emulator where AWS is needed; `emulator serve` and one pipe in processes of
their own.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner, Result

from smus_mesh import __version__
from smus_mesh.cli import app
from smus_mesh.config import json_schema, load_config
from smus_mesh.emulated import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY
from smus_mesh.engine.workspace import default_state_path
from tests.e2e.conftest import Deployed, example_document
from tests.support import Cloud

#: A narrow terminal's width: what Rich would fold tables to if it went by COLUMNS.
NARROW = {"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"}


def run(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], env=env or NARROW)


def words(text: str) -> str:
    return " ".join(text.replace("│", " ").split())


# --- options before or after the subcommand -------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("-o", "json", "schema"),
        ("schema", "-o", "json"),
        ("schema", "--output", "json"),
        ("schema", "--output=json"),
        ("schema", "-ojson"),
    ],
)
def test_output_goes_before_or_after_the_subcommand(args: tuple[str, ...]) -> None:
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"version": 1, "kind": "schema", "schema": json_schema()}


def test_config_output_verbose_and_debug_after_the_subcommand(tmp_path: Path) -> None:
    """The config named after the subcommand is the one read (its error names it), and the
    output is JSON; `-v` and `--debug` parse there too (--debug lets the error through)."""
    absent = tmp_path / "absent.yaml"
    result = run("plan", "-c", absent, "-o", "json", "-vv")
    assert result.exit_code == 2
    assert json.loads(result.stdout) == {
        "version": 1,
        "kind": "error",
        "error": "ConfigError",
        "message": f"{absent}: 1 problem(s) in the configuration:\n  (file): file not found",
        "exit_code": 2,
        "errors": [{"path": "(file)", "message": "file not found"}],
    }
    debug = run("plan", f"--config={absent}", "--debug")
    assert debug.exit_code == 1
    assert type(debug.exception).__name__ == "ConfigError"


def test_an_option_after_the_subcommand_overrides_the_one_before(tmp_path: Path) -> None:
    result = run("-o", "json", "-c", tmp_path / "first.yaml", "plan", "-c", tmp_path / "b.yaml")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["message"].startswith(f"{tmp_path / 'b.yaml'}: ")


def test_a_subcommands_own_option_keeps_its_value(tmp_path: Path) -> None:
    """`--account -v`: "-v" is the account asked for, not the verbose flag."""
    path = tmp_path / "ok.yaml"
    path.write_text(json.dumps(example_document()))
    result = run("permissions", "-c", path, "--account", "-v")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: no account '-v' in the config; accounts are ['producer', 'consumer']\n"
    )


def test_a_bad_output_after_the_subcommand_is_a_usage_error() -> None:
    result = run("schema", "-o", "yaml")
    assert result.exit_code == 2
    assert (
        "Invalid value for '--output' / '-o': Value error, 'yaml' is not one of 'text', 'json'."
    ) in words(result.output)
    missing = run("schema", "-o")
    assert missing.exit_code == 2
    assert "Invalid value for '-o': a value is missing" in words(missing.output)
    assert "Traceback" not in missing.output


# --- --version and help ------------------------------------------------------------------------


def test_version_option_and_command() -> None:
    option = run("--version")
    assert option.exit_code == 0
    assert option.stdout == f"smus-mesh {__version__}\n"
    command = run("version")
    assert command.exit_code == 0
    assert command.stdout == f"{__version__}\n"


def test_help_shows_flags_bare_and_values_with_their_type() -> None:
    top = run("--help", env={**NARROW, "COLUMNS": "200"})
    assert top.exit_code == 0
    lines = {line.split()[1]: line for line in top.stdout.splitlines() if "│ --" in line}
    for flag in ("--verbose", "--debug", "--version", "--help"):
        assert "<" not in lines[flag], lines[flag]
    assert "<path>" in lines["--config"]
    assert "<text|json>" in lines["--output"]
    sub = run("down", "--help", env={**NARROW, "COLUMNS": "200"})
    assert sub.exit_code == 0
    assert "<bool>" not in sub.stdout
    assert "--yes" in sub.stdout


# --- against the emulator: up, status, down ----------------------------------------------------


@pytest.fixture
def config_file(
    cloud: Cloud, fast_polling: None, write_config: Callable[[dict[str, Any]], Path]
) -> Path:
    return write_config(example_document())


def test_up_status_down_for_people_and_pipes(cloud: Cloud, config_file: Path) -> None:
    up = run("-c", config_file, "up")
    assert up.exit_code == 0, up.output
    # The request was PENDING when made, then accepted by the producer's policy (auto) in
    # the same run: the summary tells the outcome, not the intermediate state.
    assert "request PENDING" not in up.stdout
    # (the report's lines, after the plan `up` prints first)
    report = up.stdout.split("up finished in", 1)[1]
    request_lines = [ln for ln in report.splitlines() if "subscription-request" in ln]
    assert request_lines, up.stdout
    assert all(
        ln.endswith(": request ACCEPTED by the producer's policy") for ln in request_lines
    ), request_lines
    assert "wait for the producer" not in up.stderr

    # status on an 80-column "terminal" that is not one: whole keys, one row per line
    status = run("-c", config_file, "status")
    assert status.exit_code == 0, status.output
    owned = {
        r["key"]: r["owned"]
        for r in json.loads(run("-c", config_file, "status", "-o", "json").stdout)["resources"]
    }
    cells = [ln.split("│") for ln in status.stdout.splitlines() if ln.startswith("│")]
    rows = {c[1].strip(): c for c in cells}
    assert max(len(ln) for ln in status.stdout.splitlines()) > 80
    for key, ours in owned.items():
        assert key in rows, (key, status.stdout)
        assert rows[key][5].strip() == ("yes" if ours else "no"), rows[key]
    assert {r[5].strip() for r in rows.values()} == {"yes", "no"}  # the default VPC: not ours
    assert "True" not in status.stdout
    assert "None" not in status.stdout

    down = run("-c", config_file, "down", "--yes")
    assert down.exit_code == 0, down.output
    assert sorted(p.name for p in config_file.parent.iterdir()) == [config_file.name]


def test_down_keeps_a_state_directory_that_holds_something_else(
    config_file: Path, deploy_example: Callable[[Path], Deployed]
) -> None:
    """Neighbour: the default directory is removed only when down leaves it empty."""
    deploy_example(default_state_path(load_config(config_file), config_file))
    other = config_file.parent / ".smus-mesh" / "other.state.json"
    other.write_text("{}")
    down = run("-c", config_file, "down", "--yes")
    assert down.exit_code == 0, down.output
    assert sorted(p.name for p in other.parent.iterdir()) == ["other.state.json"]


def test_manual_approval_still_reports_the_pending_request(
    cloud: Cloud, fast_polling: None, write_config: Callable[[dict[str, Any]], Path]
) -> None:
    """Neighbour: with no policy to decide, PENDING is the truth and is said so."""
    document = example_document()
    for project in document["projects"]:
        if "approval" in project:
            project["approval"] = {"mode": "manual"}
    path = write_config(document)
    up = run("-c", path, "up")
    assert up.exit_code == 0, up.output
    assert re.search(r"subscription-request/\S+: request PENDING$", up.stdout, re.M), up.stdout
    assert "wait for the producer" in up.stderr


def test_status_through_a_real_pipe_shows_whole_keys(
    config_file: Path, deploy_example: Callable[[Path], Deployed]
) -> None:
    deploy_example(default_state_path(load_config(config_file), config_file))
    piped = subprocess.run(
        [sys.executable, "-m", "smus_mesh", "-c", str(config_file), "status"],
        capture_output=True,
        text=True,
        env={**os.environ, **NARROW},
        timeout=120,
    )
    assert piped.returncode == 0, piped.stderr
    grants = [ln for ln in piped.stdout.splitlines() if "datazone:subscription-grant/" in ln]
    assert grants
    assert all(re.search(r"datazone:subscription-grant/\S+/\S+ ", ln) for ln in grants), grants


# --- the emulator's first minute ------------------------------------------------------------


def test_no_credentials_against_the_emulator_says_what_to_export(
    cloud: Cloud, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = run("-c", config_file, "plan")
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        "error: accounts.producer: no credentials to assume "
        "arn:aws:iam::111111111111:role/OrganizationAccountAccessRole with: the default "
        f"credential chain found none ({cloud.url} is the smus-mesh emulator, which takes "
        f"any keys: export AWS_ACCESS_KEY_ID={TEST_ACCESS_KEY_ID} "
        f"AWS_SECRET_ACCESS_KEY={TEST_SECRET_ACCESS_KEY} AWS_DEFAULT_REGION=us-east-1)\n"
    )
    assert [c for c in cloud.calls() if c["operation"] != "unknown"] == []


def test_no_credentials_against_an_endpoint_that_is_not_the_emulator(
    cloud: Cloud, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Neighbour: an endpoint without the emulator's admin API gets the plain advice."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard: nothing listens
    result = run("-c", config_file, "plan")
    assert result.exit_code == 2, result.output
    assert result.stderr.endswith(
        "the default credential chain found none (set AWS credentials, a profile or "
        "source_profile)\n"
    )


REQUEST_LINE = re.compile(r"\d\d:\d\d:\d\d (\d{12}) (\S+) (\S+) (\d{3})( \S+)? (\d+)ms")


def test_emulator_serve_prints_the_exports_and_logs_each_request() -> None:
    """In a process of its own (this one already serves the tests' emulator); stopped by
    its own pid once it has answered."""
    server = subprocess.Popen(
        [sys.executable, "-m", "smus_mesh", "emulator", "serve", "--port", "0", "--log-requests"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stderr is not None
        endpoint = server.stdout.readline()
        keys = server.stdout.readline()
        assert endpoint.startswith("export AWS_ENDPOINT_URL=http://127.0.0.1:"), endpoint
        assert keys == (
            f"export AWS_ACCESS_KEY_ID={TEST_ACCESS_KEY_ID} AWS_SECRET_ACCESS_KEY="
            f"{TEST_SECRET_ACCESS_KEY} AWS_DEFAULT_REGION=us-east-1  # test keys: the "
            "emulator takes any\n"
        )
        assert server.stdout.readline().startswith("# organization: management account")
        url = endpoint.strip().split("=", 1)[1]
        # A plain boto3 client with exactly the printed exports
        session = boto3.Session(
            aws_access_key_id=TEST_ACCESS_KEY_ID,
            aws_secret_access_key=TEST_SECRET_ACCESS_KEY,
            region_name="us-east-1",
        )
        identity = session.client("sts", endpoint_url=url).get_caller_identity()
        assert identity["Account"] == "123456789012"
        with pytest.raises(ClientError) as refused:
            session.client("datazone", endpoint_url=url).get_domain(identifier="dzd_absent0")
        assert refused.value.response["Error"]["Code"] == "ResourceNotFoundException"
        first, second = server.stderr.readline(), server.stderr.readline()
    finally:
        server.terminate()
        server.wait(timeout=60)
    ok = REQUEST_LINE.fullmatch(first.strip())
    assert ok is not None, first
    assert ok.group(1, 2, 3, 4, 5) == ("123456789012", "sts", "GetCallerIdentity", "200", None)
    failed = REQUEST_LINE.fullmatch(second.strip())
    assert failed is not None, second
    assert failed.group(1, 2, 3, 4, 5) == (
        "123456789012",
        "datazone",
        "GetDomain",
        "404",
        " ResourceNotFoundException",
    )
    for line in (first, second):
        assert TEST_ACCESS_KEY_ID not in line
        assert TEST_SECRET_ACCESS_KEY not in line
