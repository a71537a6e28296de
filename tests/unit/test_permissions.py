"""`permissions` narrows DataZone and RAM to the resource types the Service Authorization
Reference gives their actions; the rest of the two stays on "*" (docs/permissions.md)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from smus_mesh.config import parse_config
from smus_mesh.permissions import operator_policy, policy_size, size_warning
from tests.e2e.conftest import example_document

PRODUCER, CONSUMER = "111111111111", "222222222222"


def _statements(document: dict[str, Any], alias: str) -> dict[str, dict[str, Any]]:
    policy = operator_policy(parse_config(document), alias)
    return {s["Sid"]: s for s in policy["Statement"]}


def test_datazone_and_ram_are_narrowed_to_their_resource_types() -> None:
    producer = _statements(example_document(), "producer")
    assert producer["DatazoneDomain"] == {
        "Sid": "DatazoneDomain",
        "Effect": "Allow",
        "Action": ["datazone:DeleteDomain", "datazone:GetDomain", "datazone:TagResource"],
        "Resource": f"arn:aws:datazone:us-east-1:{PRODUCER}:domain/*",
    }
    assert producer["RamShare"]["Action"] == ["ram:DeleteResourceShare", "ram:TagResource"]
    assert producer["RamShare"]["Resource"] == (
        f"arn:aws:ram:us-east-1:{PRODUCER}:resource-share/*"
    )
    assert producer["Ram"]["Resource"] == "*"
    assert producer["Ram"]["Action"] == [
        "ram:CreateResourceShare",
        "ram:GetResourceShareAssociations",
        "ram:GetResourceShares",
    ]
    assert producer["Datazone"]["Resource"] == "*"
    assert not {"datazone:GetDomain", "datazone:DeleteDomain"} & set(producer["Datazone"]["Action"])

    consumer = _statements(example_document(), "consumer")
    # The invitation is the share owner's (the domain account's); the consumer's own shares
    # (only the leftover sweep deletes one) are its own account's.
    assert consumer["RamInvitation"]["Resource"] == (
        f"arn:aws:ram:us-east-1:{PRODUCER}:resource-share-invitation/*"
    )
    assert consumer["RamShare"]["Resource"] == (
        f"arn:aws:ram:us-east-1:{CONSUMER}:resource-share/*"
    )
    # up, query, down and audit read no domain from an associated account.
    assert "DatazoneDomain" not in consumer
    assert all("datazone:GetDomain" not in s["Action"] for s in consumer.values())


@pytest.mark.parametrize(
    ("joined", "resource"),
    [
        ({"id": "dzd_abc123"}, "domain/dzd_abc123"),
        ({"name": "theirs", "existing": True}, "domain/*"),
    ],
)
def test_a_joined_domain_is_named_by_its_id_when_the_config_gives_it(
    joined: dict[str, Any], resource: str
) -> None:
    document = example_document()
    document["domain"] = {"account": "producer", **joined}
    statement = _statements(document, "producer")["DatazoneDomain"]
    assert statement["Resource"] == f"arn:aws:datazone:us-east-1:{PRODUCER}:{resource}"


def test_the_example_fits_a_managed_policy() -> None:
    """IAM counts a managed policy's characters without white space: 6,144 at most."""
    for alias in ("producer", "consumer"):
        policy = operator_policy(parse_config(example_document()), alias)
        assert len(json.dumps(policy, separators=(",", ":"))) <= 6144
    assert size_warning("producer", policy) is None


def test_a_policy_over_a_quota_is_said_with_what_to_do() -> None:
    """The longest set-up name already overflows a managed policy; many databases overflow
    a role's inline policies too. `permissions` warns (tests/cli/test_cli.py)."""
    long_name = example_document()
    long_name["name"] = "demo-longer-setup-name-x"  # 24 characters, the most allowed
    policy = operator_policy(parse_config(long_name), "producer")
    size = policy_size(policy)
    assert 6144 < size <= 10240
    assert size_warning("producer", policy) == (
        f"the producer policy is {size:,} characters without white space, over IAM's 6,144 for "
        "a managed policy: attach it as the role's inline policy (up to 10,240) or split its "
        "statements over two managed policies"
    )

    many = example_document()
    for i in range(40):
        table = copy.deepcopy(many["tables"][0])
        table.update(name=f"inv{i}", database=f"retail_database_number_{i}")
        table["location"] = f"s3://smus-mesh-demo-retail-{PRODUCER}/inv{i}/"
        many["tables"].append(table)
    policy = operator_policy(parse_config(many), "producer")
    size = policy_size(policy)
    assert size > 10240
    assert size_warning("producer", policy) == (
        f"the producer policy is {size:,} characters without white space, over IAM's 6,144 for "
        "a managed policy and 10,240 for a role's inline policies: split its statements over "
        "two or more managed policies"
    )
