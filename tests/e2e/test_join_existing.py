"""Existing project profiles and the members of existing projects named in the config, in
a joined domain (issue 15.1, ADR 26).

The domain's owner makes, with plain boto3 as AWS's docs describe it
(`tests/emulator/datazone_setup.build_mesh`), a domain, both accounts' blueprint
configurations and grants, a project profile pinned to each account and two projects.
A neighbour set-up (`other`) joins it with profiles of its own; then `demo` joins it and
makes both its projects from the owner's profiles (one named by name, one by id): the
profiles are shown as joined (not ours) by `plan`, `status`, `diagram` and `outputs`,
never changed, and `down` leaves them and everything else of the owner's (and `other`)
exactly as they were. A profile that does not exist, or that cannot serve the project
the config makes from it, is refused before any change. Members the config gives the
owner's project are added, and `down` removes only those the set-up added.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from smus_mesh.cli import app
from smus_mesh.collaboration import Collaboration
from smus_mesh.config import parse_config
from smus_mesh.diagram import observe_mesh, to_svg
from smus_mesh.engine.plan import JOINED, Action
from smus_mesh.errors import ConfigError, UserError
from tests.e2e.conftest import SetUpOnce, example_document
from tests.e2e.helpers import inventory_diff, last_seq
from tests.e2e.test_join_domain import (
    CLI_ENV,
    EXPECTED_ROWS,
    FOREIGN_MUTATIONS,
    _ours_only,
    foreign_parts,
    joined_document,
    owner_and_joined_neighbour,
    workspace,
)
from tests.emulator.datazone_setup import build_mesh
from tests.emulator.datazone_support import (
    associate_account,
    create_domain,
    create_profile,
    enable_blueprints,
    member_client,
    user_session,
)
from tests.support import CONSUMER_ACCOUNT, DOMAIN_ACCOUNT, Cloud

#: What would make, change or delete a project profile: `demo` makes none of them.
PROFILE_MUTATIONS = ("CreateProjectProfile", "UpdateProjectProfile", "DeleteProjectProfile")

PRODUCER_PROFILE = "datazone:project-profile/existing/producer"


def with_profiles(document: dict[str, Any], producer: Any, consumer: Any) -> dict[str, Any]:
    """`document` with its producer and consumer projects made from existing profiles."""
    document["projects"][0]["profile"] = producer
    document["projects"][1]["profile"] = consumer
    return document


def test_a_set_up_uses_the_owners_profiles_and_leaves_them_as_they_were(
    cloud: Cloud, tmp_path: Path, fast_polling: None, set_up_once: SetUpOnce
) -> None:
    other_state, demo_state = tmp_path / "other.json", tmp_path / "demo.json"
    # The owner's domain and `other` joined to it: shared with test_join_domain (ADR 38).
    owner = owner_and_joined_neighbour(cloud, set_up_once, other_state)
    mesh, profile_ids, foreign_before = owner.mesh, owner.profile_ids, owner.parts
    datazone = mesh.datazone()
    other = joined_document(mesh.domain_id, "other")

    before = cloud.inventory()
    seq = last_seq(cloud)
    demo = with_profiles(
        joined_document(mesh.domain_id),
        {"name": "producer"},
        {"id": profile_ids["consumer"]},
    )
    consumer_profile = f"datazone:project-profile/existing/{profile_ids['consumer']}"

    plan = workspace(demo, demo_state).plan()
    steps = {s.key: s for s in plan.steps}
    for key in (PRODUCER_PROFILE, consumer_profile):
        assert (steps[key].action, steps[key].reason) == (Action.KEEP, JOINED)
    # No profile of its own: every project is made from one of the owner's.
    assert [k for k in steps if k.startswith("datazone:project-profile/")] == [
        PRODUCER_PROFILE,
        consumer_profile,
    ]
    assert steps["datazone:policy-grant/profile/existing/producer"].action == Action.CREATE

    report = workspace(demo, demo_state).up()
    assert report.ok, [f.message for f in report.failures]
    results = Collaboration(workspace(demo, demo_state)).run_checks()
    assert [(r.ok, r.rows) for r in results] == [(True, EXPECTED_ROWS)]
    assert [s.key for s in workspace(demo, demo_state).plan().changes()] == []

    outputs = workspace(demo, demo_state).outputs()
    for project, name in (("demo-producer", "producer"), ("demo-consumer", "consumer")):
        made = datazone.get_project(
            domainIdentifier=mesh.domain_id, identifier=outputs["projects"][project]["id"]
        )
        assert made["projectProfileId"] == profile_ids[name]
        assert outputs["projects"][project]["profile"] == {
            "id": profile_ids[name],
            "name": name,
            "joined": True,
        }
        assert outputs["projects"][project]["joined"] is False
    status = {row["key"]: row for row in workspace(demo, demo_state).status()}
    assert status[PRODUCER_PROFILE]["owned"] is False
    assert status[PRODUCER_PROFILE]["detail"] == (
        "ENABLED; joined: an existing project profile (not ours)"
    )
    mesh_drawn = observe_mesh(workspace(demo, demo_state))
    node = next(n for n in mesh_drawn.nodes if n.key == PRODUCER_PROFILE)
    assert (node.joined, node.owned, node.action) == (True, False, "keep")
    svg = to_svg(mesh_drawn)
    box = svg[svg.index(f'data-key="{PRODUCER_PROFILE}"') :].split("</g>", 1)[0]
    assert "project profile: existing/producer" in box
    assert "COMPLETE · joined, not ours" in box

    down_plan, _, _ = workspace(demo, demo_state).down_plan()
    for key in (PRODUCER_PROFILE, consumer_profile):
        assert down_plan.step(key).action == Action.KEEP
        assert down_plan.step(key).reason == f"{JOINED}; left as it was"
    down, leftovers = workspace(demo, demo_state).down()
    assert down.ok, [f.message for f in down.failures]
    assert leftovers.count() == 0, leftovers.to_dict()
    assert workspace(demo, demo_state).audit().count() == 0

    after = cloud.inventory()
    assert inventory_diff(before, after) == {}, json.dumps(inventory_diff(before, after), indent=1)
    calls = [c for c in cloud.calls() if int(c["seq"]) > seq and c["mutating"]]
    touched = Counter(
        c["operation"] for c in calls if c["operation"] in FOREIGN_MUTATIONS + PROFILE_MUTATIONS
    )
    assert touched == Counter(), touched
    # The grants `demo` added to use the profiles were its own, and went with `down`.
    assert Counter(c["operation"] for c in calls if "PolicyGrant" in c["operation"]) == Counter(
        {"AddPolicyGrant": 2, "RemovePolicyGrant": 2}
    )
    setups = ("other-", "demo-")
    assert _ours_only(foreign_parts(cloud, mesh), setups) == _ours_only(foreign_before, setups)

    # The neighbour still works and has nothing to do.
    assert [s.key for s in workspace(other, other_state).plan().changes()] == []
    down, leftovers = workspace(other, other_state).down()
    assert down.ok and leftovers.count() == 0, leftovers.to_dict()
    assert foreign_parts(cloud, mesh) == foreign_before


def _owner_domain(cloud: Cloud, consumer_mode: str = "ON_CREATE") -> dict[str, Any]:
    """A domain with both accounts' blueprints and a profile pinned to each (no projects):
    `producer` (the domain account) and `consumer` (its Lakehouse `consumer_mode`)."""
    domain = create_domain(cloud)
    producer = enable_blueprints(cloud, domain, DOMAIN_ACCOUNT)
    associate_account(cloud, domain, CONSUMER_ACCOUNT)
    consumer = enable_blueprints(cloud, domain, CONSUMER_ACCOUNT)
    create_profile(cloud, domain, producer, "producer")
    create_profile(cloud, domain, consumer, "consumer", mode=consumer_mode)
    return domain


@pytest.mark.parametrize(
    ("consumer_profile", "mode", "message"),
    [
        (
            {"name": "nobody-made-this"},
            "ON_CREATE",
            "projects[1].profile: no project profile of name 'nobody-made-this' in the joined "
            "domain {domain} ({domain}); profile names an existing one",
        ),
        (
            {"id": "prof404"},
            "ON_CREATE",
            "projects[1].profile: no project profile of id prof404 in the joined domain "
            "{domain} ({domain}); profile names an existing one",
        ),
        (
            {"name": "producer"},
            "ON_CREATE",
            "projects[1].profile: the project profile producer ({producer}) deploys its "
            "environment 'Tooling' into account 111111111111, not 222222222222 (consumer) "
            "where the config puts project 'demo-consumer'",
        ),
        (
            {"name": "consumer"},
            "ON_DEMAND",
            "projects[1].profile: the project profile consumer ({consumer}) has no DataLake "
            "environment deployed when a project is created (ON_CREATE); smus-mesh's "
            "projects need both",
        ),
    ],
    ids=["no-such-name", "no-such-id", "another-account", "on-demand-lakehouse"],
)
def test_a_profile_that_cannot_serve_the_project_is_refused_before_any_change(
    cloud: Cloud,
    tmp_path: Path,
    fast_polling: None,
    consumer_profile: dict[str, str],
    mode: str,
    message: str,
) -> None:
    domain = _owner_domain(cloud, mode)
    ids = {
        p["name"]: p["id"]
        for p in cloud.client("datazone", DOMAIN_ACCOUNT).list_project_profiles(
            domainIdentifier=domain["id"]
        )["items"]
    }
    document = with_profiles(joined_document(domain["id"]), {"name": "producer"}, consumer_profile)
    expected = message.format(domain=domain["id"], **ids)
    key = f"datazone:project-profile/existing/{consumer_profile.get('name') or 'prof404'}"
    seq = int(cloud.calls()[-1]["seq"])

    with pytest.raises(UserError) as raised:
        workspace(document, tmp_path / "state.json").up()
    assert raised.value.exit_code == 2
    assert str(raised.value) == f"refused, nothing was changed: {key}: {expected}"
    assert [c for c in cloud.calls() if int(c["seq"]) > seq and c["mutating"]] == []

    # The CLI: exit 2, the message, and no change either.
    path = tmp_path / "joined.yaml"
    path.write_text(yaml.safe_dump(document))
    args = ["-c", str(path), "--state", str(tmp_path / "state.json"), "up", "--yes"]
    result = CliRunner().invoke(app, args, env=CLI_ENV)
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: refused, nothing was changed: {key}: {expected}\n"
    assert [c for c in cloud.calls() if int(c["seq"]) > seq and c["mutating"]] == []
    # `plan` shows it blocked, with the same reason.
    step = workspace(document, tmp_path / "state.json").plan().step(key)
    assert (step.action, step.reason) == (Action.BLOCKED, f"not this set-up's: {expected}")


@pytest.mark.parametrize(
    ("domain", "profile", "existing", "problems"),
    [
        (
            None,
            {"name": "corp"},
            False,
            [
                (
                    "projects[1].profile",
                    "an existing project profile needs a joined domain (domain.id, or "
                    "domain.existing: true); a domain smus-mesh creates has no profiles yet",
                )
            ],
        ),
        (
            {"id": "dzd_abc", "account": "producer"},
            {"name": "corp"},
            True,
            [
                (
                    "projects[1].profile",
                    "an existing project has its profile already: drop profile (or existing)",
                )
            ],
        ),
        (
            {"id": "dzd_abc", "account": "producer"},
            {"name": "corp", "id": "abc"},
            False,
            [("projects[1].profile", "give either name or id of an existing project profile")],
        ),
        (
            {"id": "dzd_abc", "account": "producer"},
            {"id": "a b"},
            False,
            [
                (
                    "projects[1].profile.id",
                    "expected a project profile id: 1-36 letters, digits, '_' or '-', got 'a b'",
                )
            ],
        ),
    ],
    ids=["created-domain", "existing-project", "name-and-id", "bad-id"],
)
def test_a_named_profile_is_validated_with_paths(
    domain: dict[str, Any] | None,
    profile: dict[str, str],
    existing: bool,
    problems: list[tuple[str, str]],
) -> None:
    document = example_document()
    if domain is not None:
        document["domain"] = domain
    document["projects"][1]["profile"] = profile
    if existing:
        document["projects"][1]["existing"] = True
    with pytest.raises(ConfigError) as raised:
        parse_config(document, "test config")
    assert raised.value.problems == problems


def _memberships(cloud: Cloud, domain_id: str, project_id: str) -> dict[str, str]:
    """A project's members (DataZone user or group profile id -> designation)."""
    members = cloud.client("datazone", DOMAIN_ACCOUNT).list_project_memberships(
        domainIdentifier=domain_id, projectIdentifier=project_id
    )["members"]
    return {json.dumps(m["memberDetails"], sort_keys=True): m["designation"] for m in members}


