"""AWS Organizations: the management account, N member accounts, asynchronous CreateAccount,
and RAM's organization rules (ORG-ONLY shares, sharing without invitations)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from smus_mesh_emulator.ram.models import associated_accounts
from smus_mesh_emulator.server import EmulatorError, EmulatorServer
from smus_mesh_emulator.validation import validate_parsed
from tests.emulator.datazone_support import (
    associate_account,
    blueprint_id,
    create_domain,
)
from tests.support import (
    BASE_ACCOUNT,
    CONSUMER_ACCOUNT,
    DOMAIN_ACCOUNT,
    REGION,
    THIRD_ACCOUNT,
    Cloud,
)

ORG_ROLE = "OrganizationAccountAccessRole"
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
EXTENDED_PERMISSION = (
    "arn:aws:ram::aws:permission/AWSRAMPermissionsAmazonDatazoneDomainExtendedServiceAccess"
)
#: An account of no organization.
OUTSIDER = "444455556666"


def valid(service: str, operation: str, response: dict[str, Any]) -> dict[str, Any]:
    assert validate_parsed(service, operation, response) == []
    return response


@pytest.fixture
def three_accounts(cloud: Cloud) -> Iterator[Cloud]:
    """The cloud reset with three member accounts; the next test's reset makes two again."""
    cloud.reset(accounts=3)
    yield cloud


def create_account(cloud: Cloud, name: str, email: str) -> dict[str, Any]:
    """CreateAccount, then DescribeCreateAccountStatus until it is no longer IN_PROGRESS;
    returns every status read, in order."""
    organizations = cloud.client("organizations", BASE_ACCOUNT)
    status = valid(
        "organizations",
        "CreateAccount",
        organizations.create_account(AccountName=name, Email=email),
    )["CreateAccountStatus"]
    statuses = [status]
    for _ in range(50):
        status = valid(
            "organizations",
            "DescribeCreateAccountStatus",
            organizations.describe_create_account_status(CreateAccountRequestId=status["Id"]),
        )["CreateAccountStatus"]
        statuses.append(status)
        if status["State"] != "IN_PROGRESS":
            return {"statuses": statuses, "final": status}
    raise AssertionError(f"account creation still IN_PROGRESS: {statuses}")


def share(cloud: Cloud, domain: dict[str, Any], principals: list[str], external: bool) -> str:
    response = cloud.client("ram", DOMAIN_ACCOUNT).create_resource_share(
        name=f"DataZone-{domain['name']}-{domain['id']}",
        resourceArns=[domain["arn"]],
        principals=principals,
        permissionArns=[EXTENDED_PERMISSION],
        allowExternalPrincipals=external,
    )
    return str(valid("ram", "CreateResourceShare", response)["resourceShare"]["resourceShareArn"])


def principal_rows(cloud: Cloud, share_arn: str) -> list[tuple[str, str, bool]]:
    response = cloud.client("ram", DOMAIN_ACCOUNT).get_resource_share_associations(
        associationType="PRINCIPAL", resourceShareArns=[share_arn]
    )
    return [
        (a["associatedEntity"], a["status"], a["external"])
        for a in valid("ram", "GetResourceShareAssociations", response)["resourceShareAssociations"]
    ]


def enable_sharing(cloud: Cloud) -> None:
    response = cloud.client("ram", BASE_ACCOUNT).enable_sharing_with_aws_organization()
    assert valid("ram", "EnableSharingWithAwsOrganization", response)["returnValue"] is True


# --- the organization ---------------------------------------------------------------------


