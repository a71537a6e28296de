"""The emulator inventory: what exists per account and class, as a pure, comparable read."""

from __future__ import annotations

import json
from typing import Any

import pytest

from smus_mesh_emulator.inventory import CLASSES
from tests.emulator.datazone_support import create_domain, create_role
from tests.support import BASE_ACCOUNT, CONSUMER_ACCOUNT, DOMAIN_ACCOUNT, Cloud

IAM_ALLOWED_PRINCIPALS = "IAM_ALLOWED_PRINCIPALS"
#: The tests' own role in each account; as a data lake admin it may grant.
ORG_ROLE = "arn:aws:iam::{account}:role/OrganizationAccountAccessRole"

STACK_TEMPLATE = json.dumps(
    {
        "Resources": {
            "Database": {
                "Type": "AWS::Glue::Database",
                "Properties": {
                    "CatalogId": {"Ref": "AWS::AccountId"},
                    "DatabaseInput": {"Name": "stack_db"},
                },
            },
            "Warehouse": {
                "Type": "AWS::RedshiftServerless::Namespace",
                "Properties": {"NamespaceName": "inv-namespace"},
            },
            "Compute": {
                "Type": "AWS::RedshiftServerless::Workgroup",
                "Properties": {
                    "WorkgroupName": "inv-workgroup",
                    "NamespaceName": {"Ref": "Warehouse"},
                },
            },
        }
    }
)


def empty() -> dict[str, list[Any]]:
    return {name: [] for name in CLASSES}


