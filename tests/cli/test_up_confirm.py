"""`up` shows its plan before it acts, and asks before it deletes or replaces anything;
`plan --out FILE` saves a plan that `up --plan FILE` applies only while it still holds.

The destructive step is a real one: a consumer project whose deployment FAILED is
replaced (`recreate`). It fails because a role of the provisioning role's name already
existed in the consumer account, not smus-mesh's (so left as it was), trusting nobody;
the user then deletes that role, and the next `up` creates the right one and replaces
the failed project.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from smus_mesh.cli import app
from tests.e2e.conftest import example_document
from tests.support import CONSUMER_ACCOUNT, Cloud

ENV = {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
PROJECT = "datazone:project/consumer"
ROLE = "iam:role/provisioning/consumer"
REFUSAL = (
    "error: up would delete or replace 1 resource(s) (recreate datazone:project/consumer); "
    "nothing was changed: review the plan and run again with --yes (or --auto-approve) "
    "when not interactive\n"
)


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], env=ENV)


def minimal_document() -> dict[str, Any]:
    """The example's domain and its consumer project alone (the smallest set-up with a
    project in the second account)."""
    document = example_document()
    document["projects"] = [p for p in document["projects"] if p["name"] == "consumer"]
    document["tables"] = []
    document["subscriptions"] = []
    document["checks"] = []
    return document


def project_status(cloud: Cloud) -> dict[str, str]:
    datazone = cloud.client("datazone")
    domain = next(d for d in datazone.list_domains()["items"] if d["name"] == "smus-mesh-demo")
    project = datazone.list_projects(domainIdentifier=domain["id"])["items"][0]
    got = datazone.get_project(domainIdentifier=domain["id"], identifier=project["id"])
    return {"id": got["id"], "status": got.get("projectStatus", "")}


@pytest.fixture
def failed_project(
    cloud: Cloud, fast_polling: None, write_config: Callable[[dict[str, Any]], Path]
) -> Path:
    """A set-up whose consumer project FAILED, the cause removed: `up` will replace it."""
    config = write_config(minimal_document())
    iam = cloud.client("iam", CONSUMER_ACCOUNT)
    iam.create_role(
        RoleName="AmazonSageMakerProvisioning-demo",
        Path="/service-role/",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )
    # Nothing destructive in this plan: no prompt, no terminal needed.
    first = run("-c", config, "up")
    assert first.exit_code == 1, first.output
    assert (
        "failed: datazone:project/consumer: datazone:project/consumer: FAILED_DEPLOYMENT: "
        "Tooling: PROVISIONING_ROLE_INVALID DataZone cannot assume provisioning role "
        f"arn:aws:iam::{CONSUMER_ACCOUNT}:role/service-role/AmazonSageMakerProvisioning-demo: "
        "its trust policy does not"
    ) in first.stderr
    assert "recreate" not in first.stdout  # its plan: nothing destructive yet
    return config


def test_up_shows_asks_and_applies_a_saved_plan_only_while_it_holds(
    cloud: Cloud, failed_project: Path, tmp_path: Path
) -> None:
    config = failed_project
    failed = project_status(cloud)
    saved = tmp_path / "plan.json"

    made = run("-c", config, "plan", "--out", saved)
    assert made.exit_code == 0, made.output
    assert made.stdout.endswith(
        f"saved the plan to {saved}; apply it with `smus-mesh up --plan {saved}`\n"
    )
    document = json.loads(saved.read_text())
    assert (document["format"], document["version"], document["operation"]) == (
        "smus-mesh-plan",
        1,
        "up",
    )
    assert document["setup"] == "demo" and len(document["setup_id"]) > 8
    steps = {s["key"]: s for s in document["steps"]}
    assert steps[PROJECT]["action"] == "recreate"
    assert (steps[ROLE]["action"], steps[ROLE]["reason"]) == ("keep", "exists (not ours)")
    text = saved.read_text()
    for secret in ("AKIAIOSFODNN7EXAMPLE", "emulator-secret", "SecretAccessKey", "SessionToken"):
        assert secret not in text

    # The user fixes the account (deletes the foreign role): what exists changed, so the
    # saved plan no longer holds. Exit 2, what changed, nothing done.
    cloud.client("iam", CONSUMER_ACCOUNT).delete_role(RoleName="AmazonSageMakerProvisioning-demo")
    before = cloud.inventory()
    stale = run("-c", config, "up", "--plan", saved)
    assert stale.exit_code == 2, stale.output
    assert stale.stderr == (
        f"error: {saved} is out of date: what exists changed since it was saved, 5 step(s) "
        f"differ:\n  {ROLE}: was keep (exists (not ours)), now create (does not exist)\n"
        # what depends on the role is looked for again once the role exists (ADR 19)
        "  datazone:blueprint-configuration/consumer/Tooling: was keep (exists), now create "
        f"(waits for {ROLE}: looked for again once that exists)\n"
        "  datazone:policy-grant/consumer/Tooling: was keep (exists), now create (waits for "
        "datazone:blueprint-configuration/consumer/Tooling: looked for again once that "
        "exists)\n"
        "  datazone:blueprint-configuration/consumer/DataLake: was keep (exists), now create "
        f"(waits for {ROLE}: looked for again once that exists)\n"
        "  datazone:policy-grant/consumer/DataLake: was keep (exists), now create (waits for "
        "datazone:blueprint-configuration/consumer/DataLake: looked for again once that "
        "exists)\n"
        "nothing was changed: run `smus-mesh plan --out FILE` again and review it\n"
    )
    assert cloud.inventory() == before

    state = config.parent / ".smus-mesh" / "demo.state.json"
    state_before = state.read_bytes()

    # No terminal, no --yes: the plan, the refusal, exit 2 and nothing changed.
    refused = run("-c", config, "up")
    assert refused.exit_code == 2, refused.output
    assert refused.stderr.endswith(REFUSAL), refused.stderr
    assert "recreate" in refused.stdout and PROJECT in refused.stdout
    assert "create" in refused.stdout and ROLE in refused.stdout
    assert cloud.inventory() == before
    assert state.read_bytes() == state_before
    assert not state.with_name(state.name + ".journal").exists()

    # The same with --output json: the refusal on stderr, and as the error document.
    as_json = run("-c", config, "--output", "json", "up")
    assert as_json.exit_code == 2
    refusal = REFUSAL.removeprefix("error: ").rstrip("\n")
    assert json.loads(as_json.stdout) == {
        "version": 1,
        "kind": "error",
        "error": "UserError",
        "message": refusal,
        "exit_code": 2,
        "errors": [{"path": None, "message": refusal}],
    }
    assert as_json.stderr.endswith(REFUSAL)
    assert cloud.inventory() == before

    # On a terminal, answering no: aborted, nothing changed.
    declined = _on_a_terminal(config, "n\n")
    assert declined.returncode == 1, declined.stderr
    assert "up will delete or replace 1 resource(s). Go on? [y/N]:Aborted.\n" in declined.stderr
    assert cloud.inventory() == before
    assert state.read_bytes() == state_before

    # A plan of another config (a new description) is refused before anything is compared.
    again = run("-c", config, "plan", "--out", saved)
    assert again.exit_code == 0, again.output
    edited = minimal_document()
    edited["projects"][0]["description"] = "Reads the retail inventory, now audited."
    other = tmp_path / "edited" / "smus-mesh.yaml"
    other.parent.mkdir()
    other.write_text(json.dumps(edited))
    changed = run(
        "-c",
        other,
        "--state",
        config.parent / ".smus-mesh" / "demo.state.json",
        "up",
        "--plan",
        saved,
    )
    assert changed.exit_code == 2, changed.output
    assert changed.stderr == (
        f"error: {saved} was made from another version of the config: the config changed "
        "since; nothing was changed: run `smus-mesh plan --out FILE` again and review it\n"
    )
    # Not a plan of up, not a plan file at all: refused too.
    down_plan = tmp_path / "down.json"
    assert run("-c", config, "plan", "down", "--out", down_plan).exit_code == 0
    wrong = run("-c", config, "up", "--plan", down_plan)
    assert (wrong.exit_code, wrong.stderr) == (
        2,
        f"error: {down_plan} is a plan of 'down'; up applies only a plan of up "
        "(`smus-mesh plan up --out FILE`)\n",
    )
    garbage = tmp_path / "garbage.json"
    garbage.write_text("not json")
    bad = run("-c", config, "up", "--plan", garbage)
    assert (bad.exit_code, bad.stderr) == (
        2,
        f"error: {garbage} is not a smus-mesh plan file (not JSON); save one with "
        "`smus-mesh plan --out FILE`\n",
    )
    assert cloud.inventory() == before

    # The fresh plan, applied without a question (it is the reviewed one): the project is
    # a new one, deployed, and nothing is left to do.
    applied = run("-c", config, "-o", "json", "up", "--plan", saved)
    assert applied.exit_code == 0, applied.output
    assert {s["key"]: s["action"] for s in json.loads(applied.stdout)["plan"]["steps"]}[
        PROJECT
    ] == "recreate"
    assert project_status(cloud)["id"] != failed["id"]
    converged = run("-c", config, "plan", "--expect-no-changes")
    assert converged.exit_code == 0, converged.output


def _on_a_terminal(config: Path, answer: str) -> subprocess.CompletedProcess[str]:
    """`smus-mesh -c config up` with its stdin on a pseudo-terminal that types `answer`
    once the question is asked."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "smus_mesh", "-c", str(config), "up"],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **ENV},
    )
    os.close(terminal)
    try:
        stdout, stderr = _answer_when_asked(process, controller, answer)
    finally:
        os.close(controller)
    return subprocess.CompletedProcess(process.args, process.wait(), stdout, stderr)


