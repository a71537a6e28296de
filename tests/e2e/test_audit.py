"""`audit` (issue 5.3): what of the set-up, or of DataZone's leftovers for it, exists in each
account, found with AWS APIs only; and the CLI around it and `down` (exit codes, the
confirmation, the plan shown before deleting).

The audit is checked against the emulator's own inventory: everything `up` added is
listed under its class, and nothing else is.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from smus_mesh.cli import app
from smus_mesh.engine.workspace import Workspace
from smus_mesh.inventory import Inventory
from tests.e2e.conftest import Deployed, example_document
from tests.e2e.helpers import (
    assert_inventory_unchanged,
    inventory_diff,
    last_seq,
    mutating_calls,
    run_up_killed_at,
)
from tests.emulator.datazone_setup import make_lake_formation_admin, org_role
from tests.support import CONSUMER_ACCOUNT, DOMAIN_ACCOUNT, Cloud

ALIASES = {DOMAIN_ACCOUNT: "producer", CONSUMER_ACCOUNT: "consumer"}


def _identifier(cls: str, item: Any) -> str:
    """How the audit names an inventory item of `cls`."""
    if cls in ("cloudformation_stacks", "ram_shares"):
        return str(item["name"])
    if cls == "datazone":
        return str(item["id"])
    if cls == "lakeformation_permissions":
        return str(item["principal"])
    return str(item)


def _added(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    """Per alias and class, the identifiers of what `after` has beyond `before` (sorted;
    a Lake Formation principal appears once per grant)."""
    added: dict[str, dict[str, list[str]]] = {}
    for account, classes in inventory_diff(before, after).items():
        for cls, change in classes.items():
            if cls in ("iam_policies", "s3_objects"):  # not classes the audit lists
                continue
            # IAM_ALLOWED_PRINCIPALS on the projects' databases is Lake Formation's
            # default, gone with the database; the audit lists grants to principals.
            names = sorted(
                name
                for name in (_identifier(cls, json.loads(item)) for item in change["+"])
                if name != "IAM_ALLOWED_PRINCIPALS"
            )
            if names:
                added.setdefault(ALIASES[account], {})[cls] = names
    return added


def _listed(inventory: Inventory) -> dict[str, dict[str, list[str]]]:
    """The audit's findings in the same form as `_added` (a grant by its principal)."""
    listed: dict[str, dict[str, list[str]]] = {}
    for alias, classes in inventory.accounts.items():
        for cls, findings in classes.items():
            names = sorted(
                f.id.split(" ", 1)[0] if cls == "lakeformation_permissions" else f.id
                for f in findings
            )
            if names:
                listed.setdefault(alias, {})[cls] = names
    return listed


def test_audit_lists_the_setup_then_the_orphans_of_a_deleted_domain_and_down_removes_them(
    cloud: Cloud, make_workspace: Callable[..., Workspace], deployed_example: Deployed
) -> None:
    state, before = deployed_example.state, deployed_example.before

    def workspace() -> Workspace:
        return make_workspace(state=state)

    audit = workspace().audit()
    listed = _listed(audit)
    assert listed == _added(before, cloud.inventory())
    assert set(listed["producer"]) == {
        "iam_roles",
        "s3_buckets",
        "glue_databases",
        "glue_tables",
        "athena_workgroups",
        "cloudformation_stacks",
        "codecommit_repositories",
        "lakeformation_permissions",
        "lakeformation_resources",
        "lakeformation_admins",
        "ram_shares",
        "datazone",
    }
    assert set(listed["consumer"]) == {
        "iam_roles",
        "s3_buckets",
        "glue_databases",
        "glue_tables",
        "athena_workgroups",
        "cloudformation_stacks",
        "codecommit_repositories",
        "lakeformation_permissions",
    }

    # The domain goes without its projects: DataZone leaves their environments behind.
    datazone = cloud.client("datazone", DOMAIN_ACCOUNT)
    [domain_id] = listed["producer"]["datazone"]
    datazone.delete_domain(identifier=domain_id, skipDeletionCheck=True)
    deadline = time.monotonic() + 30
    while any(d["status"] != "DELETED" for d in datazone.list_domains()["items"]):
        assert time.monotonic() < deadline, datazone.list_domains()["items"]
        time.sleep(0.01)

    orphans = workspace().audit()
    for alias in ("producer", "consumer"):
        classes = orphans.accounts[alias]
        assert classes["datazone"] == []
        for cls, prefix in (
            ("cloudformation_stacks", "DataZone-Env-"),
            ("athena_workgroups", "workgroup-"),
            ("codecommit_repositories", "datazone-"),
            ("iam_roles", "datazone_usr_role_"),
        ):
            found = [f for f in classes[cls] if f.id.startswith(prefix)]
            assert found, (alias, cls, classes[cls])
            assert {f.why.split(" (")[0] for f in found} == {
                f"DataZone {'role' if cls == 'iam_roles' else 'resource'} of domain {domain_id}"
            }
        # Its projects' databases: attributed through our project ids (the project
        # role's grant on the database), the domain being gone (never by name alone).
        [database] = [f for f in classes["glue_databases"] if f.id == f"demo_{alias}"]
        assert database.why.startswith("the database of project "), database
        assert database.why.removeprefix("the database of project ") in {
            f.id.removeprefix("datazone_usr_role_").split("_", 1)[0]
            for f in classes["iam_roles"]
            if f.id.startswith("datazone_usr_role_")
        }
    assert len(orphans.accounts["producer"]["cloudformation_stacks"]) == 2
    assert len(orphans.accounts["consumer"]["cloudformation_stacks"]) == 2

    report, leftovers = workspace().down()
    assert report.ok, [f.message for f in report.failures]
    assert leftovers.count() == 0, leftovers.to_dict()
    assert_inventory_unchanged(before, cloud.inventory(), "down after the domain was deleted")


