"""The JSON contract (ADR 18): every command's real `-o json` output, on the emulator,
validates against the JSON Schema generated from smus_mesh.contract, has version 1 and
its kind, and docs/json.md is the generated document."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from typer.testing import CliRunner, Result

from smus_mesh import __version__
from smus_mesh.cli import app
from smus_mesh.collaboration import typed_cell
from smus_mesh.contract import DOCUMENTS, render_doc, schema
from tests.e2e.conftest import example_document
from tests.e2e.test_collaboration import three_accounts as two_consumers
from tests.support import Cloud

ENV = {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
ROOT = Path(__file__).resolve().parents[2]
TYPES = "every type"
TYPES_SQL = (
    "SELECT CAST(NULL AS integer) AS nothing, true AS yes, DATE '2024-01-02' AS day, "
    "CAST(1.50 AS decimal(5,2)) AS price, TIMESTAMP '2024-01-02 03:04:05' AS at, "
    "CAST(2.5 AS double) AS ratio, 'faro' AS name, CAST(7 AS bigint) AS n "
    "FROM {inventory} LIMIT 1"
)


class Contract:
    """Runs the CLI with -o json and checks each document against its kind's schema."""

    def __init__(self, config: Path, state: Path) -> None:
        self.common = ["-c", str(config), "--state", str(state), "-o", "json"]
        self.kinds: set[str] = set()

    def run(self, *args: str, kind: str, code: int = 0) -> dict[str, Any]:
        result: Result = CliRunner().invoke(app, [*self.common, *args], env=ENV)
        assert result.exit_code == code, (args, result.output)
        document: dict[str, Any] = json.loads(result.stdout)
        errors = sorted(
            Draft202012Validator(schema(kind)).iter_errors(document), key=lambda e: e.path
        )
        assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
        assert (document["version"], document["kind"]) == (1, kind)
        self.kinds.add(kind)
        return document