def _answer_when_asked(process: Any, controller: int, answer: str) -> tuple[str, str]:
    stderr = ""
    deadline = time.monotonic() + 120
    assert process.stderr is not None
    while "[y/N]" not in stderr and time.monotonic() < deadline:
        ready, _, _ = select.select([process.stderr], [], [], 1)
        if ready:
            chunk = os.read(process.stderr.fileno(), 4096).decode()
            if not chunk:
                break
            stderr += chunk
    os.write(controller, answer.encode())
    stdout, rest = process.communicate(timeout=120)
    return stdout, stderr + rest


def test_up_names_its_three_ways_to_skip_the_question() -> None:
    shown = run("up", "--help")
    assert shown.exit_code == 0
    assert "--yes" in shown.stdout and "-y" in shown.stdout
    assert "--auto-approve" in shown.stdout and "--plan" in shown.stdout


def test_up_asks_before_it_removes_what_left_the_config(
    cloud: Cloud, fast_polling: None, write_config: Callable[[dict[str, Any]], Path]
) -> None:
    """A project taken out of the config is deleted by the next `up` (ADR 19): that is
    destructive, so without a terminal and without --yes, up refuses and changes nothing;
    with --yes it removes the project, and the config then holds."""
    document = example_document()
    document["tables"] = []
    document["subscriptions"] = []
    document["checks"] = []
    for project in document["projects"]:
        project.pop("imports", None)
    config = write_config(document)
    first = run("-c", config, "up")  # nothing destructive: no question
    assert first.exit_code == 0, first.output
    datazone = cloud.client("datazone")
    domain = next(d for d in datazone.list_domains()["items"] if d["name"] == "smus-mesh-demo")

    def projects() -> list[str]:
        listed = datazone.list_projects(domainIdentifier=domain["id"])["items"]
        return sorted(p["name"] for p in listed)

    assert projects() == ["consumer", "producer"]

    document["projects"] = [p for p in document["projects"] if p["name"] != "consumer"]
    config.write_text(json.dumps(document))
    before = cloud.inventory()
    refused = run("-c", config, "up")
    assert refused.exit_code == 2, refused.output
    assert refused.stderr.startswith("error: up would delete or replace "), refused.stderr
    assert f"delete {PROJECT}" in refused.stderr
    assert refused.stderr.endswith(
        "nothing was changed: review the plan and run again with --yes (or --auto-approve) "
        "when not interactive\n"
    )
    assert cloud.inventory() == before

    removed = run("-c", config, "-o", "json", "up", "--yes")
    assert removed.exit_code == 0, removed.output
    steps = {s["key"]: s["action"] for s in json.loads(removed.stdout)["plan"]["steps"]}
    assert steps[PROJECT] == "delete"
    assert projects() == ["producer"]
    converged = run("-c", config, "plan", "--expect-no-changes")
    assert converged.exit_code == 0, converged.output
