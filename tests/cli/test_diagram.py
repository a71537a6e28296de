"""`smus-mesh diagram`: the mesh as observed (status, drift made by a plain boto3 client,
the data's path as arrows), as SVG, Mermaid and JSON; read-only; and the SVG as headless
Chromium renders it (when the Debian package is installed)."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from typer.testing import CliRunner, Result

from smus_mesh.cli import app
from smus_mesh.contract import schema
from tests.e2e.conftest import example_document
from tests.support import CONSUMER_ACCOUNT, DOMAIN_ACCOUNT, Cloud

ENV = {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
SVG = "{http://www.w3.org/2000/svg}"
ROLE = "AmazonSageMakerDomainExecution-demo"
CHROMIUM = shutil.which("chromium")


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], env=ENV)


@pytest.fixture
def drifted(
    cloud: Cloud, fast_polling: None, write_config: Callable[[dict[str, Any]], Path]
) -> tuple[Path, str]:
    """The example set up, then a policy detached from the domain's execution role by a
    plain boto3 client (drift the diagram must show); (config, the policy's name)."""
    config = write_config(example_document())
    up = run("-c", config, "up", "--yes")
    assert up.exit_code == 0, up.output
    iam = cloud.client("iam", DOMAIN_ACCOUNT)
    (policy,) = iam.list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"]
    iam.detach_role_policy(RoleName=ROLE, PolicyArn=policy["PolicyArn"])
    return config, str(policy["PolicyName"])


def parse(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)  # noqa: S314 - the tool's own output, in a test


def nodes_of(svg: Path) -> dict[str, ElementTree.Element]:
    root = parse(svg.read_text(encoding="utf-8"))
    return {g.attrib["data-key"]: g for g in root.iter(f"{SVG}g") if "data-key" in g.attrib}


def test_the_diagram_is_the_mesh_as_observed(
    cloud: Cloud, drifted: tuple[Path, str], tmp_path: Path
) -> None:
    config, policy = drifted
    status = json.loads(run("-c", config, "-o", "json", "status").stdout)["resources"]
    cloud.admin("POST", "calls/reset")

    out = tmp_path / "mesh.svg"
    drawn = run("-c", config, "diagram", "--out", out)
    assert drawn.exit_code == 0, drawn.output
    assert drawn.stdout == f"wrote {out}\n"
    assert [c for c in cloud.calls() if c["mutating"]] == []  # read-only

    # Every resource, with the status `status` observes; the drift named in its box.
    nodes = nodes_of(out)
    assert {key: g.attrib["data-status"] for key, g in nodes.items()} == {
        r["key"]: r["status"] for r in status
    }
    role = "".join(nodes["iam:role/domain-execution"].itertext())
    assert f"drift: missing policies {policy}" in role
    project = "".join(nodes["datazone:project/consumer"].itertext())
    assert "COMPLETE" in project and "env tooling " in project
    root = parse(out.read_text(encoding="utf-8"))
    regions = ["".join(g.itertext()) for g in root.iter(f"{SVG}g") if g.get("class") == "account"]
    assert regions == [
        f"account producer ({DOMAIN_ACCOUNT})",
        f"account consumer ({CONSUMER_ACCOUNT})",
    ]
    assert "Legend" in "".join(root.itertext())

    # The same graph as JSON: the data's path from the table to the consumer's grant.
    as_json = run("-c", config, "-o", "json", "diagram")
    assert as_json.exit_code == 0, as_json.output
    graph = json.loads(as_json.stdout)
    assert not list(Draft202012Validator(schema("diagram")).iter_errors(graph))
    edges = {(e["from"], e["to"]) for e in graph["edges"]}
    assert {
        ("datazone:domain/domain", "datazone:project/consumer"),
        ("glue:table/inventory", "datazone:listing/inventory"),
        ("datazone:listing/inventory", "datazone:subscription-request/consumer/inventory"),
        ("datazone:project/consumer", "datazone:subscription-request/consumer/inventory"),
    } <= edges
    paths = [p for p in root.iter(f"{SVG}path") if p.get("class") == "edge"]
    assert len(paths) == len(edges)
    by_key = {n["key"]: n for n in graph["nodes"]}
    assert by_key["iam:role/domain-execution"]["drift"] == [f"missing policies {policy}"]
    assert by_key["datazone:listing/inventory"]["account"] == "producer"
    assert by_key["datazone:subscription-grant/consumer/inventory"]["account"] == "consumer"

    mermaid = run("-c", config, "diagram", "--format", "mermaid")
    assert mermaid.exit_code == 0, mermaid.output
    lines = mermaid.stdout.splitlines()
    assert lines[0] == "flowchart LR"
    assert f'  subgraph account_consumer["account consumer ({CONSUMER_ACCOUNT})"]' in lines
    ids = {line.split('["', 1)[0].strip(): line for line in lines if line.startswith("    n")}
    assert len(ids) == len(status)
    drifting = [i for i, line in ids.items() if "role: domain-execution" in line]
    assert f"  class {drifting[0]} complete,drift" in lines
    assert sum(1 for line in lines if " --> " in line) == len(edges)


def test_the_diagram_of_an_absent_set_up_draws_every_box_absent(
    cloud: Cloud, fast_polling: None, write_config: Callable[[dict[str, Any]], Path]
) -> None:
    result = run("-c", write_config(example_document()), "diagram")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("<svg ")
    statuses = {
        g.attrib["data-status"]
        for g in parse(result.stdout).iter(f"{SVG}g")
        if "data-key" in g.attrib
    }
    # A fresh cloud holds the default network the set-up uses, and nothing else of it.
    assert statuses == {"ABSENT", "COMPLETE"}
    bad = run("-c", write_config(example_document()), "diagram", "--format", "png")
    assert bad.exit_code == 2
    assert "'png' is not one of 'svg', 'mermaid'" in bad.stderr


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium (Debian: chromium) not installed")
def test_chromium_renders_the_diagram(drifted: tuple[Path, str], tmp_path: Path) -> None:
    config, policy = drifted
    out = tmp_path / "mesh.svg"
    assert run("-c", config, "diagram", "--out", out).exit_code == 0
    browser = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    dom = subprocess.run(
        [*browser, "--dump-dom", out.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    for text in (
        "smus-mesh: demo",
        "project: consumer",
        "subscription grant: consumer/inventory",
        f"drift: missing policies {policy}"[:30],
        "Legend",
    ):
        assert text in dom, text
    png = tmp_path / "mesh.png"
    subprocess.run(
        [*browser, "--window-size=900,1600", f"--screenshot={png}", out.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (900, 1600)
    # A white page of that size is ~7 KB; boxes, text and colours make it far larger.
    assert len(data) > 60_000, len(data)
