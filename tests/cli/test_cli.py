"""`smus-mesh` as a user runs it: exit codes, messages, and what goes to stdout.

Commands run in-process through Typer's `CliRunner` (fixed terminal width, stdout
and stderr kept apart); those that talk to AWS run against the emulator (`cloud`
sets AWS_ENDPOINT_URL). One subprocess shows what `--debug` prints.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from smus_mesh.cli import app
from smus_mesh.config import json_schema
from tests.e2e.conftest import example_document
from tests.support import Cloud

ENV = {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
ROOT = Path(__file__).resolve().parents[2]


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], env=ENV)


def broken_config(tmp_path: Path) -> Path:
    document = example_document()
    document["accounts"]["consumer"]["account_id"] = "22222222222"  # 11 digits
    path = tmp_path / "bad.yaml"
    path.write_text(json.dumps(document))  # JSON is YAML
    return path


# --- no AWS needed ------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["plan", "up", "status", "audit", "query", "permissions"])
def test_a_bad_config_exits_2_naming_the_field_without_a_traceback(
    tmp_path: Path, command: str
) -> None:
    path = broken_config(tmp_path)
    result = run("-c", path, command)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr == (
        f"error: {path}: 1 problem(s) in the configuration:\n"
        "  accounts.consumer.account_id: expected a 12-digit AWS account id, quoted "
        "(\"111122223333\"), got '22222222222'\n"
    )
    assert "Traceback" not in result.output


def test_a_bad_config_with_json_output_is_a_json_error(tmp_path: Path) -> None:
    result = run("-c", broken_config(tmp_path), "--output", "json", "plan")
    assert result.exit_code == 2
    payload = json.loads(result.stdout)
    assert (payload["version"], payload["kind"], payload["exit_code"]) == (1, "error", 2)
    assert payload["error"] == "ConfigError"
    assert "accounts.consumer.account_id: expected a 12-digit AWS account id" in payload["message"]
    assert payload["errors"] == [
        {
            "path": "accounts.consumer.account_id",
            "message": 'expected a 12-digit AWS account id, quoted ("111122223333"), '
            "got '22222222222'",
        }
    ]


def test_a_missing_config_file_exits_2(tmp_path: Path) -> None:
    result = run("-c", tmp_path / "absent.yaml", "plan")
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {tmp_path / 'absent.yaml'}: 1 problem(s) in the configuration:\n"
        "  (file): file not found\n"
    )


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    """With --debug the error propagates: Python prints the traceback (a real process)."""
    path = broken_config(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "smus_mesh", "--debug", "-c", str(path), "plan"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, **ENV},
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("Traceback (most recent call last):")
    assert "smus_mesh.errors.ConfigError: " in done.stderr
    assert "accounts.consumer.account_id: expected a 12-digit AWS account id" in done.stderr
    # without --debug, the same run prints only the message
    quiet = subprocess.run(
        [sys.executable, "-m", "smus_mesh", "-c", str(path), "plan"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, **ENV},
        timeout=60,
    )
    assert quiet.returncode == 2
    assert "Traceback" not in quiet.stderr
    assert quiet.stderr.startswith(f"error: {path}: 1 problem(s)")


def test_schema_prints_the_json_schema() -> None:
    result = run("schema")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == json_schema()
    assert result.stderr == ""


def test_emulator_serve_rejects_a_bogus_latency_profile() -> None:
    result = run("emulator", "serve", "--latency", "bogus", "--port", "0")
    assert result.exit_code == 2
    assert (
        "Invalid value for '--latency': Value error, 'bogus' is not one of 'none', 'realistic'."
        in (" ".join(result.stderr.replace("│", " ").split()))
    )
    for scale in ("0", "nan", "inf", "-1"):
        result = run("emulator", "serve", "--time-scale", scale, "--port", "0")
        assert result.exit_code == 2
        assert (
            result.stderr
            == f"error: --time-scale must be a finite number > 0, not {float(scale)}\n"
        )


@pytest.mark.parametrize(
    ("port", "expected"),
    [
        ("99999", "less than or equal to 65535"),
        ("65536", "less than or equal to 65535"),
        ("-1", "greater than or equal to 0"),
    ],
)
def test_emulator_serve_refuses_a_port_outside_0_to_65535(port: str, expected: str) -> None:
    result = run("emulator", "serve", "--port", port)
    assert result.exit_code == 2
    words = " ".join(result.output.replace("│", " ").split())
    assert f"Invalid value for '--port': Input should be {expected}" in words
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("accounts", "expected"),
    [("101", "less than or equal to 100"), ("-1", "greater than or equal to 0")],
)
def test_emulator_serve_refuses_a_number_of_accounts_outside_0_to_100(
    accounts: str, expected: str
) -> None:
    result = run("emulator", "serve", "--accounts", accounts, "--port", "0")
    assert result.exit_code == 2
    words = " ".join(result.output.replace("│", " ").split())
    assert f"Invalid value for '--accounts': Input should be {expected}" in words
    assert "Traceback" not in result.output


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "example.com"])  # noqa: S104
def test_emulator_serve_refuses_a_non_loopback_host_without_allow_remote(host: str) -> None:
    result = run("emulator", "serve", "--host", host, "--port", "0")
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: refusing to bind {host}: the emulator checks no signatures or credentials, "
        "so anyone who reaches it can use it; give --allow-remote to bind it anyway\n"
    )
    result = run("emulator", "serve", "--host", host, "--port", "0", "--iam", "enforce")
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: refusing to bind {host}: the emulator's only credentials are the public test "
        "keys it prints, so anyone who reaches it can use it; give --allow-remote to bind it "
        "anyway\n"
    )


def test_demo_rejects_bad_options_before_starting() -> None:
    for option, value, choices in (
        ("--latency", "slow", "'none', 'realistic'"),
        ("--iam", "strict", "'enforce', 'off'"),
    ):
        result = run("demo", option, value)
        assert result.exit_code == 2
        assert f"Invalid value for '{option}': Value error, '{value}' is not one of {choices}." in (
            " ".join(result.stderr.replace("│", " ").split())
        )
    result = run("demo", "--time-scale", "nan")
    assert (result.exit_code, result.stderr) == (
        2,
        "error: --time-scale must be a finite number > 0, not nan\n",
    )
    result = run("-o", "json", "demo", "--iam", "strict")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["errors"] == [
        {
            "path": "--iam",
            "message": "Invalid value for '--iam': Value error, 'strict' is not one of "
            "'enforce', 'off'.",
        }
    ]


#: Runs the CLI as if only `pip install smus-mesh` had run: the packages of the `emulator`
#: and `parquet` extras cannot be imported (`sys.modules[name] = None` makes `import name`
#: raise ImportError).
WITHOUT_THE_EXTRA = (
    "import sys\n"
    "for name in ('moto', 'duckdb', 'flask', 'werkzeug', 'regex', 'cheroot', 'pyarrow'):\n"
    "    sys.modules[name] = None\n"
    "sys.argv = ['smus-mesh', *sys.argv[1:]]\n"
    "from smus_mesh.cli import main\n"
    "main()\n"
)


def run_without_the_extra(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_THE_EXTRA, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **ENV},
        timeout=60,
    )


@pytest.mark.parametrize(
    "command", [("emulator", "serve", "--port", "0"), ("demo",)], ids=["serve", "demo"]
)
def test_the_emulator_commands_say_how_to_install_the_extra(command: tuple[str, ...]) -> None:
    done = run_without_the_extra(*command)
    assert done.returncode == 2
    assert done.stderr == (
        "error: the emulator is not installed (cannot import moto, flask, werkzeug, duckdb, "
        "regex, cheroot, pyarrow). Install it with: pip install 'smus-mesh[emulator]'\n"
    )
    assert done.stdout == ""


def test_the_tool_runs_without_the_emulator_extra() -> None:
    done = run_without_the_extra("schema")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json_schema()


def test_parquet_rows_without_the_parquet_extra_are_refused_before_any_call(
    tmp_path: Path,
) -> None:
    document = example_document()
    csv_config = tmp_path / "csv.yaml"
    csv_config.write_text(json.dumps(document))
    done = run_without_the_extra("-c", str(csv_config), "permissions", "--account", "producer")
    assert done.returncode == 0, done.stderr
    parquet_table = next(t for t in document["tables"] if t.get("rows"))
    parquet_table["format"] = "parquet"
    parquet_config = tmp_path / "parquet.yaml"
    parquet_config.write_text(json.dumps(document))
    done = run_without_the_extra("-c", str(parquet_config), "-o", "json", "permissions")
    assert done.returncode == 2
    index = document["tables"].index(parquet_table)
    assert json.loads(done.stdout)["errors"] == [
        {
            "path": f"tables[{index}]",
            "message": "format: parquet rows are written with pyarrow, which is not installed: "
            "pip install 'smus-mesh[parquet]' (or use format: csv)",
        }
    ]


def test_plan_rejects_an_unknown_operation(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(json.dumps(example_document()))
    result = run("-c", path, "plan", "sideways")
    assert result.exit_code == 2
    assert "operation must be up or down" in result.stderr


# --- against the emulator -------------------------------------------------------------------


@pytest.fixture
def config_file(
    cloud: Cloud, fast_polling: None, write_config: Callable[[dict[str, Any]], Path]
) -> Path:
    return write_config(example_document())


def test_plan_up_status_and_drift_check(cloud: Cloud, config_file: Path, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    common = ("-c", config_file, "--state", state)

    # plan (text): the steps `up` would run, and no mutating call
    cloud.admin("POST", "calls/reset")
    text = run(*common, "plan")
    assert text.exit_code == 0, text.output
    assert "up plan: " in text.stdout
    for key in ("datazone:domain/domain", "datazone:project/consumer", "ram:domain-share/consumer"):
        assert key in text.stdout
    assert "does not exist" in text.stdout
    assert [c for c in cloud.calls() if c["mutating"]] == []

    # plan --output json: the plan object and nothing else on stdout
    as_json = run(*common, "--output", "json", "plan")
    assert as_json.exit_code == 0
    plan = json.loads(as_json.stdout)
    assert plan["operation"] == "up"
    assert plan["steps"], plan
    assert {"key", "action", "reason"} <= set(plan["steps"][0])
    actions = {s["key"]: s["action"] for s in plan["steps"]}
    assert actions["datazone:domain/domain"] == "create"
    assert actions["datazone:project/consumer"] == "create"
    assert plan["summary"] == dict(Counter(s["action"] for s in plan["steps"]))
    assert set(plan["summary"]) <= {"create", "keep"}  # a fresh cloud: nothing else to do

    # drift check before up: something would change -> exit 1
    before = run(*common, "plan", "--expect-no-changes")
    assert before.exit_code == 1
    assert [c for c in cloud.calls() if c["mutating"]] == []

    # up --output json: the run report
    up = run(*common, "--output", "json", "up")
    assert up.exit_code == 0, up.output
    report = json.loads(up.stdout)
    assert report["ok"] is True
    assert report["operation"] == "up"
    assert report["failures"] == []
    assert report["summary"]["create"] == plan["summary"]["create"]
    assert report["calls"]["by_kind"]["mutating"] > 0
    assert report["calls"]["total"] >= sum(report["calls"]["by_kind"].values())
    assert "started" in up.stderr  # progress goes to stderr, never into the JSON

    # drift check after up: nothing to do -> exit 0
    after = run(*common, "plan", "--expect-no-changes")
    assert after.exit_code == 0, after.output
    assert "up: nothing to do" in after.stdout

    # status, observed live: every step COMPLETE
    status = run(*common, "--output", "json", "status")
    assert status.exit_code == 0
    rows = json.loads(status.stdout)["resources"]
    assert {r["key"] for r in rows} == set(actions)
    assert {r["status"] for r in rows} == {"COMPLETE"}
    assert all(r["owned"] for r in rows if r["key"].startswith("datazone:"))
    table = run(*common, "status")
    assert table.exit_code == 0
    assert "datazone:domain/domain" in table.stdout
    assert "COMPLETE" in table.stdout
    assert "ABSENT" not in table.stdout


def test_an_account_whose_role_cannot_be_assumed_exits_2(
    cloud: Cloud, fast_polling: None, write_config: Callable[[dict[str, Any]], Path]
) -> None:
    document = example_document()
    document["accounts"]["consumer"]["role_arn"] = "arn:aws:iam::222222222222:role/NoSuchRole"
    path = write_config(document)
    for command in ("plan", "up", "status"):
        result = run("-c", path, command)
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith(
            "error: accounts.consumer: cannot get credentials for account 222222222222: "
            "AssumeRole: AccessDenied"
        ), result.stderr
        assert "Traceback" not in result.output
    assert [c for c in cloud.calls() if c["mutating"] and c["operation"] != "AssumeRole"] == []


def test_an_account_reached_with_the_wrong_credentials_exits_2(
    cloud: Cloud, fast_polling: None, write_config: Callable[[dict[str, Any]], Path]
) -> None:
    """The default chain reaches the base account, not the one configured."""
    document = example_document()
    document["accounts"]["consumer"] = {"account_id": "222222222222"}
    path = write_config(document)
    result = run("-c", path, "plan")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: accounts.consumer: the credentials reach account 123456789012, not "
        "222222222222 (check profile / role_arn)\n"
    )


def test_no_credentials_at_all_exits_2_naming_the_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing to assume the role from: a user error, not a crash inside botocore."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    path = tmp_path / "ok.yaml"
    path.write_text(json.dumps(example_document()))
    result = run("-c", path, "plan")
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        "error: accounts.producer: no credentials to assume "
        "arn:aws:iam::111111111111:role/OrganizationAccountAccessRole with: the default "
        "credential chain found none (set AWS credentials, a profile or source_profile)\n"
    )


def test_emulator_serve_with_allow_remote_warns_that_it_checks_no_signatures() -> None:
    """192.0.2.10 (TEST-NET-1) is on no interface here: the warning is printed, then the
    bind fails (nothing listens beyond loopback in a test). In a process of its own: this
    one already serves the tests' emulator."""
    result = subprocess.run(
        [
            *(sys.executable, "-m", "smus_mesh", "emulator", "serve"),
            *("--host", "192.0.2.10", "--port", "0", "--allow-remote"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.stderr.startswith(
        "warning: binding 192.0.2.10 (--allow-remote): the emulator checks no signatures or "
        "credentials; anyone who can reach this address can use it\n"
        "error: cannot listen on 192.0.2.10:0: "
    ), result.stderr
    assert "Traceback" not in result.stderr
    assert result.returncode == 2


def test_emulator_serve_with_three_accounts_names_them_and_serves_them() -> None:
    """In a process of its own (this one already serves the tests' emulator); stopped by
    its own pid once it has answered."""
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "smus_mesh", "emulator", "serve"),
            *("--port", "0", "--accounts", "3"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        export = server.stdout.readline()
        server.stdout.readline()  # the test keys' export (test_text_output.py)
        accounts = server.stdout.readline()
        assert export.startswith("export AWS_ENDPOINT_URL=http://127.0.0.1:"), export
        assert accounts.startswith(
            "# organization: management account 123456789012, member accounts "
            "111111111111, 222222222222, 333333333333, reached by assuming "
            "OrganizationAccountAccessRole"
        ), accounts
        url = export.strip().split("=", 1)[1]
        health = Cloud(url).admin("GET", "health")
        assert health["accounts"] == [
            "123456789012",
            "111111111111",
            "222222222222",
            "333333333333",
        ]
    finally:
        server.terminate()
        server.wait(timeout=60)


def test_help_documents_the_exit_codes() -> None:
    result = run("--help")
    assert result.exit_code == 0
    words = " ".join(result.output.replace("│", " ").split())
    assert (
        "Exit codes: 0 success; 1 AWS refused, a check failed or something was left; 2 bad "
        "input (config, options, state file), nothing changed; 3 AWS kept failing "
        "transiently after every retry, safe to run again; 130 interrupted."
    ) in words


def test_permissions_warns_when_a_policy_is_over_an_iam_quota(tmp_path: Path) -> None:
    document = example_document()
    document["name"] = "demo-longer-setup-name-x"  # the longest name: over a managed policy
    path = tmp_path / "long.yaml"
    path.write_text(json.dumps(document))
    result = run("-c", path, "-o", "json", "permissions")
    assert result.exit_code == 0, result.output
    sizes = json.loads(result.stdout)["sizes"]
    assert 6144 < sizes["producer"] <= 10240 and sizes["consumer"] <= 6144
    assert result.stderr == (
        f"warning: the producer policy is {sizes['producer']:,} characters without white space, "
        "over IAM's 6,144 for a managed policy: attach it as the role's inline policy (up to "
        "10,240) or split its statements over two managed policies\n"
    )
    # the example fits: no warning
    (tmp_path / "ok.yaml").write_text(json.dumps(example_document()))
    quiet = run("-c", tmp_path / "ok.yaml", "permissions", "--account", "producer")
    assert quiet.exit_code == 0 and quiet.stderr == ""
