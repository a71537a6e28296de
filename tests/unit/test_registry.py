"""Conformance of every registered resource kind, and of the docs generated from code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import botocore.session
import pytest

from smus_mesh.resources import setup  # noqa: F401 (registers every kind)
from smus_mesh.resources.base import REGISTRY, Resource
from smus_mesh.resources.datazone import DataZoneResource
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


def datazone_kinds() -> list[type[DataZoneResource]]:
    return [cls for cls in kinds() if issubclass(cls, DataZoneResource)]


def _operation(method: str) -> Any:
    model = SESSION.get_service_model("datazone")
    name = "".join(part.title() for part in method.split("_"))
    return model.operation_model(name)


def test_the_declared_deletions_cover_the_datazone_kinds_that_delete() -> None:
    assert {cls.kind for cls in datazone_kinds()} == {
        "datazone:domain",
        "datazone:blueprint-configuration",
        "datazone:project-profile",
        "datazone:project",
        "datazone:data-source",
    }


@pytest.mark.parametrize("cls", datazone_kinds(), ids=lambda cls: cls.kind)
def test_a_declared_deletion_is_what_the_botocore_model_takes(
    cls: type[DataZoneResource],
) -> None:
    """Each delete (and the Get that watches it) names a real operation, passes every
    required member, only members the operation has, and its IAM action is declared."""
    deletion = cls.deletion
    for method in filter(None, (deletion.operation, deletion.get)):
        operation = _operation(method)
        members = set(operation.input_shape.members)
        passed = set(deletion.identifiers)
        if method == deletion.operation:
            passed |= set(deletion.arguments)
        assert set(operation.input_shape.required_members) <= passed, method
        assert passed <= members, method
        assert "datazone:" + operation.name in cls.iam_actions, method
    if deletion.get is not None:
        output = _operation(deletion.get).output_shape.members
        assert deletion.status_key in output
        statuses = set(output[deletion.status_key].enum)
        assert {deletion.failed, *deletion.gone} <= statuses