def test_members_of_an_existing_project_are_added_and_only_those_removed(
    cloud: Cloud, tmp_path: Path, fast_polling: None
) -> None:
    """`projects[].members` on the owner's project (`existing: true`): `up` adds the members
    it lacks; one the owner made a member already is left as it is (not ours), and `down`
    removes only what `up` added."""
    mesh = build_mesh(cloud)
    datazone = mesh.datazone()
    producer = {"id": mesh.producer.id}
    steward, _ = member_client(cloud, mesh.domain, producer, "steward", "PROJECT_CATALOG_STEWARD")
    analyst, _ = user_session(cloud, "analyst")
    # The owner registered the analyst with the domain (user profiles cannot be deleted).
    datazone.create_user_profile(
        domainIdentifier=mesh.domain_id, userIdentifier=analyst, userType="IAM_ROLE"
    )
    members_before = _memberships(cloud, mesh.domain_id, mesh.producer.id)
    before = cloud.inventory()

    document = joined_document(mesh.domain_id)
    document["projects"][0].update(
        name="producer",
        existing=True,
        members=[
            {"user": analyst},
            {"user": steward, "designation": "PROJECT_CATALOG_STEWARD"},
        ],
    )
    state = tmp_path / "state.json"
    analyst_key = f"datazone:project-membership/producer/user/{analyst}"
    steward_key = f"datazone:project-membership/producer/user/{steward}"
    plan = workspace(document, state).plan()
    assert plan.step(analyst_key).action == Action.CREATE
    assert plan.step(steward_key).action == Action.KEEP
    assert plan.step(steward_key).reason == "exists (not ours)"

    report = workspace(document, state).up()
    assert report.ok, [f.message for f in report.failures]
    profile_id = datazone.get_user_profile(domainIdentifier=mesh.domain_id, userIdentifier=analyst)[
        "id"
    ]
    assert _memberships(cloud, mesh.domain_id, mesh.producer.id) == {
        **members_before,
        json.dumps({"user": {"userId": profile_id}}): "PROJECT_CONTRIBUTOR",
    }
    status = {row["key"]: row for row in workspace(document, state).status()}
    assert (status[analyst_key]["owned"], status[steward_key]["owned"]) == (True, False)
    assert [s.key for s in workspace(document, state).plan().changes()] == []

    down_plan, _, _ = workspace(document, state).down_plan()
    assert down_plan.step(analyst_key).action == Action.DELETE
    assert down_plan.step(steward_key).action == Action.KEEP
    down, leftovers = workspace(document, state).down()
    assert down.ok, [f.message for f in down.failures]
    assert leftovers.count() == 0, leftovers.to_dict()
    assert _memberships(cloud, mesh.domain_id, mesh.producer.id) == members_before
    after = cloud.inventory()
    assert inventory_diff(before, after) == {}, json.dumps(inventory_diff(before, after), indent=1)


