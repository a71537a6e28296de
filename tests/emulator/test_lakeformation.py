"""Lake Formation: checked grants, cross-account views, pruning, registrations, helpers."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from smus_mesh_emulator.lakeformation import permissions as lf_permissions
from smus_mesh_emulator.lakeformation.catalog_sync import prune
from smus_mesh_emulator.lakeformation.exceptions import (
    NOT_AUTHORIZED,
    NOTHING_REVOKED,
    EntityNotFoundException,
)
from smus_mesh_emulator.runtime import RUNTIME
from tests.emulator.lakehouse import (
    CONSUMER,
    GRANTOR_INLINE,
    PRODUCER,
    database_resource,
    make_admin,
    make_producer_table,
    make_role,
    principal,
    role_arn,
    role_client,
    table_resource,
)
from tests.support import REGION, Cloud

IAM_ALLOWED = "IAM_ALLOWED_PRINCIPALS"


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def _permissions(lakeformation: Any, **filters: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = lakeformation.list_permissions(**filters)[
        "PrincipalResourcePermissions"
    ]
    return found


def _grants_to(lakeformation: Any, who: str, resource: dict[str, Any]) -> list[Any]:
    return [
        (p["Resource"], sorted(p["Permissions"]), sorted(p["PermissionsWithGrantOption"]))
        for p in _permissions(lakeformation, Principal=principal(who), Resource=resource)
    ]


# --- grants on things that do not exist ------------------------------------------------


def test_grant_on_missing_table_or_database_is_entity_not_found(cloud: Cloud) -> None:
    make_producer_table(cloud)
    lakeformation = cloud.client("lakeformation", PRODUCER)
    with pytest.raises(ClientError) as excinfo:
        lakeformation.grant_permissions(
            Principal=principal(CONSUMER),
            Resource=table_resource("sales_db", "nope"),
            Permissions=["SELECT"],
        )
    assert _error(excinfo) == (
        "EntityNotFoundException",
        f"Table sales_db.nope not found in catalog {PRODUCER}.",
    )
    with pytest.raises(ClientError) as excinfo:
        lakeformation.grant_permissions(
            Principal=principal(CONSUMER),
            Resource={"Table": {"DatabaseName": "nope_db", "TableWildcard": {}}},
            Permissions=["SELECT"],
        )
    assert _error(excinfo) == (
        "EntityNotFoundException",
        f"Database nope_db not found in catalog {PRODUCER}.",
    )
    with pytest.raises(ClientError) as excinfo:
        lakeformation.grant_permissions(
            Principal=principal(CONSUMER),
            Resource={
                "TableWithColumns": {
                    "DatabaseName": "sales_db",
                    "Name": "gone",
                    "ColumnNames": ["id"],
                }
            },
            Permissions=["SELECT"],
        )
    assert _error(excinfo) == (
        "EntityNotFoundException",
        f"Table sales_db.gone not found in catalog {PRODUCER}.",
    )


def test_batch_grant_reports_missing_resources_as_failures_and_grants_the_rest(
    cloud: Cloud,
) -> None:
    make_producer_table(cloud)
    lakeformation = cloud.client("lakeformation", PRODUCER)
    result = lakeformation.batch_grant_permissions(
        Entries=[
            {
                "Id": "ok",
                "Principal": principal(CONSUMER),
                "Resource": table_resource("sales_db", "sales"),
                "Permissions": ["SELECT"],
            },
            {
                "Id": "missing",
                "Principal": principal(CONSUMER),
                "Resource": table_resource("sales_db", "nope"),
                "Permissions": ["SELECT"],
            },
        ]
    )
    assert [(f["RequestEntry"]["Id"], f["Error"]) for f in result["Failures"]] == [
        (
            "missing",
            {
                "ErrorCode": "EntityNotFoundException",
                "ErrorMessage": f"Table sales_db.nope not found in catalog {PRODUCER}.",
            },
        )
    ]
    assert _grants_to(lakeformation, CONSUMER, table_resource("sales_db", "sales")) == [
        (table_resource("sales_db", "sales"), ["SELECT"], [])
    ]


def test_data_location_grant_needs_a_registered_location(cloud: Cloud) -> None:
    source = make_producer_table(cloud)
    lakeformation = cloud.client("lakeformation", PRODUCER)
    with pytest.raises(ClientError) as excinfo:
        lakeformation.grant_permissions(
            Principal=principal(role_arn(PRODUCER, "Crawler")),
            Resource={"DataLocation": {"ResourceArn": "arn:aws:s3:::elsewhere/data"}},
            Permissions=["DATA_LOCATION_ACCESS"],
        )
    assert _error(excinfo) == (
        "EntityNotFoundException",
        "Location arn:aws:s3:::elsewhere/data is not registered with Lake Formation "
        f"in account {PRODUCER}.",
    )
    under_registered = f"{source.location_arn}/2024"
    lakeformation.grant_permissions(
        Principal=principal(role_arn(PRODUCER, "Crawler")),
        Resource={"DataLocation": {"ResourceArn": under_registered}},
        Permissions=["DATA_LOCATION_ACCESS"],
    )
    listed = _permissions(lakeformation, ResourceType="DATA_LOCATION")
    assert [p["Resource"] for p in listed] == [
        {"DataLocation": {"CatalogId": PRODUCER, "ResourceArn": under_registered}}
    ]


# --- who may grant ---------------------------------------------------------------------


def test_only_an_admin_or_a_holder_of_the_grant_option_may_grant(cloud: Cloud) -> None:
    make_producer_table(cloud)
    steward = make_role(cloud, PRODUCER, "Steward", GRANTOR_INLINE)
    analyst = make_role(cloud, PRODUCER, "Analyst")
    as_steward = role_client(cloud, "lakeformation", steward)
    resource = table_resource("sales_db", "sales")

    with pytest.raises(ClientError) as excinfo:
        as_steward.grant_permissions(
            Principal=principal(analyst), Resource=resource, Permissions=["SELECT"]
        )
    assert _error(excinfo) == ("AccessDeniedException", NOT_AUTHORIZED)

    admin = cloud.client("lakeformation", PRODUCER)
    admin.grant_permissions(
        Principal=principal(steward),
        Resource=resource,
        Permissions=["SELECT", "DESCRIBE"],
        PermissionsWithGrantOption=["SELECT"],
    )
    as_steward.grant_permissions(
        Principal=principal(analyst), Resource=resource, Permissions=["SELECT"]
    )
    with pytest.raises(ClientError) as excinfo:
        as_steward.grant_permissions(
            Principal=principal(analyst), Resource=resource, Permissions=["DESCRIBE"]
        )
    assert _error(excinfo) == ("AccessDeniedException", NOT_AUTHORIZED)
    assert _grants_to(admin, analyst, resource) == [(resource, ["SELECT"], [])]


def test_cross_account_grant_is_seen_and_regranted_by_the_consumer(cloud: Cloud) -> None:
    source = make_producer_table(cloud)
    consumer_role = make_role(cloud, CONSUMER, "ConsumerProject")
    producer = cloud.client("lakeformation", PRODUCER)
    consumer = cloud.client("lakeformation", CONSUMER)
    make_admin(cloud, CONSUMER, role_arn(CONSUMER))
    remote_table = source.resource()

    # Nothing received yet: the consumer's admin cannot grant the producer's table.
    with pytest.raises(ClientError) as excinfo:
        consumer.grant_permissions(
            Principal=principal(consumer_role), Resource=remote_table, Permissions=["SELECT"]
        )
    assert _error(excinfo) == ("AccessDeniedException", NOT_AUTHORIZED)

    producer.grant_permissions(
        Principal=principal(CONSUMER),
        Resource=remote_table,
        Permissions=["SELECT", "DESCRIBE"],
        PermissionsWithGrantOption=["SELECT", "DESCRIBE"],
    )
    received = _permissions(consumer, Resource=remote_table)
    assert received == [
        {
            "Principal": principal(CONSUMER),
            "Resource": {
                "Table": {"CatalogId": PRODUCER, "DatabaseName": "sales_db", "Name": "sales"}
            },
            "Permissions": ["DESCRIBE", "SELECT"],
            "PermissionsWithGrantOption": ["DESCRIBE", "SELECT"],
        }
    ]

    consumer.grant_permissions(
        Principal=principal(consumer_role), Resource=remote_table, Permissions=["SELECT"]
    )
    assert _grants_to(consumer, consumer_role, remote_table) == [(remote_table, ["SELECT"], [])]
    # The re-grant lives in the consumer's Lake Formation only.
    assert _grants_to(producer, consumer_role, remote_table) == []
    # A grant straight to a consumer principal is seen in the consumer account too.
    producer.grant_permissions(
        Principal=principal(consumer_role), Resource=remote_table, Permissions=["DESCRIBE"]
    )
    assert sorted(
        (p["Principal"]["DataLakePrincipalIdentifier"], tuple(p["Permissions"]))
        for p in _permissions(consumer, Principal=principal(consumer_role), Resource=remote_table)
    ) == [(consumer_role, ("DESCRIBE",)), (consumer_role, ("SELECT",))]
    # ... and stays inside the consumer account.
    with pytest.raises(ClientError) as excinfo:
        consumer.grant_permissions(
            Principal=principal("333333333333"), Resource=remote_table, Permissions=["SELECT"]
        )
    assert _error(excinfo) == ("AccessDeniedException", NOT_AUTHORIZED)


def test_consumer_cannot_regrant_what_it_received_without_grant_option(cloud: Cloud) -> None:
    source = make_producer_table(cloud)
    consumer_role = make_role(cloud, CONSUMER, "ConsumerProject")
    make_admin(cloud, CONSUMER, role_arn(CONSUMER))
    cloud.client("lakeformation", PRODUCER).grant_permissions(
        Principal=principal(CONSUMER), Resource=source.resource(), Permissions=["SELECT"]
    )
    with pytest.raises(ClientError) as excinfo:
        cloud.client("lakeformation", CONSUMER).grant_permissions(
            Principal=principal(consumer_role), Resource=source.resource(), Permissions=["SELECT"]
        )
    assert _error(excinfo) == ("AccessDeniedException", NOT_AUTHORIZED)


def test_revoking_what_was_never_granted_is_invalid_input(cloud: Cloud) -> None:
    source = make_producer_table(cloud)
    lakeformation = cloud.client("lakeformation", PRODUCER)
    with pytest.raises(ClientError) as excinfo:
        lakeformation.revoke_permissions(
            Principal=principal(CONSUMER), Resource=source.resource(), Permissions=["SELECT"]
        )
    assert _error(excinfo) == ("InvalidInputException", NOTHING_REVOKED)
    lakeformation.grant_permissions(
        Principal=principal(CONSUMER),
        Resource=source.resource(),
        Permissions=["SELECT", "DESCRIBE"],
        PermissionsWithGrantOption=["SELECT"],
    )
    lakeformation.revoke_permissions(
        Principal=principal(CONSUMER), Resource=source.resource(), Permissions=["SELECT"]
    )
    # Revoking a permission takes its grant option with it.
    assert _grants_to(lakeformation, CONSUMER, source.resource()) == [
        (source.resource(), ["DESCRIBE"], [])
    ]
    result = lakeformation.batch_revoke_permissions(
        Entries=[
            {
                "Id": "twice",
                "Principal": principal(CONSUMER),
                "Resource": source.resource(),
                "Permissions": ["SELECT"],
            }
        ]
    )
    assert [f["Error"] for f in result["Failures"]] == [
        {"ErrorCode": "InvalidInputException", "ErrorMessage": NOTHING_REVOKED}
    ]


# --- default permissions and pruning ---------------------------------------------------


def test_new_tables_get_default_permissions_that_can_be_revoked(cloud: Cloud) -> None:
    make_producer_table(cloud, lf_managed=False)
    lakeformation = cloud.client("lakeformation", PRODUCER)
    for resource in (table_resource("sales_db", "sales"), database_resource("sales_db")):
        assert _grants_to(lakeformation, IAM_ALLOWED, resource) == [(resource, ["ALL"], [])]
        lakeformation.revoke_permissions(
            Principal=principal(IAM_ALLOWED), Resource=resource, Permissions=["ALL"]
        )
        assert _grants_to(lakeformation, IAM_ALLOWED, resource) == []


def test_default_permissions_follow_the_settings_in_force_at_creation(cloud: Cloud) -> None:
    make_admin(cloud, PRODUCER, role_arn(PRODUCER))
    lakeformation = cloud.client("lakeformation", PRODUCER)
    glue = cloud.client("glue", PRODUCER)
    glue.create_database(DatabaseInput={"Name": "before_db"})
    settings = lakeformation.get_data_lake_settings()["DataLakeSettings"]
    settings["CreateDatabaseDefaultPermissions"] = []
    settings["CreateTableDefaultPermissions"] = []
    lakeformation.put_data_lake_settings(DataLakeSettings=settings)
    glue.create_database(DatabaseInput={"Name": "after_db"})
    glue.create_database(
        DatabaseInput={
            "Name": "iam_db",
            "CreateTableDefaultPermissions": [
                {"Principal": principal(IAM_ALLOWED), "Permissions": ["ALL"]}
            ],
        }
    )
    for database in ("before_db", "after_db", "iam_db"):
        glue.create_table(DatabaseName=database, TableInput={"Name": "t"})

    def iam_grants(resource: dict[str, Any]) -> list[Any]:
        return _grants_to(lakeformation, IAM_ALLOWED, resource)

    assert iam_grants(database_resource("before_db")) != []
    assert iam_grants(table_resource("before_db", "t")) != []
    assert iam_grants(database_resource("after_db")) == []
    assert iam_grants(table_resource("after_db", "t")) == []
    assert iam_grants(table_resource("iam_db", "t")) != []
    stored = lakeformation.get_data_lake_settings()["DataLakeSettings"]
    assert stored["DataLakeAdmins"] == [principal(role_arn(PRODUCER))]
    assert stored["CreateTableDefaultPermissions"] == []


def test_grants_die_with_their_table_and_database_in_every_account(cloud: Cloud) -> None:
    source = make_producer_table(cloud)
    consumer_role = make_role(cloud, CONSUMER, "ConsumerProject")
    make_admin(cloud, CONSUMER, role_arn(CONSUMER))
    producer = cloud.client("lakeformation", PRODUCER)
    consumer = cloud.client("lakeformation", CONSUMER)
    producer.grant_permissions(
        Principal=principal(CONSUMER),
        Resource=source.resource(),
        Permissions=["SELECT"],
        PermissionsWithGrantOption=["SELECT"],
    )
    producer.grant_permissions(
        Principal=principal(CONSUMER),
        Resource=database_resource("sales_db"),
        Permissions=["DESCRIBE"],
    )
    consumer.grant_permissions(
        Principal=principal(consumer_role), Resource=source.resource(), Permissions=["SELECT"]
    )
    glue = cloud.client("glue", PRODUCER)
    glue.delete_table(DatabaseName="sales_db", Name="sales")
    assert [p["Resource"] for p in _permissions(producer)] == [database_resource("sales_db")]
    assert _permissions(consumer, Resource=source.resource()) == []

    # Same name, new table: the old grants do not come back, fresh defaults apply.
    glue.create_table(DatabaseName="sales_db", TableInput={"Name": "sales"})
    assert [
        p["Principal"]["DataLakePrincipalIdentifier"]
        for p in _permissions(producer, Resource=source.resource())
    ] == [IAM_ALLOWED]

    glue.delete_database(Name="sales_db")
    assert _permissions(producer) == []
    assert _permissions(consumer) == []


def test_a_dropped_table_takes_only_its_own_grants_along(cloud: Cloud) -> None:
    # The catalog sync looks only at what changed (the ADR "costs what changed"): a
    # same-named table in another database, a sibling table, the database's wildcard and
    # another account's catalog keep their grants; filtered ListPermissions finds them.
    make_producer_table(cloud)
    make_admin(cloud, CONSUMER, role_arn(CONSUMER))
    glue = cloud.client("glue", PRODUCER)
    glue.create_database(DatabaseInput={"Name": "other_db"})
    for database, table in (("other_db", "sales"), ("sales_db", "keep")):
        glue.create_table(DatabaseName=database, TableInput={"Name": table})
    consumer_glue = cloud.client("glue", CONSUMER)
    consumer_glue.create_database(DatabaseInput={"Name": "own_db"})
    consumer_glue.create_table(DatabaseName="own_db", TableInput={"Name": "sales"})
    producer = cloud.client("lakeformation", PRODUCER)
    consumer = cloud.client("lakeformation", CONSUMER)
    kept = [
        table_resource("other_db", "sales"),
        table_resource("sales_db", "keep"),
        {"Table": {"CatalogId": PRODUCER, "DatabaseName": "sales_db", "TableWildcard": {}}},
    ]
    for resource in [table_resource("sales_db", "sales"), *kept]:
        producer.grant_permissions(
            Principal=principal(CONSUMER), Resource=resource, Permissions=["SELECT"]
        )
    own = table_resource("own_db", "sales", catalog=CONSUMER)
    consumer.grant_permissions(
        Principal=principal(role_arn(CONSUMER)), Resource=own, Permissions=["SELECT"]
    )

    glue.delete_table(DatabaseName="sales_db", Name="sales")

    granted = [
        p["Resource"]
        for p in _permissions(producer)
        if p["Principal"]["DataLakePrincipalIdentifier"] == CONSUMER
    ]
    assert sorted(map(str, granted)) == sorted(map(str, kept))
    for resource in kept:
        assert [p["Resource"] for p in _permissions(consumer, Resource=resource)] == [resource]
    assert _permissions(consumer, Resource=table_resource("sales_db", "sales")) == []
    role = principal(role_arn(CONSUMER))
    assert [p["Resource"] for p in _permissions(consumer, Principal=role, Resource=own)] == [own]


def test_in_process_prune_drops_grants_on_deleted_tables(cloud: Cloud) -> None:
    source = make_producer_table(cloud)
    cloud.client("lakeformation", PRODUCER).grant_permissions(
        Principal=principal(CONSUMER), Resource=source.resource(), Permissions=["SELECT"]
    )
    cloud.client("glue", PRODUCER).delete_table(DatabaseName="sales_db", Name="sales")
    with RUNTIME.lock:
        prune(PRODUCER, REGION)
        held = lf_permissions.permissions(PRODUCER, REGION)
    assert [p["Resource"] for p in held] == []


# --- registrations and settings --------------------------------------------------------


def test_registration_keeps_hybrid_access_and_federation(cloud: Cloud) -> None:
    cloud.client("s3", PRODUCER).create_bucket(Bucket="lake")
    lakeformation = cloud.client("lakeformation", PRODUCER)
    lakeformation.register_resource(
        ResourceArn="arn:aws:s3:::lake/hybrid",
        RoleArn=role_arn(PRODUCER, "LakeAccess"),
        HybridAccessEnabled=True,
        WithFederation=True,
    )
    lakeformation.register_resource(
        ResourceArn="arn:aws:s3:::lake/managed", UseServiceLinkedRole=True
    )
    hybrid = lakeformation.describe_resource(ResourceArn="arn:aws:s3:::lake/hybrid")["ResourceInfo"]
    assert hybrid["HybridAccessEnabled"] is True
    assert hybrid["WithFederation"] is True
    assert hybrid["RoleArn"] == role_arn(PRODUCER, "LakeAccess")
    assert "LastModified" in hybrid
    listed = lakeformation.list_resources()["ResourceInfoList"]
    assert [(r["ResourceArn"], r["HybridAccessEnabled"], r["RoleArn"]) for r in listed] == [
        ("arn:aws:s3:::lake/hybrid", True, role_arn(PRODUCER, "LakeAccess")),
        (
            "arn:aws:s3:::lake/managed",
            False,
            f"arn:aws:iam::{PRODUCER}:role/aws-service-role/lakeformation.amazonaws.com/"
            "AWSServiceRoleForLakeFormationDataAccess",
        ),
    ]
    filtered = lakeformation.list_resources(
        FilterConditionList=[
            {
                "Field": "RESOURCE_ARN",
                "ComparisonOperator": "CONTAINS",
                "StringValueList": ["managed"],
            }
        ]
    )["ResourceInfoList"]
    assert [r["ResourceArn"] for r in filtered] == ["arn:aws:s3:::lake/managed"]
    with pytest.raises(ClientError) as excinfo:
        lakeformation.register_resource(
            ResourceArn="arn:aws:s3:::lake/hybrid", UseServiceLinkedRole=True
        )
    assert _error(excinfo) == ("AlreadyExistsException", "Resource is already registered")
    with pytest.raises(ClientError) as excinfo:
        lakeformation.register_resource(ResourceArn="arn:aws:s3:::lake/norole")
    assert _error(excinfo) == (
        "InvalidInputException",
        "RoleArn is required when UseServiceLinkedRole is not true.",
    )
    lakeformation.deregister_resource(ResourceArn="arn:aws:s3:::lake/hybrid")
    with pytest.raises(ClientError) as excinfo:
        lakeformation.describe_resource(ResourceArn="arn:aws:s3:::lake/hybrid")
    assert _error(excinfo) == ("EntityNotFoundException", "Entity not found")


def test_list_permissions_needs_a_resource_with_a_principal_and_pages(cloud: Cloud) -> None:
    source = make_producer_table(cloud)
    lakeformation = cloud.client("lakeformation", PRODUCER)
    with pytest.raises(ClientError) as excinfo:
        lakeformation.list_permissions(Principal=principal(CONSUMER))
    assert _error(excinfo) == (
        "InvalidInputException",
        "Resource is mandatory if Principal is set in the input.",
    )
    for index in range(3):
        lakeformation.grant_permissions(
            Principal=principal(role_arn(PRODUCER, f"Reader{index}")),
            Resource=source.resource(),
            Permissions=["SELECT"],
        )
    first = lakeformation.list_permissions(Resource=source.resource(), MaxResults=2)
    second = lakeformation.list_permissions(
        Resource=source.resource(), MaxResults=2, NextToken=first["NextToken"]
    )
    assert "NextToken" not in second
    readers = [
        p["Principal"]["DataLakePrincipalIdentifier"]
        for p in first["PrincipalResourcePermissions"] + second["PrincipalResourcePermissions"]
    ]
    assert readers == [role_arn(PRODUCER, f"Reader{index}") for index in range(3)]


# --- the in-process helpers -----------------------------------------------------------


def test_has_permission_follows_wildcards_and_cross_account_grants(cloud: Cloud) -> None:
    source = make_producer_table(cloud)
    reader = role_arn(PRODUCER, "Reader")
    consumer_role = role_arn(CONSUMER, "ConsumerProject")
    lakeformation = cloud.client("lakeformation", PRODUCER)
    lakeformation.grant_permissions(
        Principal=principal(reader),
        Resource={"Table": {"DatabaseName": "sales_db", "TableWildcard": {}}},
        Permissions=["SELECT"],
    )
    lakeformation.grant_permissions(
        Principal=principal(CONSUMER),
        Resource=source.resource(),
        Permissions=["ALL"],
        PermissionsWithGrantOption=["DESCRIBE"],
    )
    table = {"Table": {"DatabaseName": "Sales_DB", "Name": "SALES"}}
    with RUNTIME.lock:
        checks = {
            "wildcard select": lf_permissions.has_permission(
                PRODUCER, REGION, reader, table, "SELECT"
            ),
            "wildcard describe": lf_permissions.has_permission(
                PRODUCER, REGION, reader, table, "DESCRIBE"
            ),
            "account ALL": lf_permissions.has_permission(
                PRODUCER, REGION, CONSUMER, table, "SELECT"
            ),
            "account's role": lf_permissions.has_permission(
                PRODUCER, REGION, consumer_role, table, "SELECT"
            ),
            "grantable describe": lf_permissions.has_permission(
                PRODUCER, REGION, CONSUMER, table, "DESCRIBE", grantable=True
            ),
            "grantable select": lf_permissions.has_permission(
                PRODUCER, REGION, CONSUMER, table, "SELECT", grantable=True
            ),
            "own account's role": lf_permissions.has_permission(
                CONSUMER, REGION, consumer_role, source.resource(), "SELECT"
            ),
        }
    assert checks == {
        "wildcard select": True,
        "wildcard describe": False,
        "account ALL": True,
        "account's role": True,
        "grantable describe": True,
        "grantable select": False,
        "own account's role": False,
    }


def test_in_process_grant_and_revoke(cloud: Cloud) -> None:
    source = make_producer_table(cloud)
    manage_access = role_arn(PRODUCER, "ManageAccess")
    with RUNTIME.lock:
        lf_permissions.grant(
            PRODUCER, REGION, manage_access, source.resource(), ["SELECT", "DESCRIBE"], ["SELECT"]
        )
        with pytest.raises(EntityNotFoundException):
            lf_permissions.grant(
                PRODUCER, REGION, manage_access, table_resource("sales_db", "nope"), ["SELECT"], []
            )
    lakeformation = cloud.client("lakeformation", PRODUCER)
    assert _grants_to(lakeformation, manage_access, source.resource()) == [
        (source.resource(), ["DESCRIBE", "SELECT"], ["SELECT"])
    ]
    with RUNTIME.lock:
        lf_permissions.revoke(
            PRODUCER, REGION, manage_access, source.resource(), ["SELECT", "DESCRIBE"], ["SELECT"]
        )
        lf_permissions.revoke(PRODUCER, REGION, manage_access, source.resource(), ["SELECT"], [])
    assert _grants_to(lakeformation, manage_access, source.resource()) == []


def test_is_lf_managed_explains_why_not(cloud: Cloud) -> None:
    make_producer_table(cloud, lf_managed=False)
    lakeformation = cloud.client("lakeformation", PRODUCER)

    def managed() -> tuple[bool, str | None]:
        with RUNTIME.lock:
            return lf_permissions.is_lf_managed(PRODUCER, REGION, "sales_db", "sales")

    assert managed() == (
        False,
        "IAMAllowedPrincipals holds permissions on table sales_db.sales: access to it is "
        "controlled by IAM, not by Lake Formation",
    )
    lakeformation.revoke_permissions(
        Principal=principal(IAM_ALLOWED),
        Resource=table_resource("sales_db", "sales"),
        Permissions=["ALL"],
    )
    assert managed() == (
        False,
        "IAMAllowedPrincipals holds permissions on database sales_db: access to it is "
        "controlled by IAM, not by Lake Formation",
    )
    lakeformation.revoke_permissions(
        Principal=principal(IAM_ALLOWED),
        Resource=database_resource("sales_db"),
        Permissions=["ALL"],
    )
    assert managed() == (
        False,
        "The S3 location s3://producer-data/sales_db/sales/ of table sales_db.sales is not "
        "registered with Lake Formation",
    )
    lakeformation.register_resource(
        ResourceArn="arn:aws:s3:::producer-data",
        UseServiceLinkedRole=True,
        HybridAccessEnabled=True,
    )
    assert managed() == (
        False,
        "The S3 location s3://producer-data/sales_db/sales/ of table sales_db.sales is "
        "registered with Lake Formation in hybrid access mode",
    )
    lakeformation.deregister_resource(ResourceArn="arn:aws:s3:::producer-data")
    lakeformation.register_resource(
        ResourceArn="arn:aws:s3:::producer-data/sales_db", UseServiceLinkedRole=True
    )
    assert managed() == (True, None)
    with RUNTIME.lock:
        assert lf_permissions.is_lf_managed(PRODUCER, REGION, "sales_db", "nope") == (
            False,
            f"Table sales_db.nope does not exist in account {PRODUCER}",
        )


def test_list_resources_pages_by_resource_not_by_position(cloud: Cloud) -> None:
    # A token points at the next resource (moto's paginator), so deregistering one already
    # listed does not skip the next; a token is refused with other filters, as is garbage.
    cloud.client("s3", PRODUCER).create_bucket(Bucket="lake")
    lakeformation = cloud.client("lakeformation", PRODUCER)
    for name in ("a", "b", "c"):
        lakeformation.register_resource(
            ResourceArn=f"arn:aws:s3:::lake/{name}", UseServiceLinkedRole=True
        )
    first = lakeformation.list_resources(MaxResults=1)
    assert [r["ResourceArn"] for r in first["ResourceInfoList"]] == ["arn:aws:s3:::lake/a"]
    lakeformation.deregister_resource(ResourceArn="arn:aws:s3:::lake/a")
    rest = lakeformation.list_resources(MaxResults=5, NextToken=first["NextToken"])
    assert [r["ResourceArn"] for r in rest["ResourceInfoList"]] == [
        "arn:aws:s3:::lake/b",
        "arn:aws:s3:::lake/c",
    ]
    assert "NextToken" not in rest
    filtered = [
        {"Field": "RESOURCE_ARN", "ComparisonOperator": "CONTAINS", "StringValueList": ["lake"]}
    ]
    for bad in (
        {"NextToken": first["NextToken"], "FilterConditionList": filtered},
        {"NextToken": "not-a-token"},
    ):
        with pytest.raises(ClientError) as excinfo:
            lakeformation.list_resources(**bad)
        assert _error(excinfo) == ("InvalidInputException", "Invalid NextToken.")