def test_the_base_account_manages_an_organization_of_the_member_accounts(cloud: Cloud) -> None:
    management = cloud.client("organizations", BASE_ACCOUNT)
    organization = valid(
        "organizations", "DescribeOrganization", management.describe_organization()
    )["Organization"]
    assert (organization["MasterAccountId"], organization["FeatureSet"]) == (BASE_ACCOUNT, "ALL")
    accounts = valid("organizations", "ListAccounts", management.list_accounts())["Accounts"]
    assert [(a["Id"], a["Status"]) for a in accounts] == [
        (BASE_ACCOUNT, "ACTIVE"),
        (DOMAIN_ACCOUNT, "ACTIVE"),
        (CONSUMER_ACCOUNT, "ACTIVE"),
    ]
    for member in (DOMAIN_ACCOUNT, CONSUMER_ACCOUNT):
        # a member sees the same organization
        seen = cloud.client("organizations", member).describe_organization()["Organization"]
        assert seen["Id"] == organization["Id"]
        iam = cloud.client("iam", member)
        role = iam.get_role(RoleName=ORG_ROLE)["Role"]
        [statement] = role["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"AWS": f"arn:aws:iam::{BASE_ACCOUNT}:root"}
        attached = iam.list_attached_role_policies(RoleName=ORG_ROLE)["AttachedPolicies"]
        assert [p["PolicyArn"] for p in attached] == [ADMIN_POLICY]
    # No phantom account: the inventory knows exactly the organization's accounts.
    assert sorted(cloud.inventory()) == sorted([BASE_ACCOUNT, DOMAIN_ACCOUNT, CONSUMER_ACCOUNT])


def test_reset_makes_the_number_of_member_accounts_it_is_told(cloud: Cloud) -> None:
    assert cloud.admin("POST", "reset", {"accounts": 3}) == {
        "status": "reset",
        "accounts": [BASE_ACCOUNT, DOMAIN_ACCOUNT, CONSUMER_ACCOUNT, THIRD_ACCOUNT],
    }
    third = Cloud(cloud.url)
    assert third.client("sts", THIRD_ACCOUNT).get_caller_identity()["Account"] == THIRD_ACCOUNT
    assert sorted(third.inventory()) == sorted(third.accounts())
    # a reset that names no number makes the server's (2) again
    assert cloud.admin("POST", "reset")["accounts"] == [
        BASE_ACCOUNT,
        DOMAIN_ACCOUNT,
        CONSUMER_ACCOUNT,
    ]
    with pytest.raises(ClientError) as excinfo:
        Cloud(cloud.url).client("sts", THIRD_ACCOUNT)
    assert excinfo.value.response["Error"]["Code"] == "AccessDenied"
    assert f"sts:AssumeRole on resource: arn:aws:iam::{THIRD_ACCOUNT}:role/{ORG_ROLE}" in str(
        excinfo.value
    )


def test_a_large_organization_numbers_its_members_past_nine(cloud: Cloud) -> None:
    cloud.reset(accounts=11)
    members = cloud.member_accounts()
    assert members[:3] == [DOMAIN_ACCOUNT, CONSUMER_ACCOUNT, THIRD_ACCOUNT]
    assert members[8:] == ["999999999999", "100000000010", "100000000011"]
    assert cloud.client("sts", "100000000011").get_caller_identity()["Account"] == "100000000011"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"accounts": -1}, "accounts must be between 0 and 100, not -1"),
        ({"accounts": 101}, "accounts must be between 0 and 100, not 101"),
        ({"accounts": "3"}, "accounts must be an integer, not str"),
        ({"accounts": True}, "accounts must be an integer, not bool"),
        ({"members": 3}, "unknown reset settings: ['members']"),
    ],
)
def test_reset_refuses_a_bad_number_of_accounts(
    cloud: Cloud, body: dict[str, Any], message: str
) -> None:
    request = urllib.request.Request(
        f"{cloud.url}/_emulator/reset", data=json.dumps(body).encode(), method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(request, timeout=30)
    assert excinfo.value.code == 400
    assert json.loads(excinfo.value.read()) == {"error": message}


def test_a_server_refuses_a_bad_number_of_accounts() -> None:
    with pytest.raises(EmulatorError, match="accounts must be between 0 and 100, not 500"):
        EmulatorServer(accounts=500)


# --- CreateAccount ---------------------------------------------------------------------------


def test_create_account_is_in_progress_then_succeeds_with_its_role(cloud: Cloud) -> None:
    created = create_account(cloud, "analytics", "analytics@example.com")
    first, *_, final = created["statuses"]
    assert first["State"] == "IN_PROGRESS" and "AccountId" not in first
    assert created["statuses"][1]["State"] == "IN_PROGRESS"  # the first read sees it too
    assert (final["State"], final["AccountId"], final["AccountName"]) == (
        "SUCCEEDED",
        THIRD_ACCOUNT,
        "analytics",
    )
    assert final["CompletedTimestamp"] >= final["RequestedTimestamp"]

    # The account exists: its role trusts the management account, the organization lists it.
    assert cloud.client("sts", THIRD_ACCOUNT).get_caller_identity()["Account"] == THIRD_ACCOUNT
    accounts = cloud.client("organizations", BASE_ACCOUNT).list_accounts()["Accounts"]
    assert [(a["Id"], a["Name"], a["JoinedMethod"]) for a in accounts][-1] == (
        THIRD_ACCOUNT,
        "analytics",
        "CREATED",
    )
    assert cloud.accounts() == [BASE_ACCOUNT, DOMAIN_ACCOUNT, CONSUMER_ACCOUNT, THIRD_ACCOUNT]
    assert all(items == [] for items in cloud.inventory()[THIRD_ACCOUNT].values())
    statuses = cloud.client("organizations", BASE_ACCOUNT).list_create_account_status(
        States=["SUCCEEDED"]
    )
    assert [s["AccountId"] for s in statuses["CreateAccountStatuses"]] == [THIRD_ACCOUNT]


def test_a_taken_email_fails_the_creation(cloud: Cloud) -> None:
    create_account(cloud, "first", "team@example.com")
    failed = create_account(cloud, "second", "team@example.com")["final"]
    assert (failed["State"], failed["FailureReason"]) == ("FAILED", "EMAIL_ALREADY_EXISTS")
    assert "AccountId" not in failed
    assert len(cloud.accounts()) == 4


def test_only_the_management_account_creates_accounts(cloud: Cloud) -> None:
    member = cloud.client("organizations", DOMAIN_ACCOUNT)
    with pytest.raises(ClientError) as excinfo:
        member.create_account(AccountName="rogue", Email="rogue@example.com")
    assert excinfo.value.response["Error"]["Code"] == "AccessDeniedException"
    assert excinfo.value.response["Error"]["Message"] == (
        "You don't have permissions to access this resource."
    )
    with pytest.raises(ClientError) as excinfo:
        cloud.client("organizations", BASE_ACCOUNT).describe_create_account_status(
            CreateAccountRequestId="car-00000000"
        )
    assert excinfo.value.response["Error"]["Code"] == "CreateAccountStatusNotFoundException"
    assert "CreateAccountRequestId" in excinfo.value.response["Error"]["Message"]


def test_an_account_outside_any_organization_cannot_create_accounts(cloud: Cloud) -> None:
    cloud.client("organizations", BASE_ACCOUNT).remove_account_from_organization(
        AccountId=CONSUMER_ACCOUNT
    )
    with pytest.raises(ClientError) as excinfo:
        cloud.client("organizations", CONSUMER_ACCOUNT).create_account(
            AccountName="rogue", Email="rogue@example.com"
        )
    assert excinfo.value.response["Error"]["Code"] == "AWSOrganizationsNotInUseException"
    assert excinfo.value.response["Error"]["Message"] == (
        "Your account is not a member of an organization."
    )


# --- RAM inside the organization -----------------------------------------------------------------


def test_only_the_management_account_enables_sharing_with_the_organization(
    cloud: Cloud,
) -> None:
    with pytest.raises(ClientError) as excinfo:
        cloud.client("ram", DOMAIN_ACCOUNT).enable_sharing_with_aws_organization()
    assert excinfo.value.response["Error"]["Code"] == "OperationNotPermittedException"
    assert "only from the management account" in excinfo.value.response["Error"]["Message"]

    enable_sharing(cloud)
    role = cloud.client("iam", BASE_ACCOUNT).get_role(
        RoleName="AWSServiceRoleForResourceAccessManager"
    )["Role"]
    assert role["Path"] == "/aws-service-role/ram.amazonaws.com/"
    access = cloud.client("organizations", BASE_ACCOUNT).list_aws_service_access_for_organization()
    assert [s["ServicePrincipal"] for s in access["EnabledServicePrincipals"]] == [
        "ram.amazonaws.com"
    ]


def test_an_org_only_share_to_a_member_is_associated_without_an_invitation(
    cloud: Cloud,
) -> None:
    domain = create_domain(cloud)
    enable_sharing(cloud)
    share_arn = share(cloud, domain, [CONSUMER_ACCOUNT], external=False)

    consumer = cloud.client("ram", CONSUMER_ACCOUNT)
    assert consumer.get_resource_share_invitations()["resourceShareInvitations"] == []
    assert principal_rows(cloud, share_arn) == [(CONSUMER_ACCOUNT, "ASSOCIATING", False)]
    assert principal_rows(cloud, share_arn) == [(CONSUMER_ACCOUNT, "ASSOCIATED", False)]
    assert associated_accounts(DOMAIN_ACCOUNT, REGION, domain["arn"]) == {CONSUMER_ACCOUNT}
    received = consumer.get_resource_shares(resourceOwner="OTHER-ACCOUNTS")["resourceShares"]
    assert [(s["resourceShareArn"], s["allowExternalPrincipals"]) for s in received] == [
        (share_arn, False)
    ]


def test_an_org_only_share_to_a_non_member_is_refused(cloud: Cloud) -> None:
    domain = create_domain(cloud)
    enable_sharing(cloud)
    with pytest.raises(ClientError) as excinfo:
        share(cloud, domain, [OUTSIDER], external=False)
    assert excinfo.value.response["Error"]["Code"] == "OperationNotPermittedException"
    assert excinfo.value.response["Error"]["Message"] == (
        f"The resource share DataZone-{domain['name']}-{domain['id']} does not allow external "
        f"principals, and {OUTSIDER} is not in your organization."
    )
    ram = cloud.client("ram", DOMAIN_ACCOUNT)
    assert ram.get_resource_shares(resourceOwner="SELF")["resourceShares"] == []


def test_an_external_share_invites_a_non_member_and_not_a_member(cloud: Cloud) -> None:
    domain = create_domain(cloud)
    enable_sharing(cloud)
    share_arn = share(cloud, domain, [CONSUMER_ACCOUNT, OUTSIDER], external=True)
    assert sorted(principal_rows(cloud, share_arn)) == [
        (CONSUMER_ACCOUNT, "ASSOCIATING", False),
        (OUTSIDER, "ASSOCIATING", True),
    ]
    assert (
        cloud.client("ram", CONSUMER_ACCOUNT).get_resource_share_invitations()[
            "resourceShareInvitations"
        ]
        == []
    )
    # the outsider's association waits for its invitation, the member's does not
    assert sorted(principal_rows(cloud, share_arn)) == [
        (CONSUMER_ACCOUNT, "ASSOCIATED", False),
        (OUTSIDER, "ASSOCIATING", True),
    ]


def test_a_member_removed_from_the_organization_is_an_outsider_again(cloud: Cloud) -> None:
    domain = create_domain(cloud)
    enable_sharing(cloud)
    cloud.client("organizations", BASE_ACCOUNT).remove_account_from_organization(
        AccountId=CONSUMER_ACCOUNT
    )
    with pytest.raises(ClientError) as excinfo:
        share(cloud, domain, [CONSUMER_ACCOUNT], external=False)
    assert excinfo.value.response["Error"]["Message"].endswith(
        f"and {CONSUMER_ACCOUNT} is not in your organization."
    )


def test_disabling_ram_trusted_access_turns_sharing_with_the_organization_off(
    cloud: Cloud,
) -> None:
    domain = create_domain(cloud)
    enable_sharing(cloud)
    cloud.client("organizations", BASE_ACCOUNT).disable_aws_service_access(
        ServicePrincipal="ram.amazonaws.com"
    )
    with pytest.raises(ClientError) as excinfo:
        share(cloud, domain, [CONSUMER_ACCOUNT], external=False)
    assert excinfo.value.response["Error"]["Message"].endswith(
        "cannot be checked against your organization: sharing with AWS Organizations is not "
        "enabled."
    )


def test_a_share_with_the_organization_reaches_every_member(three_accounts: Cloud) -> None:
    cloud = three_accounts
    domain = create_domain(cloud)
    organization_arn = cloud.client("organizations", BASE_ACCOUNT).describe_organization()[
        "Organization"
    ]["Arn"]
    with pytest.raises(ClientError) as excinfo:
        share(cloud, domain, [organization_arn], external=False)
    assert excinfo.value.response["Error"]["Code"] == "OperationNotPermittedException"
    assert "after you enable sharing with AWS Organizations" in str(excinfo.value)

    enable_sharing(cloud)
    share(cloud, domain, [organization_arn], external=False)
    # every other account of the organization, the management account included
    assert associated_accounts(DOMAIN_ACCOUNT, REGION, domain["arn"]) == {
        BASE_ACCOUNT,
        CONSUMER_ACCOUNT,
        THIRD_ACCOUNT,
    }


# --- DataZone: an account associated either way may use the domain ---------------------------


def test_datazone_association_works_by_invitation_and_by_organization(
    three_accounts: Cloud,
) -> None:
    """The consumer joins through an invitation (before sharing with the organization is
    enabled), the third account without one (after): both may configure blueprints."""
    cloud = three_accounts
    domain = create_domain(cloud)
    associate_account(cloud, domain, CONSUMER_ACCOUNT)
    assert cloud.client("ram", CONSUMER_ACCOUNT).get_resource_share_invitations()[
        "resourceShareInvitations"
    ][0]["status"] == ("ACCEPTED")
    enable_sharing(cloud)
    associate_account(cloud, domain, THIRD_ACCOUNT, allow_external_principals=False)
    assert (
        cloud.client("ram", THIRD_ACCOUNT).get_resource_share_invitations()[
            "resourceShareInvitations"
        ]
        == []
    )
    for account in (CONSUMER_ACCOUNT, THIRD_ACCOUNT):
        tooling = blueprint_id(cloud, domain["id"], "Tooling", account)
        configuration = cloud.client("datazone", account).put_environment_blueprint_configuration(
            domainIdentifier=domain["id"],
            environmentBlueprintIdentifier=tooling,
            enabledRegions=[REGION],
        )
        assert (configuration["domainId"], configuration["environmentBlueprintId"]) == (
            domain["id"],
            tooling,
        )
    # An account of the organization that was not shared with still may not.
    cloud.reset(accounts=4)
    domain = create_domain(cloud)
    with pytest.raises(ClientError) as excinfo:
        cloud.client("datazone", "444444444444").list_environment_blueprints(
            domainIdentifier=domain["id"]
        )
    assert excinfo.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "is not shared with account 444444444444 through AWS RAM" in str(excinfo.value)
