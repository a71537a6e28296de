"""`smus-mesh verify-aws` against the emulator, as a user runs it against AWS (issue 15.6).

The command builds its own set-up beside a neighbour (another smus-mesh set-up, up and
queried, and a domain made with plain boto3), checks every point of ADR 5, ends with
down and audit, and writes its report. Every check passes or says why it could not be
checked; the neighbours are exactly as they were; the report holds no credential.
Refusals: a foreign domain without --allow-existing, no --yes without a terminal.
"""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from smus_mesh.cli import app
from smus_mesh.collaboration import Collaboration
from smus_mesh.console import NoopConsole
from smus_mesh.contract import schema
from smus_mesh.verify import StopRelay, Verifier
from smus_mesh.verify.report import ADR5_POINTS
from tests.cli.test_up_confirm import _answer_when_asked
from tests.e2e.conftest import SetUpOnce, example_document
from tests.e2e.helpers import calls_since, inventory_diff, last_seq
from tests.e2e.test_least_privilege import operator_config, with_operator_roles
from tests.e2e.test_neighbours import (
    lake_formation_permissions,
    other_and_foreign,
    other_document,
)
from tests.support import CONSUMER_ACCOUNT, DOMAIN_ACCOUNT, Cloud

ENV = {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}

#: Points this version cannot observe, and the words of the reason it gives.
NOT_OBSERVABLE = {
    6: "IAM-based",
    10: "lists no CREATE_DATABASE",
    13: "need a principal without",
    17: "not deployed",
}


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], env=ENV)


def test_verify_aws_beside_neighbours(
    cloud: Cloud,
    write_config: Callable[[dict[str, Any]], Path],
    make_workspace: Callable[..., Any],
    tmp_path: Path,
    set_up_once: SetUpOnce,
) -> None:
    # `other` set up, then a domain made by plain boto3: shared with test_neighbours (ADR 38).
    foreign = other_and_foreign(cloud, set_up_once, tmp_path / "other.state.json")
    other = make_workspace(other_document(), tmp_path / "other.state.json")
    config = write_config(example_document())
    before = cloud.inventory()
    lf_before = {
        a: lake_formation_permissions(cloud, a) for a in (DOMAIN_ACCOUNT, CONSUMER_ACCOUNT)
    }

    refused = run("-c", config, "verify-aws", "--yes", "--report", tmp_path / "r")
    assert refused.exit_code == 2, refused.output
    assert "smus-mesh did not create" in refused.output
    assert foreign["id"] in refused.output and "--allow-existing" in refused.output
    assert not (tmp_path / "r.json").exists()
    assert inventory_diff(before, cloud.inventory()) == {}

    report = tmp_path / "verify-report"
    started = time.monotonic()
    result = run(
        "-c", config, "verify-aws", "--yes", "--allow-existing", "--report", report, "-o", "json"
    )
    seconds = time.monotonic() - started
    print(f"\n[verify-aws] against the emulator: {seconds:.1f}s")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    saved = json.loads(Path(f"{report}.json").read_text())
    assert saved == document
    import jsonschema

    jsonschema.validate(document, schema("verify-aws"))
    assert document["kind"] == "verify-aws" and document["ok"] is True
    assert [c["point"] for c in document["checks"]] == list(ADR5_POINTS)
    outcomes = {c["point"]: (c["outcome"], c["observed"]) for c in document["checks"]}
    for point, (outcome, observed) in outcomes.items():
        if point in NOT_OBSERVABLE:
            assert outcome == "could-not-check", (point, observed)
            assert NOT_OBSERVABLE[point] in observed, (point, observed)
        else:
            assert outcome == "pass", (point, observed)
    phases = [(p["name"], p["status"]) for p in document["phases"]]
    assert phases == [
        (name, "ran")
        for name in (
            "up",
            "observe",
            "query",
            "subscriptions",
            "athena",
            "cascade",
            "down",
            "audit",
        )
    ]
    assert document["leftovers"] == 0 and document["cleanup_hint"] == ""
    assert document["existing_domains"] == [
        {
            "account": "producer",
            "account_id": DOMAIN_ACCOUNT,
            "id": foreign["id"],
            "name": cloud.client("datazone").get_domain(identifier=foreign["id"])["name"],
        }
    ]
    text = Path(f"{report}.txt").read_text()
    assert "verify-aws: OK" in text and " 8. [pass] Shared Lake Formation grants" in text

    # The neighbours: the emulator holds exactly what it held before.
    assert inventory_diff(before, cloud.inventory()) == {}
    assert {a: lake_formation_permissions(cloud, a) for a in lf_before} == lf_before
    rows = Collaboration(other).run_checks()
    assert rows and all(r.ok for r in rows)
    assert not other.plan().changes()

    # No credential in the report: neither the test keys nor any session's.
    shown = {"stdout and stderr": result.output}
    for path in (Path(f"{report}.json"), Path(f"{report}.txt")):
        shown[str(path)] = path.read_text()
    for where, body in shown.items():
        for secret in ("AKIA", "ASIA", "emulator-secret", "SecretAccessKey", "sessionToken"):
            assert secret not in body, (where, secret)