def test_every_commands_json_is_its_documented_kind(
    cloud: Cloud, fast_polling: None, write_config: Callable[[dict[str, Any]], Path], tmp_path: Path
) -> None:
    document = two_consumers({"mode": "manual"})
    document["checks"].append({"name": TYPES, "project": "consumer", "sql": TYPES_SQL})
    contract = Contract(write_config(document), tmp_path / "state.json")

    assert contract.run("version", kind="version")["smus_mesh"] == __version__
    assert "properties" in contract.run("schema", kind="schema")["schema"]
    assert set(contract.run("permissions", kind="permissions")["policies"]) == {
        "producer",
        "consumer",
        "analytics",
    }
    plan = contract.run("plan", kind="plan")
    assert {s["action"] for s in plan["steps"]} <= {"create", "keep"}  # a fresh cloud

    up = contract.run("up", kind="up")
    assert up["ok"] is True and up["plan"]["steps"] == plan["steps"]
    assert {w["project"] for w in up["awaiting_approval"]} == {"consumer", "analytics"}
    resources = contract.run("status", kind="status")["resources"]
    assert {r["status"] for r in resources} == {"COMPLETE"}
    assert contract.run("outputs", kind="outputs")["setup"] == document["name"]
    requests = contract.run("requests", kind="requests")["requests"]
    assert {r["status"] for r in requests} == {"PENDING"}

    [accepted] = contract.run("approve", "--project", "consumer", kind="approve")["decided"]
    assert (accepted["consumer"], accepted["decision"]) == ("consumer", "accepted")
    [rejected] = contract.run("reject", "--project", "analytics", kind="reject")["decided"]
    assert (rejected["consumer"], rejected["decision"]) == ("analytics", "rejected")

    # The analytics check fails (rejected): exit 1, still the query document.
    query = contract.run("query", kind="query", code=1)
    checks = {c["name"]: c for c in query["checks"]}
    assert query["ok"] is False and checks["analytics count"]["ok"] is False
    assert checks["stock per warehouse"]["rows"] == [
        ["faro", 120],
        ["lisbon", 450],
        ["porto", 4295],
    ]
    typed = checks[TYPES]
    assert [(c["name"], c["type"]) for c in typed["columns"]] == [
        ("nothing", "integer"),
        ("yes", "boolean"),
        ("day", "date"),
        ("price", "decimal"),
        ("at", "timestamp"),
        ("ratio", "double"),
        ("name", "varchar"),
        ("n", "bigint"),
    ]
    assert typed["rows"] == [
        [None, True, "2024-01-02", "1.50", "2024-01-02T03:04:05.000", 2.5, "faro", 7]
    ]

    drawing = tmp_path / "mesh.mmd"
    diagram = contract.run("diagram", "--format", "mermaid", "--out", str(drawing), kind="diagram")
    assert (diagram["format"], diagram["out"]) == ("mermaid", str(drawing))
    assert drawing.read_text(encoding="utf-8").startswith("flowchart LR\n")
    states = {n["key"]: n["status"] for n in diagram["nodes"]}
    assert states["datazone:subscription-request/consumer/inventory"] == "COMPLETE"

    cancelled = contract.run(
        "unsubscribe", "--project", "consumer", "--table", "inventory", kind="unsubscribe"
    )
    assert cancelled["cancelled"] == 1
    audit = contract.run("audit", "--no-expect-empty", kind="audit")
    assert audit["leftovers"] > 0
    assert set(audit["accounts"]) == {"producer", "consumer", "analytics"}
    down = contract.run("down", "--yes", kind="down")
    assert down["ok"] is True and down["audit"]["leftovers"] == 0

    # Errors: a config error names each field; a usage error is a document too.
    broken = example_document()
    broken["accounts"]["consumer"]["account_id"] = "1"
    broken["region"] = "xx-fake-9"
    contract.common[1] = str(write_config(broken))
    error = contract.run("plan", kind="error", code=2)
    assert (error["error"], error["exit_code"]) == ("ConfigError", 2)
    assert {e["path"] for e in error["errors"]} == {"accounts.consumer.account_id", "region"}
    usage = contract.run("plan", "--no-such-option", kind="error", code=2)
    assert usage["errors"] == [
        {"path": "--no-such-option", "message": "No such option: --no-such-option"}
    ]
    # demo and verify-aws have tests of their own (a process; tests/e2e/test_verify_aws.py).
    assert contract.kinds == set(DOCUMENTS) - {"demo", "verify-aws"}


def test_the_demos_json_is_its_documented_kind(tmp_path: Path) -> None:
    # A process of its own: the demo starts its emulator, and moto's backends are global.
    result = subprocess.run(
        [sys.executable, "-m", "smus_mesh", "demo", "-o", "json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    document = json.loads(result.stdout)
    assert not list(Draft202012Validator(schema("demo")).iter_errors(document))
    assert (document["kind"], document["ok"]) == ("demo", True)
    assert all(isinstance(row[1], int) for row in document["checks"][0]["rows"])
    # The demo draws its mesh after the queries, next to where it runs.
    assert document["diagram"] == str(tmp_path / "mesh.svg")
    assert (tmp_path / "mesh.svg").read_text(encoding="utf-8").startswith("<svg ")


def test_docs_json_md_is_generated_from_the_code() -> None:
    assert (ROOT / "docs" / "json.md").read_text(encoding="utf-8") == render_doc(), (
        "docs/json.md is stale: run `make json-doc`"
    )
    for kind in DOCUMENTS:
        Draft202012Validator.check_schema(schema(kind))


@pytest.mark.parametrize(
    ("text", "athena_type", "value"),
    [
        ("-9223372036854775808", "bigint", -9223372036854775808),
        ("Infinity", "double", "Infinity"),
        ("1e3", "real", 1000.0),
        ("false", "boolean", False),
        ("99999999999999999.99", "decimal(19,2)", "99999999999999999.99"),
        ("[1, 2]", "array", "[1, 2]"),
        ("", "varchar", ""),
        (None, "varchar", None),
        ("not a number", "integer", "not a number"),
    ],
)
def test_a_cell_is_typed_from_its_athena_type(
    text: str | None, athena_type: str, value: Any
) -> None:
    assert typed_cell(text, athena_type) == value
    assert type(typed_cell(text, athena_type)) is type(value)
