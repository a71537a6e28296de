"""Conformance of every registered resource kind, and of the docs generated from code."""

from __future__ import annotations

from pathlib import Path

import botocore.session
import pytest

from smus_mesh.resources import setup  # noqa: F401 (registers every kind)
from smus_mesh.resources.base import REGISTRY, Resource
from smus_mesh_emulator.coverage import render
from smus_mesh_emulator.datazone.responses import implemented_operations

ROOT = Path(__file__).resolve().parents[2]
SESSION = botocore.session.get_session()
#: IAM action prefixes whose API operations have the same names as the actions.
API_SERVICES = {
    "datazone": "datazone",
    "glue": "glue",
    "lakeformation": "lakeformation",
    "ram": "ram",
    "iam": "iam",
    "sts": "sts",
    "ec2": "ec2",
    "athena": "athena",
}


def kinds() -> list[type[Resource]]:
    return sorted(REGISTRY.values(), key=lambda cls: cls.kind)


def test_every_step_kind_is_registered() -> None:
    assert len(REGISTRY) >= 20


@pytest.mark.parametrize("cls", kinds(), ids=lambda cls: cls.kind)
def test_kind_declares_actions_and_documents_its_config(cls: type[Resource]) -> None:
    assert cls.iam_actions, f"{cls.kind} declares no IAM actions"
    assert all(":" in action for action in cls.iam_actions)
    assert cls.__doc__ and "Example" in cls.__doc__, f"{cls.kind} has no YAML example"


@pytest.mark.parametrize("cls", kinds(), ids=lambda cls: cls.kind)
def test_declared_actions_exist_in_the_botocore_model(cls: type[Resource]) -> None:
    for action in cls.iam_actions:
        prefix, name = action.split(":", 1)
        service = API_SERVICES.get(prefix)
        if service is None or name in ("PassRole",):
            continue
        assert name in SESSION.get_service_model(service).operation_names, action


@pytest.mark.parametrize("cls", kinds(), ids=lambda cls: cls.kind)
def test_every_datazone_operation_a_step_uses_is_emulated(cls: type[Resource]) -> None:
    implemented = implemented_operations()
    missing = [a for a in cls.iam_actions if a.startswith("datazone:") and a[9:] not in implemented]
    assert missing == []


def test_coverage_page_is_up_to_date() -> None:
    page = (ROOT / "docs" / "emulator-coverage.md").read_text()
    assert page.strip() == render().strip(), "run `make coverage-doc`"