def test_verify_aws_refuses_without_a_terminal_or_yes(
    cloud: Cloud, write_config: Callable[[dict[str, Any]], Path], tmp_path: Path
) -> None:
    config = write_config(example_document())
    before = cloud.inventory()
    seq = last_seq(cloud)
    result = run("-c", config, "verify-aws", "--report", tmp_path / "r", "-o", "json")
    assert result.exit_code == 2, result.output
    document = json.loads(result.stdout)
    assert document["kind"] == "error" and document["exit_code"] == 2
    assert document["message"] == (
        "verify-aws asks before each phase that changes the accounts, and there is no "
        "terminal to ask on; nothing was changed: run it with --yes to answer yes to "
        "every phase"
    )
    assert calls_since(cloud, seq) == []  # refused before any AWS call
    assert inventory_diff(before, cloud.inventory()) == {}
    assert not (tmp_path / "r.json").exists()


def test_verify_aws_cleans_up_after_a_failed_phase(
    cloud: Cloud,
    write_config: Callable[[dict[str, Any]], Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """up fails (DataZone keeps answering 500 to StartDataSourceRun): the later phases are
    skipped, down and audit still run, and nothing is left."""
    monkeypatch.setenv("SMUS_MESH_MAX_ATTEMPTS", "2")
    config = write_config(example_document())
    before = cloud.inventory()
    cloud.admin("POST", "faults", {"error_rate": 1.0, "operations": ["StartDataSourceRun"]})
    try:
        result = run("-c", config, "verify-aws", "--yes", "--report", tmp_path / "r", "-o", "json")
    finally:
        cloud.admin("POST", "faults", {"error_rate": 0.0})
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    phases = {p["name"]: p for p in document["phases"]}
    assert phases["up"]["status"] == "failed"
    assert "StartDataSourceRun" in phases["up"]["message"]
    for name in ("observe", "query", "subscriptions", "athena", "cascade"):
        assert phases[name]["status"] == "skipped", phases[name]
        assert phases[name]["message"] == "up failed"
    assert phases["down"]["status"] == "ran" and phases["audit"]["status"] == "ran"
    assert document["leftovers"] == 0 and document["ok"] is False
    by_point = {c["point"]: c for c in document["checks"]}
    assert by_point[8]["outcome"] == "could-not-check"
    assert by_point[8]["observed"] == "the subscriptions phase skipped: up failed"
    assert inventory_diff(before, cloud.inventory()) == {}


def test_verify_aws_declined_phase_and_ctrl_c(
    cloud: Cloud, write_config: Callable[[dict[str, Any]], Path], fast_polling: None
) -> None:
    """Declining a phase skips it (its points could-not-check); Ctrl-C during the run
    (the first press: start nothing new) ends the phase in flight, skips the rest, and
    still runs down and audit with a Stop of their own."""
    config = write_config(example_document())
    before = cloud.inventory()
    relay = StopRelay()
    asked: list[str] = []

    def ask(question: str) -> bool:
        asked.append(question.split(" ", 1)[0])
        if question.startswith("Send 10 concurrent"):
            return False  # the subscriptions phase
        if question.startswith("Run Athena"):
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the question is answered
        return True

    previous = signal.signal(signal.SIGINT, lambda s, f: relay.on_sigint(s, f))
    try:
        report = Verifier(config, NoopConsole(), ask, relay=relay).run()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert asked == ["Create", "Send", "Run"]  # the cascade was never asked
    statuses = {p.name: p.status for p in report.phases}
    assert statuses == {
        "up": "ran",
        "observe": "ran",
        "query": "ran",
        "subscriptions": "declined",
        "athena": "interrupted",
        "cascade": "skipped",
        "down": "ran",
        "audit": "ran",
    }
    assert report.interrupted and not report.ok and report.leftovers == 0
    by_point = {c.point: c for c in report.checks}
    assert by_point[9].outcome == "could-not-check"
    assert by_point[9].observed == "the subscriptions phase declined: declined"
    assert by_point[5].observed == "the cascade phase skipped: interrupted during athena"
    assert by_point[1].outcome == "pass" and by_point[7].outcome == "pass"
    assert inventory_diff(before, cloud.inventory()) == {}


def test_verify_aws_runs_on_the_policy_it_prints(
    enforced_iam: Cloud, fast_polling: None, tmp_path: Path
) -> None:
    """`verify-aws --permissions` is the exact policy: under strict IAM, with operator
    roles holding only it, the whole run makes no denied call."""
    cloud = enforced_iam
    config = operator_config(tmp_path)
    printed = run("-c", config, "verify-aws", "--permissions", "-o", "json")
    assert printed.exit_code == 0, printed.output
    policies = json.loads(printed.stdout)["policies"]
    assert set(policies) == {"producer", "consumer"}
    with_operator_roles(cloud, config, policies)
    cloud.admin("POST", "calls/reset")
    result = run("-c", config, "verify-aws", "--yes", "--report", tmp_path / "r", "-o", "json")
    denied = [
        (c["account"], c["service"], c["operation"]) for c in cloud.calls() if c["iam"] == "denied"
    ]
    assert denied == [], denied
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["ok"] is True and document["leftovers"] == 0


def test_verify_aws_asks_on_a_terminal_and_declining_up_changes_nothing(
    cloud: Cloud, write_config: Callable[[dict[str, Any]], Path], tmp_path: Path
) -> None:
    """On a terminal the first question is up's; answering no creates nothing, yet down
    and audit still run and the report says every point could not be checked."""
    config = write_config(example_document())
    before = cloud.inventory()
    report = tmp_path / "declined"
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "smus_mesh",
            "-c",
            str(config),
            "verify-aws",
            "--report",
            str(report),
        ],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **ENV},
    )
    os.close(terminal)
    try:
        stdout, stderr = _answer_when_asked(process, controller, "n\n")
    finally:
        os.close(controller)
    assert process.wait() == 0, stderr
    assert "Create the verification set-up verify-demo in accounts producer" in stderr
    assert stderr.count("[y/N]") == 1  # no other phase asked: they were skipped
    document = json.loads(Path(f"{report}.json").read_text())
    statuses = {p["name"]: p["status"] for p in document["phases"]}
    assert statuses["up"] == "declined" and statuses["down"] == statuses["audit"] == "ran"
    assert {c["outcome"] for c in document["checks"]} == {"could-not-check"}
    assert "report: " in stdout and f"{report}.txt" in stdout
    assert inventory_diff(before, cloud.inventory()) == {}
