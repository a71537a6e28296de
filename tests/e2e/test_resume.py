"""`up` killed for real at a point, then run again: it converges with no duplicate, the
consumer's query returns the rows, a further `up` changes nothing, and `down` leaves both
accounts exactly as they were (issue 3.4, issue 5.2 and 5.4).

Each case is one kill, one resumed `up`, one further `up` and one `down`, so the `down`
from a set-up that was interrupted and then resumed is proven by the same run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from smus_mesh.collaboration import Collaboration
from smus_mesh.engine.state import State
from smus_mesh.engine.workspace import Workspace
from tests.e2e.conftest import Deployed, example_document
from tests.e2e.helpers import (
    CONVERGED,
    KILL_POINTS,
    assert_inventory_unchanged,
    count_setup,
    last_seq,
    mutating_calls,
    run_up_killed_at,
)
from tests.support import CONSUMER_ACCOUNT, DOMAIN_ACCOUNT, Cloud

#: `up`'s last mutating call among the kill points.
LAST_MUTATING_CALL = "AcceptSubscriptionRequest"

EXPECTED_ROWS = [["faro", "120"], ["lisbon", "450"], ["porto", "4295"]]


@pytest.mark.slow
@pytest.mark.parametrize(("operation", "occurrence"), KILL_POINTS, ids=[p[0] for p in KILL_POINTS])
def test_up_killed_then_resumed_converges_without_duplicates_and_down_cleans_up(
    cloud: Cloud,
    make_workspace: Callable[..., Workspace],
    write_config: Callable[[dict[str, Any]], Path],
    tmp_path: Path,
    operation: str,
    occurrence: int,
) -> None:
    document = example_document()
    config = write_config(document)
    state = tmp_path / "state.json"
    before = cloud.inventory()

    kill = run_up_killed_at(cloud, config, state, operation, occurrence)
    print(f"\n{kill.describe()}")

    resumed_since = last_seq(cloud)
    resumed = make_workspace(document, state).up()
    assert resumed.ok, [f.message for f in resumed.failures]
    acted = {r.action for r in resumed.results} - {"keep"}
    if operation == LAST_MUTATING_CALL:
        # What the kill left was waiting for the grants, which AWS (and the emulator, ADR 3)
        # completes on its own: the resumed run only reads. Whether the grants are done when it
        # looks depends on how soon it looks; if not, the subscription (and nothing else) waits.
        waited = {r.key.split("/", 1)[0] for r in resumed.results if r.action == "wait"}
        assert (acted - {"wait"}, mutating_calls(cloud, resumed_since)) == (set(), [])
        assert waited <= {"datazone:subscription-grant"}, waited
    else:
        assert acted, "the kill came after the last step"
    assert count_setup(cloud, document["domain"]["name"]) == CONVERGED

    results = Collaboration(make_workspace(document, state)).run_checks()
    assert [(r.ok, r.rows, r.message) for r in results] == [(True, EXPECTED_ROWS, "")]

    since = last_seq(cloud)
    again = make_workspace(document, state).up()
    assert again.ok, [f.message for f in again.failures]
    assert mutating_calls(cloud, since) == []

    down, leftovers = make_workspace(document, state).down()
    assert down.ok, [f.message for f in down.failures]
    assert leftovers.count() == 0, leftovers.to_dict()
    assert_inventory_unchanged(before, cloud.inventory(), f"down after a kill at {operation}")
    assert not state.exists()


def test_up_repairs_a_role_left_without_its_policies_with_only_the_missing_calls(
    cloud: Cloud, make_workspace: Callable[..., Workspace], deployed_example: Deployed
) -> None:
    """A run killed between CreateRole and AttachRolePolicy leaves a role of ours with the
    right trust policy and no permissions; the next `up` attaches what is missing and
    touches nothing else (the trust policy, with sts:TagSession and sts:SetContext, is
    not rewritten)."""
    state = deployed_example.state
    iam = cloud.client("iam", DOMAIN_ACCOUNT)
    role = "AmazonSageMakerDomainExecution-demo"
    trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    (policy,) = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    iam.detach_role_policy(RoleName=role, PolicyArn=policy["PolicyArn"])

    plan = make_workspace(state=state).plan()
    assert [(s.key, s.action.value, s.drift) for s in plan.changes()] == [
        ("iam:role/domain-execution", "update", ("missing policies " + policy["PolicyName"],))
    ]
    since = last_seq(cloud)
    report = make_workspace(state=state).up()
    assert report.ok, [f.message for f in report.failures]
    assert mutating_calls(cloud, since) == ["iam:AttachRolePolicy (111111111111)"]
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == [policy]
    assert iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"] == trust


def test_up_killed_between_create_bucket_and_its_tagging_finishes_the_bucket(
    cloud: Cloud,
    make_workspace: Callable[..., Workspace],
    write_config: Callable[[dict[str, Any]], Path],
    tmp_path: Path,
) -> None:
    """S3 tags a bucket only after CreateBucket, so a run can die with a bucket of its own
    that carries no mark. The kill cannot be timed into that window from outside, so the
    window is made by hand: the run is killed after CreateBucket, then the buckets it made
    lose their tags and public access block. The state file remembers they are ours: the
    resumed `up` finishes them and `down` removes them."""
    document = example_document()
    state = tmp_path / "state.json"
    before = cloud.inventory()
    run_up_killed_at(cloud, write_config(document), state, "CreateBucket")
    stripped = []
    for account in (DOMAIN_ACCOUNT, CONSUMER_ACCOUNT):
        s3 = cloud.client("s3", account)
        for bucket in s3.list_buckets()["Buckets"]:
            s3.delete_bucket_tagging(Bucket=bucket["Name"])
            s3.delete_public_access_block(Bucket=bucket["Name"])
            stripped.append((account, bucket["Name"]))
    assert stripped

    resumed = make_workspace(document, state).up()
    assert resumed.ok, [f.message for f in resumed.failures]
    setup_id = State.load(state, "demo").setup_id
    assert setup_id
    for account, bucket in stripped:
        s3 = cloud.client("s3", account)
        assert {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]} == {
            "smus-mesh:setup": "demo",
            "smus-mesh:setup-id": setup_id,
            "smus-mesh:managed-by": "smus-mesh",
        }
        settings = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        assert set(settings.values()) == {True}, (bucket, settings)

    down, leftovers = make_workspace(document, state).down()
    assert down.ok, [f.message for f in down.failures]
    assert leftovers.count() == 0, leftovers.to_dict()
    assert_inventory_unchanged(before, cloud.inventory(), "down after a bucket left untagged")