def explicit_grants(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Grants made by hand (a new database or table may also carry the account's default
    IAM_ALLOWED_PRINCIPALS grant, which belongs to that object)."""
    return [i for i in items if i["principal"] != IAM_ALLOWED_PRINCIPALS]


def build_consumer_resources(cloud: Cloud) -> str:
    """One resource of every class in the consumer account; returns the role ARN."""
    role_arn = create_role(cloud, CONSUMER_ACCOUNT, "app-role")
    iam = cloud.client("iam", CONSUMER_ACCOUNT)
    iam.create_policy(
        PolicyName="app-policy",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
            }
        ),
    )
    s3 = cloud.client("s3", CONSUMER_ACCOUNT)
    s3.create_bucket(Bucket="inventory-bucket")
    for key in ("sales/1.csv", "sales/2.csv"):
        s3.put_object(Bucket="inventory-bucket", Key=key, Body=b"id\n1\n")
    glue = cloud.client("glue", CONSUMER_ACCOUNT)
    glue.create_database(DatabaseInput={"Name": "sales"})
    glue.create_table(DatabaseName="sales", TableInput={"Name": "orders"})
    cloud.client("athena", CONSUMER_ACCOUNT).create_work_group(Name="wg-inventory")
    cloud.client("cloudformation", CONSUMER_ACCOUNT).create_stack(
        StackName="inventory-stack", TemplateBody=STACK_TEMPLATE
    )
    cloud.client("codecommit", CONSUMER_ACCOUNT).create_repository(repositoryName="inv-repo")
    lakeformation = cloud.client("lakeformation", CONSUMER_ACCOUNT)
    lakeformation.register_resource(
        ResourceArn="arn:aws:s3:::inventory-bucket/sales", RoleArn=role_arn
    )
    admins = [ORG_ROLE.format(account=CONSUMER_ACCOUNT), role_arn]
    lakeformation.put_data_lake_settings(
        DataLakeSettings={"DataLakeAdmins": [{"DataLakePrincipalIdentifier": a} for a in admins]}
    )
    lakeformation.grant_permissions(
        Principal={"DataLakePrincipalIdentifier": role_arn},
        Resource={"Table": {"DatabaseName": "sales", "Name": "orders"}},
        Permissions=["SELECT"],
        PermissionsWithGrantOption=["SELECT"],
    )
    return role_arn


def test_fresh_accounts_report_nothing(cloud: Cloud) -> None:
    # Reading makes Athena's primary workgroup and Lake Formation's default settings
    # appear in moto; they are a fresh account's defaults, not resources.
    cloud.client("athena", CONSUMER_ACCOUNT).list_work_groups()
    cloud.client("lakeformation", CONSUMER_ACCOUNT).get_data_lake_settings()
    cloud.client("iam", DOMAIN_ACCOUNT).list_roles()
    inventory = cloud.inventory()
    assert {BASE_ACCOUNT, DOMAIN_ACCOUNT, CONSUMER_ACCOUNT} <= set(inventory)
    for account, classes in inventory.items():
        assert classes == empty(), account


def test_every_class_is_reported_in_its_own_account(cloud: Cloud) -> None:
    role_arn = build_consumer_resources(cloud)
    domain = create_domain(cloud)
    share_arn = cloud.client("ram", DOMAIN_ACCOUNT).create_resource_share(
        name="inventory-share", resourceArns=[domain["arn"]], principals=[CONSUMER_ACCOUNT]
    )["resourceShare"]["resourceShareArn"]

    inventory = cloud.inventory()
    consumer = inventory[CONSUMER_ACCOUNT]
    consumer["lakeformation_permissions"] = explicit_grants(consumer["lakeformation_permissions"])
    assert consumer == {
        "iam_roles": ["app-role"],
        "iam_policies": ["app-policy"],
        "s3_buckets": ["inventory-bucket"],
        "s3_objects": [{"bucket": "inventory-bucket", "objects": 2}],
        "glue_databases": ["sales", "stack_db"],
        "glue_tables": ["sales.orders"],
        "athena_workgroups": ["wg-inventory"],
        "cloudformation_stacks": [{"name": "inventory-stack", "status": "CREATE_COMPLETE"}],
        "codecommit_repositories": ["inv-repo"],
        "lakeformation_permissions": [
            {
                "catalog": CONSUMER_ACCOUNT,
                "principal": role_arn,
                "resource": {
                    "Table": {
                        "CatalogId": CONSUMER_ACCOUNT,
                        "DatabaseName": "sales",
                        "Name": "orders",
                    }
                },
                "permissions": ["SELECT"],
                "grantable": ["SELECT"],
            }
        ],
        "lakeformation_resources": ["arn:aws:s3:::inventory-bucket/sales"],
        "lakeformation_admins": sorted([role_arn, ORG_ROLE.format(account=CONSUMER_ACCOUNT)]),
        "ram_shares": [],
        "datazone": [],
        "redshift_serverless_namespaces": ["inv-namespace"],
        "redshift_serverless_workgroups": ["inv-workgroup"],
    }

    producer = inventory[DOMAIN_ACCOUNT]
    assert producer["iam_roles"] == ["corp-DomainExecution", "corp-DomainService"]
    assert producer["ram_shares"] == [
        {"arn": share_arn, "name": "inventory-share", "status": "ACTIVE"}
    ]
    [entry] = producer["datazone"]
    assert (entry["id"], entry["name"], entry["status"]) == (domain["id"], "corp", "AVAILABLE")
    assert len(entry["children"]["user_profiles"]) == 1
    assert all(ids == sorted(ids) and ids for ids in entry["children"].values())
    assert {
        k: v for k, v in producer.items() if k not in ("iam_roles", "ram_shares", "datazone")
    } == {k: [] for k in CLASSES if k not in ("iam_roles", "ram_shares", "datazone")}
    assert inventory[BASE_ACCOUNT] == empty()


# The first read of the domain comes after two inventories and three new clients: on a
# loaded machine (load 13 on 2 cores) that took longer than the suite's 1 s grace.
@pytest.mark.first_read_grace(30)
def test_snapshots_are_pure_reads(cloud: Cloud) -> None:
    role = create_role(cloud, DOMAIN_ACCOUNT, "exec")
    datazone = cloud.client("datazone", DOMAIN_ACCOUNT)
    domain_id = datazone.create_domain(name="pending", domainExecutionRole=role)["id"]
    cloud.client("glue", CONSUMER_ACCOUNT).create_database(DatabaseInput={"Name": "fresh"})

    first = cloud.inventory()
    # Lake Formation applies catalog changes lazily, at its next request: the snapshot
    # must not depend on whether one came in between.
    cloud.client("lakeformation", CONSUMER_ACCOUNT).get_data_lake_settings()
    second = cloud.inventory()
    assert first == second
    assert [d["status"] for d in second[DOMAIN_ACCOUNT]["datazone"]] == ["CREATING"]
    # The inventory did not count as a read of the domain: the first client read still
    # sees CREATING, the next one AVAILABLE.
    assert datazone.get_domain(identifier=domain_id)["status"] == "CREATING"
    assert datazone.get_domain(identifier=domain_id)["status"] == "AVAILABLE"


def test_grants_on_dropped_tables_are_not_reported(cloud: Cloud) -> None:
    build_consumer_resources(cloud)
    cloud.client("glue", CONSUMER_ACCOUNT).delete_table(DatabaseName="sales", Name="orders")
    consumer = cloud.inventory()[CONSUMER_ACCOUNT]
    assert consumer["glue_tables"] == []
    assert explicit_grants(consumer["lakeformation_permissions"]) == []


def test_a_complete_teardown_returns_to_the_first_snapshot(cloud: Cloud) -> None:
    before = cloud.inventory()
    role_arn = build_consumer_resources(cloud)
    share_arn = cloud.client("ram", CONSUMER_ACCOUNT).create_resource_share(
        name="teardown", principals=[DOMAIN_ACCOUNT]
    )["resourceShare"]["resourceShareArn"]
    assert cloud.inventory() != before

    cloud.client("ram", CONSUMER_ACCOUNT).delete_resource_share(resourceShareArn=share_arn)
    lakeformation = cloud.client("lakeformation", CONSUMER_ACCOUNT)
    lakeformation.revoke_permissions(
        Principal={"DataLakePrincipalIdentifier": role_arn},
        Resource={"Table": {"DatabaseName": "sales", "Name": "orders"}},
        Permissions=["SELECT"],
        PermissionsWithGrantOption=["SELECT"],
    )
    lakeformation.put_data_lake_settings(DataLakeSettings={"DataLakeAdmins": []})
    lakeformation.deregister_resource(ResourceArn="arn:aws:s3:::inventory-bucket/sales")
    cloud.client("codecommit", CONSUMER_ACCOUNT).delete_repository(repositoryName="inv-repo")
    cloud.client("cloudformation", CONSUMER_ACCOUNT).delete_stack(StackName="inventory-stack")
    cloud.client("athena", CONSUMER_ACCOUNT).delete_work_group(WorkGroup="wg-inventory")
    cloud.client("glue", CONSUMER_ACCOUNT).delete_database(Name="sales")
    s3 = cloud.client("s3", CONSUMER_ACCOUNT)
    for key in ("sales/1.csv", "sales/2.csv"):
        s3.delete_object(Bucket="inventory-bucket", Key=key)
    s3.delete_bucket(Bucket="inventory-bucket")
    iam = cloud.client("iam", CONSUMER_ACCOUNT)
    iam.delete_policy(PolicyArn=f"arn:aws:iam::{CONSUMER_ACCOUNT}:policy/app-policy")
    iam.delete_role(RoleName="app-role")

    assert cloud.inventory() == before