def test_cli_audit_and_down_exit_codes_confirmation_and_plan(
    cloud: Cloud,
    fast_polling: None,
    write_config: Callable[[dict[str, Any]], Path],
    tmp_path: Path,
) -> None:
    """On a set-up stopped half-way (roles, domain, share, ...): `audit` exits 1 and
    lists it; `down` without --yes and without a terminal refuses (exit 2) and deletes
    nothing; with --yes it shows what it deletes first; then `audit` exits 0."""
    config = write_config(example_document())
    state = tmp_path / "state.json"
    before = cloud.inventory()
    run_up_killed_at(cloud, config, state, "CreateResourceShare")
    runner = CliRunner()
    env = {"COLUMNS": "250"}
    options = ["-c", str(config), "--state", str(state)]

    found = runner.invoke(app, [*options, "--output", "json", "audit"], env=env)
    assert found.exit_code == 1, found.output
    audit = json.loads(found.stdout)
    assert audit["leftovers"] > 0
    producer = audit["accounts"]["producer"]
    assert producer["account_id"] == DOMAIN_ACCOUNT
    # What the share needed exists for sure (the rest may or may not have been made yet).
    assert {f["id"] for f in producer["iam_roles"]} >= {
        "AmazonSageMakerDomainExecution-demo",
        "AmazonSageMakerDomainService-demo",
    }
    assert [f["class"] for f in producer["datazone"]] == ["datazone"]
    assert [f["id"] for f in producer["ram_shares"]] == [
        f"DataZone-smus-mesh-demo-{producer['datazone'][0]['id']}-{CONSUMER_ACCOUNT}"
    ]
    assert {f["id"] for f in producer["s3_buckets"]} <= {
        "amazon-sagemaker-111111111111-us-east-1-demo",
        "smus-mesh-demo-retail-111111111111",
    }
    assert audit["by_class"]["iam_roles"] == len(producer["iam_roles"]) + len(
        audit["accounts"]["consumer"]["iam_roles"]
    )

    since = last_seq(cloud)
    refused = runner.invoke(app, [*options, "down"], env=env)
    assert refused.exit_code == 2, refused.output
    assert "down deletes resources; confirm with --yes when not interactive" in refused.stderr
    assert "delete" in refused.stdout and "datazone:domain/domain" in refused.stdout
    assert mutating_calls(cloud, since) == []

    done = runner.invoke(app, [*options, "down", "--yes"], env=env)
    assert done.exit_code == 0, done.output
    shown = done.stdout.index("down plan:")
    assert done.stdout.index("datazone:domain/domain") > shown
    assert done.stdout.index("down finished") > done.stdout.index("datazone:domain/domain")
    assert "audit: nothing of the set-up is left in producer (111111111111)" in done.stdout

    clean = runner.invoke(app, [*options, "audit"], env=env)
    assert clean.exit_code == 0, clean.output
    assert "audit: nothing of the set-up is left in" in clean.stdout
    assert_inventory_unchanged(before, cloud.inventory(), "CLI down --yes")


def test_audit_attributes_a_project_database_through_its_environment(
    cloud: Cloud, make_workspace: Callable[..., Workspace], deployed_example: Deployed
) -> None:
    """With the project role's grant on its database revoked (plain boto3), the live
    domain's environment of the consumer project still reports the database as its own
    (`provisionedResources` `glueDBName`): `audit` lists it, with the project's id."""
    make_lake_formation_admin(cloud, CONSUMER_ACCOUNT, org_role(CONSUMER_ACCOUNT))
    lakeformation = cloud.client("lakeformation", CONSUMER_ACCOUNT)
    resource = {"Database": {"CatalogId": CONSUMER_ACCOUNT, "Name": "demo_consumer"}}
    grants = lakeformation.list_permissions(Resource=resource)["PrincipalResourcePermissions"]
    revoked = [
        g
        for g in grants
        if g["Principal"]["DataLakePrincipalIdentifier"]
        .split("/")[-1]
        .startswith("datazone_usr_role_")
    ]
    assert revoked, grants
    for grant in revoked:
        lakeformation.revoke_permissions(
            Principal=grant["Principal"],
            Resource=resource,
            Permissions=grant["Permissions"],
            PermissionsWithGrantOption=grant.get("PermissionsWithGrantOption", []),
        )
    project_id = (
        revoked[0]["Principal"]["DataLakePrincipalIdentifier"]
        .split("/")[-1]
        .removeprefix("datazone_usr_role_")
        .split("_", 1)[0]
    )

    audit = make_workspace(state=deployed_example.state).audit()
    [database] = [f for f in audit.accounts["consumer"]["glue_databases"]]
    assert (database.id, database.why) == ("demo_consumer", f"the database of project {project_id}")