def test_down_ignoring_the_state_in_a_joined_domain_refuses_and_says_how_to_finish(
    cloud: Cloud, tmp_path: Path, fast_polling: None, set_up_once: SetUpOnce
) -> None:
    """Without its state file a joined set-up cannot tell its DataZone objects from the
    owner's or a namesake's (ADR 26): `down --ignore-state` changes nothing, lists what it
    found by the set-up's names (not the owner's parts, not the neighbour's), and says how
    to finish; with the state file restored, `down` removes exactly the set-up's part."""
    other_state, demo_state = tmp_path / "other.json", tmp_path / "demo.json"
    # The owner's domain and `other` joined to it: shared with test_join_domain (ADR 38).
    mesh = owner_and_joined_neighbour(cloud, set_up_once, other_state).mesh
    other = joined_document(mesh.domain_id, "other")
    before = cloud.inventory()
    demo = joined_document(mesh.domain_id)
    demo["projects"][0].update(name="producer", existing=True)  # the owner's
    report = workspace(demo, demo_state).up()
    assert report.ok, [f.message for f in report.failures]
    rows = {row["key"]: row for row in workspace(demo, demo_state).status()}
    saved = demo_state.read_bytes()
    demo_state.unlink()

    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(demo))
    seq = last_seq(cloud)
    args = ["-c", str(path), "--state", str(demo_state), "down", "--yes", "--ignore-state"]
    result = CliRunner().invoke(app, args, env=CLI_ENV)
    assert result.exit_code == 2, result.output
    assert [c for c in cloud.calls() if int(c["seq"]) > seq and c["mutating"]] == []
    head, _, rest = result.stderr.partition(":\n  ")
    listed, _, tail = rest.partition("\nTo finish: ")
    assert head == (
        f"error: down --ignore-state cannot tell what this set-up made in the joined domain "
        f"{mesh.domain_id}: DataZone objects carry no mark of a set-up, and the set-up id on "
        "its roles and buckets is kept in the state file alone (ADR 26). Nothing was changed. "
        "Found by the set-up's names"
    )
    lines = {line.split(" ", 1)[0].rstrip(":"): line for line in listed.split("\n  ")}
    profile, project = "datazone:project-profile/consumer", "datazone:project/demo-consumer"
    assert lines[profile] == (
        f"{profile} ({rows[profile]['identity']['id']}): a project profile of the set-up's name"
    )
    assert lines[project] == (
        f"{project} ({rows[project]['identity']['id']}): a project of the config's name"
    )
    # The set-up's own parts only: not the owner's project, configurations or grants.
    assert sorted(lines) == sorted(
        key
        for key, row in rows.items()
        if (
            row["status"] != "ABSENT"
            and key.split("/", 1)[0] in ("iam:role", "s3:bucket", "glue:database", "glue:table")
        )
        or key in (profile, project)
    )
    assert tail == (
        f"restore the state file {demo_state} (from a backup) and run `smus-mesh down`; or "
        "remove by hand those of these that are this set-up's (DataZone's DeleteProject, "
        "DeleteProjectProfile, DeleteEnvironmentBlueprintConfiguration, "
        "DeleteProjectMembership; then the roles, buckets and Glue databases), and run "
        "`smus-mesh down "
        "--ignore-state` again\n"
    )

    # `audit` finds nothing it can attribute, and says that this proves nothing.
    audit = CliRunner().invoke(app, [*args[:4], "audit", "--no-expect-empty"], env=CLI_ENV)
    assert audit.exit_code == 0, audit.output
    assert (
        f"without this set-up's state file ({demo_state}) nothing of it in the joined domain "
        f"{mesh.domain_id} can be attributed (its DataZone objects, roles and buckets), so an "
        "empty audit proves nothing (ADR 26); `smus-mesh down --ignore-state` lists what "
        "exists under the set-up's names"
    ) in " ".join(audit.stderr.split())

    # As it says: with the state file back, `down` removes the set-up's part alone.
    demo_state.write_bytes(saved)
    down, leftovers = workspace(demo, demo_state).down()
    assert down.ok, [f.message for f in down.failures]
    assert leftovers.count() == 0, leftovers.to_dict()
    assert inventory_diff(before, cloud.inventory()) == {}
    # Nothing of the set-up's names left: `down --ignore-state` has nothing to refuse, and
    # leaves the owner's and the neighbour's parts as they are.
    result = CliRunner().invoke(app, args, env=CLI_ENV)
    assert result.exit_code == 0, result.output
    assert inventory_diff(before, cloud.inventory()) == {}
    assert [s.key for s in workspace(other, other_state).plan().changes()] == []
