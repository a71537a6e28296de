"""DataZone governance: managed blueprints, blueprint configurations, policy grants and
project profiles, across the domain account and an associated account."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulator.datazone_support import (
    associate_account,
    blueprint_id,
    create_domain,
    create_profile,
    create_role,
    enable_blueprints,
    grant_blueprint,
)
from tests.support import CONSUMER_ACCOUNT, DOMAIN_ACCOUNT, REGION, Cloud


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


@pytest.fixture
def domain(cloud: Cloud) -> dict[str, Any]:
    return create_domain(cloud)


# --- managed blueprints ---------------------------------------------------------------


def test_v2_domain_gets_managed_blueprints_once_available(cloud: Cloud) -> None:
    datazone = cloud.client("datazone")
    domain_id = datazone.create_domain(
        name="corp",
        domainVersion="V2",
        domainExecutionRole=create_role(cloud, DOMAIN_ACCOUNT, "Exec"),
        serviceRole=create_role(cloud, DOMAIN_ACCOUNT, "Svc"),
    )["id"]
    assert datazone.list_environment_blueprints(domainIdentifier=domain_id)["items"] == []

    assert datazone.get_domain(identifier=domain_id)["status"] == "CREATING"
    assert datazone.get_domain(identifier=domain_id)["status"] == "AVAILABLE"
    items = datazone.list_environment_blueprints(domainIdentifier=domain_id, managed=True)["items"]
    names = {item["name"] for item in items}
    assert {"Tooling", "DataLake", "LakehouseCatalog", "RedshiftServerless"} <= names
    tooling = next(item for item in items if item["name"] == "Tooling")
    assert tooling["blueprintCategory"] == "TOOLING"
    assert tooling["provider"] == "Amazon SageMaker"
    assert tooling["provisioningProperties"]["cloudFormation"]["templateUrl"].startswith("https://")


def test_blueprint_filters_and_user_parameters(cloud: Cloud, domain: dict[str, Any]) -> None:
    datazone = cloud.client("datazone")
    named = datazone.list_environment_blueprints(domainIdentifier=domain["id"], name="DataLake")
    assert [item["name"] for item in named["items"]] == ["DataLake"]
    custom = datazone.list_environment_blueprints(domainIdentifier=domain["id"], managed=False)
    assert custom["items"] == []

    tooling = datazone.get_environment_blueprint(
        domainIdentifier=domain["id"], identifier=blueprint_id(cloud, domain["id"], "Tooling")
    )
    keys = {p["keyName"]: p for p in tooling["userParameters"]}
    assert keys["enableSpaces"]["fieldType"] == "Boolean"
    data_lake = datazone.get_environment_blueprint(
        domainIdentifier=domain["id"], identifier=blueprint_id(cloud, domain["id"], "DataLake")
    )
    assert [p["keyName"] for p in data_lake["userParameters"]] == ["glueDbName"]

    with pytest.raises(ClientError) as excinfo:
        datazone.get_environment_blueprint(domainIdentifier=domain["id"], identifier="nope")
    assert error_of(excinfo) == (
        "ResourceNotFoundException",
        "Environment blueprint nope not found",
    )


def test_v1_domain_has_the_classic_blueprints(cloud: Cloud) -> None:
    domain = create_domain(cloud, name="classic", version="V1")
    items = cloud.client("datazone").list_environment_blueprints(domainIdentifier=domain["id"])
    assert {item["name"] for item in items["items"]} == {"DefaultDataLake", "DefaultDataWarehouse"}


def test_associated_account_sees_the_same_blueprints_only_after_accepting(
    cloud: Cloud, domain: dict[str, Any]
) -> None:
    consumer = cloud.client("datazone", CONSUMER_ACCOUNT)
    with pytest.raises(ClientError) as excinfo:
        consumer.list_environment_blueprints(domainIdentifier=domain["id"])
    code, message = error_of(excinfo)
    assert code == "AccessDeniedException"
    assert f"is not authorized to access domain {domain['id']}" in message
    assert f"not shared with account {CONSUMER_ACCOUNT} through AWS RAM" in message

    associate_account(cloud, domain)
    mine = cloud.client("datazone").list_environment_blueprints(domainIdentifier=domain["id"])
    theirs = consumer.list_environment_blueprints(domainIdentifier=domain["id"])
    assert {(b["id"], b["name"]) for b in theirs["items"]} == {
        (b["id"], b["name"]) for b in mine["items"]
    }


def test_shared_but_unaccepted_domain_is_still_denied(cloud: Cloud, domain: dict[str, Any]) -> None:
    cloud.client("ram").create_resource_share(
        name="pending",
        resourceArns=[domain["arn"]],
        principals=[CONSUMER_ACCOUNT],
        allowExternalPrincipals=True,
    )
    consumer = cloud.client("datazone", CONSUMER_ACCOUNT)
    with pytest.raises(ClientError) as excinfo:
        consumer.put_environment_blueprint_configuration(
            domainIdentifier=domain["id"],
            environmentBlueprintIdentifier=blueprint_id(cloud, domain["id"], "Tooling"),
            enabledRegions=[REGION],
        )
    code, message = error_of(excinfo)
    assert code == "AccessDeniedException"
    assert "or the share invitation has not been accepted" in message


# --- blueprint configurations ---------------------------------------------------------


def test_blueprint_configuration_round_trip(cloud: Cloud, domain: dict[str, Any]) -> None:
    datazone = cloud.client("datazone")
    tooling = blueprint_id(cloud, domain["id"], "Tooling")
    # Roles are not checked when the configuration is put: AWS checks them on use.
    put = datazone.put_environment_blueprint_configuration(
        domainIdentifier=domain["id"],
        environmentBlueprintIdentifier=tooling,
        enabledRegions=[REGION],
        provisioningRoleArn=f"arn:aws:iam::{DOMAIN_ACCOUNT}:role/DoesNotExistYet",
        manageAccessRoleArn=f"arn:aws:iam::{DOMAIN_ACCOUNT}:role/NorThis",
        regionalParameters={REGION: {"S3Location": "s3://bucket/prefix"}},
        globalParameters={"projectRolePolicyArns": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
    )
    assert put["environmentBlueprintId"] == tooling
    assert put["enabledRegions"] == [REGION]

    got = datazone.get_environment_blueprint_configuration(
        domainIdentifier=domain["id"], environmentBlueprintIdentifier=tooling
    )
    assert got["provisioningRoleArn"].endswith(":role/DoesNotExistYet")
    assert got["regionalParameters"] == {REGION: {"S3Location": "s3://bucket/prefix"}}

    datazone.put_environment_blueprint_configuration(
        domainIdentifier=domain["id"],
        environmentBlueprintIdentifier=tooling,
        enabledRegions=[REGION, "eu-west-1"],
    )
    listed = datazone.list_environment_blueprint_configurations(domainIdentifier=domain["id"])
    assert [(c["environmentBlueprintId"], c["enabledRegions"]) for c in listed["items"]] == [
        (tooling, [REGION, "eu-west-1"])
    ]

    datazone.delete_environment_blueprint_configuration(
        domainIdentifier=domain["id"], environmentBlueprintIdentifier=tooling
    )
    # Deleting again is not an error (the model has no ResourceNotFoundException here).
    datazone.delete_environment_blueprint_configuration(
        domainIdentifier=domain["id"], environmentBlueprintIdentifier=tooling
    )
    with pytest.raises(ClientError) as excinfo:
        datazone.get_environment_blueprint_configuration(
            domainIdentifier=domain["id"], environmentBlueprintIdentifier=tooling
        )
    assert error_of(excinfo) == (
        "ResourceNotFoundException",
        f"Environment blueprint configuration of account {DOMAIN_ACCOUNT} for blueprint "
        f"{tooling} not found",
    )


def test_blueprint_configuration_needs_an_enabled_region(
    cloud: Cloud, domain: dict[str, Any]
) -> None:
    with pytest.raises(ClientError) as excinfo:
        cloud.client("datazone").put_environment_blueprint_configuration(
            domainIdentifier=domain["id"],
            environmentBlueprintIdentifier=blueprint_id(cloud, domain["id"], "Tooling"),
            enabledRegions=[],
        )
    assert error_of(excinfo) == (
        "ValidationException",
        "Environment blueprint configuration needs to enable at least one region: "
        "enabledRegions must not be empty",
    )


def test_blueprint_configuration_of_unknown_blueprint(cloud: Cloud, domain: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as excinfo:
        cloud.client("datazone").put_environment_blueprint_configuration(
            domainIdentifier=domain["id"],
            environmentBlueprintIdentifier="nope",
            enabledRegions=[REGION],
        )
    assert error_of(excinfo) == (
        "ResourceNotFoundException",
        "Environment blueprint nope not found",
    )


def test_blueprint_configurations_are_per_account(cloud: Cloud, domain: dict[str, Any]) -> None:
    associate_account(cloud, domain)
    consumer_setup = enable_blueprints(cloud, domain, CONSUMER_ACCOUNT, names=("Tooling",))
    consumer = cloud.client("datazone", CONSUMER_ACCOUNT)
    mine = consumer.list_environment_blueprint_configurations(domainIdentifier=domain["id"])
    assert [c["provisioningRoleArn"] for c in mine["items"]] == [consumer_setup.provisioning_role]

    owner = cloud.client("datazone", DOMAIN_ACCOUNT)
    assert (
        owner.list_environment_blueprint_configurations(domainIdentifier=domain["id"])["items"]
        == []
    )
    with pytest.raises(ClientError) as excinfo:
        owner.get_environment_blueprint_configuration(
            domainIdentifier=domain["id"],
            environmentBlueprintIdentifier=consumer_setup.blueprints["Tooling"],
        )
    assert error_of(excinfo)[0] == "ResourceNotFoundException"


# --- policy grants ---------------------------------------------------------------------


def test_blueprint_policy_grant_add_list_remove(cloud: Cloud, domain: dict[str, Any]) -> None:
    datazone = cloud.client("datazone")
    tooling = blueprint_id(cloud, domain["id"], "Tooling")
    grant_id = grant_blueprint(cloud, domain, DOMAIN_ACCOUNT, tooling)
    assert grant_blueprint(cloud, domain, DOMAIN_ACCOUNT, tooling) == grant_id  # same grant again

    listing = datazone.list_policy_grants(
        domainIdentifier=domain["id"],
        entityType="ENVIRONMENT_BLUEPRINT_CONFIGURATION",
        entityIdentifier=f"{DOMAIN_ACCOUNT}:{tooling}",
        policyType="CREATE_ENVIRONMENT_FROM_BLUEPRINT",
    )["grantList"]
    assert [g["grantId"] for g in listing] == [grant_id]
    assert listing[0]["principal"]["project"]["projectDesignation"] == "CONTRIBUTOR"
    assert listing[0]["detail"] == {"createEnvironmentFromBlueprint": {}}

    datazone.remove_policy_grant(
        domainIdentifier=domain["id"],
        entityType="ENVIRONMENT_BLUEPRINT_CONFIGURATION",
        entityIdentifier=f"{DOMAIN_ACCOUNT}:{tooling}",
        policyType="CREATE_ENVIRONMENT_FROM_BLUEPRINT",
        principal=listing[0]["principal"],
    )
    assert (
        datazone.list_policy_grants(
            domainIdentifier=domain["id"],
            entityType="ENVIRONMENT_BLUEPRINT_CONFIGURATION",
            entityIdentifier=f"{DOMAIN_ACCOUNT}:{tooling}",
            policyType="CREATE_ENVIRONMENT_FROM_BLUEPRINT",
        )["grantList"]
        == []
    )


def test_blueprint_grant_must_be_made_by_the_configuring_account(
    cloud: Cloud, domain: dict[str, Any]
) -> None:
    associate_account(cloud, domain)
    tooling = blueprint_id(cloud, domain["id"], "Tooling")
    with pytest.raises(ClientError) as excinfo:
        cloud.client("datazone", CONSUMER_ACCOUNT).add_policy_grant(
            domainIdentifier=domain["id"],
            entityType="ENVIRONMENT_BLUEPRINT_CONFIGURATION",
            entityIdentifier=f"{DOMAIN_ACCOUNT}:{tooling}",
            policyType="CREATE_ENVIRONMENT_FROM_BLUEPRINT",
            detail={"createEnvironmentFromBlueprint": {}},
            principal={"user": {"allUsersGrantFilter": {}}},
        )
    code, message = error_of(excinfo)
    assert code == "AccessDeniedException"
    assert message.endswith(
        f"cannot manage grants on the blueprint configuration of account {DOMAIN_ACCOUNT}: "
        "call from that account"
    )
    # The associated account grants on its own configuration.
    assert grant_blueprint(cloud, domain, CONSUMER_ACCOUNT, tooling)


@pytest.mark.parametrize(
    ("entity_identifier", "detail", "expected"),
    [
        ("no-colon", {"createEnvironmentFromBlueprint": {}}, "must be <accountId>:<blueprintId>"),
        (
            "{account}:{blueprint}",
            {"createEnvironment": {}},
            "Policy type CREATE_ENVIRONMENT_FROM_BLUEPRINT takes "
            "detail.createEnvironmentFromBlueprint; got ['createEnvironment']",
        ),
    ],
)
def test_malformed_blueprint_grants_are_rejected(
    cloud: Cloud,
    domain: dict[str, Any],
    entity_identifier: str,
    detail: dict[str, Any],
    expected: str,
) -> None:
    tooling = blueprint_id(cloud, domain["id"], "Tooling")
    with pytest.raises(ClientError) as excinfo:
        cloud.client("datazone").add_policy_grant(
            domainIdentifier=domain["id"],
            entityType="ENVIRONMENT_BLUEPRINT_CONFIGURATION",
            entityIdentifier=entity_identifier.format(account=DOMAIN_ACCOUNT, blueprint=tooling),
            policyType="CREATE_ENVIRONMENT_FROM_BLUEPRINT",
            detail=detail,
            principal={"user": {"allUsersGrantFilter": {}}},
        )
    code, message = error_of(excinfo)
    assert code == "ValidationException"
    assert expected in message


def test_grants_per_policy_are_limited_to_twenty(cloud: Cloud, domain: dict[str, Any]) -> None:
    datazone = cloud.client("datazone")
    tooling = blueprint_id(cloud, domain["id"], "Tooling")

    def add(n: int) -> Any:
        return datazone.add_policy_grant(
            domainIdentifier=domain["id"],
            entityType="ENVIRONMENT_BLUEPRINT_CONFIGURATION",
            entityIdentifier=f"{DOMAIN_ACCOUNT}:{tooling}",
            policyType="CREATE_ENVIRONMENT_FROM_BLUEPRINT",
            detail={"createEnvironmentFromBlueprint": {}},
            principal={
                "project": {"projectDesignation": "CONTRIBUTOR", "projectIdentifier": f"p{n}"}
            },
        )

    for n in range(20):
        add(n)
    with pytest.raises(ClientError) as excinfo:
        add(20)
    assert error_of(excinfo) == (
        "ServiceQuotaExceededException",
        f"Policy CREATE_ENVIRONMENT_FROM_BLUEPRINT on ENVIRONMENT_BLUEPRINT_CONFIGURATION "
        f"{DOMAIN_ACCOUNT}:{tooling} already has 20 grants, the maximum",
    )


def test_profile_grant_on_root_domain_unit(cloud: Cloud, domain: dict[str, Any]) -> None:
    setup = enable_blueprints(cloud, domain)
    profile = create_profile(cloud, domain, setup, grant=False)
    datazone = cloud.client("datazone")
    grant = {
        "domainIdentifier": domain["id"],
        "entityType": "DOMAIN_UNIT",
        "entityIdentifier": domain["rootDomainUnitId"],
        "policyType": "CREATE_PROJECT_FROM_PROJECT_PROFILE",
        "principal": {"user": {"allUsersGrantFilter": {}}},
    }
    grant_id = datazone.add_policy_grant(
        **grant,
        detail={"createProjectFromProjectProfile": {"projectProfiles": [profile["id"]]}},
    )["grantId"]
    listed = datazone.list_policy_grants(**{k: v for k, v in grant.items() if k != "principal"})[
        "grantList"
    ]
    assert [g["grantId"] for g in listed] == [grant_id]
    assert listed[0]["detail"]["createProjectFromProjectProfile"]["projectProfiles"] == [
        profile["id"]
    ]

    datazone.remove_policy_grant(**grant, grantIdentifier=grant_id)
    assert (
        datazone.list_policy_grants(**{k: v for k, v in grant.items() if k != "principal"})[
            "grantList"
        ]
        == []
    )

    with pytest.raises(ClientError) as excinfo:
        datazone.add_policy_grant(
            **grant, detail={"createProjectFromProjectProfile": {"projectProfiles": ["nope"]}}
        )
    assert error_of(excinfo) == ("ValidationException", "Project profile nope not found")
    with pytest.raises(ClientError) as excinfo:
        datazone.add_policy_grant(
            **{**grant, "entityIdentifier": "not-a-unit"},
            detail={"createProjectFromProjectProfile": {"projectProfiles": [profile["id"]]}},
        )
    assert error_of(excinfo) == ("ResourceNotFoundException", "Domain unit not-a-unit not found")


def test_domain_unit_grants_are_for_the_domain_account(
    cloud: Cloud, domain: dict[str, Any]
) -> None:
    associate_account(cloud, domain)
    with pytest.raises(ClientError) as excinfo:
        cloud.client("datazone", CONSUMER_ACCOUNT).list_policy_grants(
            domainIdentifier=domain["id"],
            entityType="DOMAIN_UNIT",
            entityIdentifier=domain["rootDomainUnitId"],
            policyType="CREATE_PROJECT_FROM_PROJECT_PROFILE",
        )
    code, message = error_of(excinfo)
    assert code == "AccessDeniedException"
    assert message.endswith("(the operation must be called from the domain account)")


# --- project profiles ---------------------------------------------------------------


def test_project_profile_lifecycle(cloud: Cloud, domain: dict[str, Any]) -> None:
    datazone = cloud.client("datazone")
    setup = enable_blueprints(cloud, domain, grant=False)
    profile = create_profile(cloud, domain, setup, grant=False, glue_db="sales_db")
    assert profile["status"] == "ENABLED"
    assert profile["domainUnitId"] == domain["rootDomainUnitId"]
    configurations = profile["environmentConfigurations"]
    assert [c["name"] for c in configurations] == ["Tooling", "Lakehouse Database"]
    assert all(c["id"] for c in configurations)
    assert configurations[1]["awsAccount"] == {"awsAccountId": DOMAIN_ACCOUNT}

    got = datazone.get_project_profile(domainIdentifier=domain["id"], identifier=profile["id"])
    assert [c["id"] for c in got["environmentConfigurations"]] == [c["id"] for c in configurations]
    assert (
        datazone.list_project_profiles(domainIdentifier=domain["id"], name="producer")["items"][0][
            "id"
        ]
        == profile["id"]
    )

    updated = datazone.update_project_profile(
        domainIdentifier=domain["id"], identifier=profile["id"], status="DISABLED"
    )
    assert updated["status"] == "DISABLED"
    assert [c["id"] for c in updated["environmentConfigurations"]] == [
        c["id"] for c in configurations
    ]

    datazone.delete_project_profile(domainIdentifier=domain["id"], identifier=profile["id"])
    with pytest.raises(ClientError) as excinfo:
        datazone.get_project_profile(domainIdentifier=domain["id"], identifier=profile["id"])
    assert error_of(excinfo) == (
        "ResourceNotFoundException",
        f"Project profile {profile['id']} not found",
    )


def test_unpinned_configuration_defaults_to_the_domain_account(
    cloud: Cloud, domain: dict[str, Any]
) -> None:
    profile = cloud.client("datazone").create_project_profile(
        domainIdentifier=domain["id"],
        name="plain",
        environmentConfigurations=[
            {
                "name": "Tooling",
                "environmentBlueprintId": blueprint_id(cloud, domain["id"], "Tooling"),
            }
        ],
    )
    configuration = profile["environmentConfigurations"][0]
    assert configuration["awsAccount"] == {"awsAccountId": DOMAIN_ACCOUNT}
    assert configuration["awsRegion"] == {"regionName": REGION}
    assert configuration["deploymentMode"] == "ON_CREATE"


@pytest.mark.parametrize(
    ("configuration", "expected"),
    [
        (
            {"name": "Tooling", "environmentBlueprintId": "nope"},
            ("ResourceNotFoundException", "Environment blueprint nope not found"),
        ),
        (
            {
                "name": "Tooling",
                "environmentBlueprintId": "{tooling}",
                "awsAccount": {"awsAccountIdPath": "/accounts/producer"},
            },
            (
                "ValidationException",
                "Environment configuration Tooling: awsAccountIdPath, regionNamePath and "
                "accountPools are not supported by the emulator; use awsAccount.awsAccountId "
                "and awsRegion.regionName",
            ),
        ),
    ],
)
def test_invalid_environment_configurations_are_rejected(
    cloud: Cloud, domain: dict[str, Any], configuration: dict[str, Any], expected: tuple[str, str]
) -> None:
    tooling = blueprint_id(cloud, domain["id"], "Tooling")
    configuration = {
        **configuration,
        "environmentBlueprintId": configuration["environmentBlueprintId"].format(tooling=tooling),
    }
    with pytest.raises(ClientError) as excinfo:
        cloud.client("datazone").create_project_profile(
            domainIdentifier=domain["id"], name="bad", environmentConfigurations=[configuration]
        )
    assert error_of(excinfo) == expected


def test_project_profile_names_are_unique(cloud: Cloud, domain: dict[str, Any]) -> None:
    datazone = cloud.client("datazone")
    datazone.create_project_profile(domainIdentifier=domain["id"], name="same")
    with pytest.raises(ClientError) as excinfo:
        datazone.create_project_profile(domainIdentifier=domain["id"], name="same")
    assert error_of(excinfo) == (
        "ConflictException",
        f"Project profile same already exists in domain {domain['id']}",
    )


def test_project_profiles_are_managed_from_the_domain_account(
    cloud: Cloud, domain: dict[str, Any]
) -> None:
    associate_account(cloud, domain)
    with pytest.raises(ClientError) as excinfo:
        cloud.client("datazone", CONSUMER_ACCOUNT).create_project_profile(
            domainIdentifier=domain["id"], name="theirs"
        )
    assert error_of(excinfo)[0] == "AccessDeniedException"
