"""RAM: sharing a DataZone domain with another account, invitations and association states."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from smus_mesh_emulator.ram.models import associated_accounts
from smus_mesh_emulator.validation import validate_parsed
from tests.emulator.datazone_support import create_domain
from tests.support import BASE_ACCOUNT, CONSUMER_ACCOUNT, DOMAIN_ACCOUNT, REGION, Cloud

EXTENDED_PERMISSION = (
    "arn:aws:ram::aws:permission/AWSRAMPermissionsAmazonDatazoneDomainExtendedServiceAccess"
)


def valid(operation: str, response: dict[str, Any]) -> dict[str, Any]:
    """The response, after checking it against the botocore RAM model."""
    assert validate_parsed("ram", operation, response) == []
    return response


def share_domain(cloud: Cloud, domain: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "name": f"DataZone-{domain['name']}-{domain['id']}",
        "resourceArns": [domain["arn"]],
        "principals": [CONSUMER_ACCOUNT],
        "permissionArns": [EXTENDED_PERMISSION],
        "allowExternalPrincipals": True,
        **overrides,
    }
    response = cloud.client("ram").create_resource_share(**params)
    return dict(valid("CreateResourceShare", response)["resourceShare"])


def invitations(cloud: Cloud, account: str = CONSUMER_ACCOUNT, **filters: Any) -> list[Any]:
    response = cloud.client("ram", account).get_resource_share_invitations(**filters)
    return list(valid("GetResourceShareInvitations", response)["resourceShareInvitations"])


def principal_statuses(cloud: Cloud, share_arn: str) -> list[str]:
    response = cloud.client("ram").get_resource_share_associations(
        associationType="PRINCIPAL", resourceShareArns=[share_arn]
    )
    return [
        a["status"]
        for a in valid("GetResourceShareAssociations", response)["resourceShareAssociations"]
    ]


def accept(cloud: Cloud, share_arn: str) -> dict[str, Any]:
    invitation = invitations(cloud, resourceShareArns=[share_arn])[0]
    response = cloud.client("ram", CONSUMER_ACCOUNT).accept_resource_share_invitation(
        resourceShareInvitationArn=invitation["resourceShareInvitationArn"]
    )
    return dict(valid("AcceptResourceShareInvitation", response)["resourceShareInvitation"])


def associate(cloud: Cloud, share_arn: str) -> None:
    accept(cloud, share_arn)
    assert principal_statuses(cloud, share_arn) == ["ASSOCIATING"]
    assert principal_statuses(cloud, share_arn) == ["ASSOCIATED"]


def shared_accounts(domain: dict[str, Any]) -> set[str]:
    return associated_accounts(DOMAIN_ACCOUNT, REGION, domain["arn"])


@pytest.fixture
def domain(cloud: Cloud) -> dict[str, Any]:
    return create_domain(cloud)


@pytest.fixture
def realistic_latency(cloud: Cloud) -> Iterator[float]:
    """RAM association lasts 20 s under "realistic"; scaled to 0.5 s here."""
    profile = cloud.admin("POST", "latency", {"profile": "realistic", "time_scale": 0.025})
    yield float(profile["durations"]["ram.associate"])
    cloud.admin("POST", "latency", {"profile": "none", "time_scale": 1.0})


def test_sharing_a_domain_invites_the_other_account(cloud: Cloud, domain: dict[str, Any]) -> None:
    share = share_domain(cloud, domain)
    assert share["status"] == "ACTIVE"
    assert share["owningAccountId"] == DOMAIN_ACCOUNT

    [invitation] = invitations(cloud)
    assert invitation["status"] == "PENDING"
    assert invitation["resourceShareArn"] == share["resourceShareArn"]
    assert invitation["senderAccountId"] == DOMAIN_ACCOUNT
    assert invitation["receiverAccountId"] == CONSUMER_ACCOUNT
    assert invitation["resourceShareInvitationArn"].startswith(
        f"arn:aws:ram:{REGION}:{DOMAIN_ACCOUNT}:resource-share-invitation/"
    )
    assert invitations(cloud, DOMAIN_ACCOUNT) == []  # only the receiver sees it

    ram = cloud.client("ram")
    [principal] = ram.get_resource_share_associations(associationType="PRINCIPAL")[
        "resourceShareAssociations"
    ]
    assert (principal["associatedEntity"], principal["status"], principal["external"]) == (
        CONSUMER_ACCOUNT,
        "ASSOCIATING",
        True,
    )
    resources = valid(
        "GetResourceShareAssociations",
        ram.get_resource_share_associations(associationType="RESOURCE", resourceArn=domain["arn"]),
    )["resourceShareAssociations"]
    assert [(r["associatedEntity"], r["status"]) for r in resources] == [
        (domain["arn"], "ASSOCIATED")
    ]
    permissions = valid(
        "ListResourceSharePermissions",
        ram.list_resource_share_permissions(resourceShareArn=share["resourceShareArn"]),
    )["permissions"]
    assert [(p["arn"], p["resourceType"]) for p in permissions] == [
        (EXTENDED_PERMISSION, "datazone:Domain")
    ]
    assert shared_accounts(domain) == set()


def test_accepted_invitation_associates_after_an_associating_read(
    cloud: Cloud, domain: dict[str, Any]
) -> None:
    share_arn = share_domain(cloud, domain)["resourceShareArn"]
    assert accept(cloud, share_arn)["status"] == "ACCEPTED"
    assert invitations(cloud)[0]["status"] == "ACCEPTED"

    assert principal_statuses(cloud, share_arn) == ["ASSOCIATING"]
    assert principal_statuses(cloud, share_arn) == ["ASSOCIATED"]
    assert shared_accounts(domain) == {CONSUMER_ACCOUNT}

    with pytest.raises(ClientError) as excinfo:
        cloud.client("ram", CONSUMER_ACCOUNT).accept_resource_share_invitation(
            resourceShareInvitationArn=invitations(cloud)[0]["resourceShareInvitationArn"]
        )
    error = excinfo.value.response["Error"]
    assert error["Code"] == "ResourceShareInvitationAlreadyAcceptedException"
    assert "has already been accepted" in error["Message"]


def test_datazone_polling_alone_completes_the_association(
    cloud: Cloud, domain: dict[str, Any]
) -> None:
    """The domain-side check reads the association, as a client polling DataZone does."""
    share_arn = share_domain(cloud, domain)["resourceShareArn"]
    accept(cloud, share_arn)
    assert shared_accounts(domain) == set()  # ASSOCIATING, now observed
    cloud.client("sts").get_caller_identity()  # any request advances what is due
    assert shared_accounts(domain) == {CONSUMER_ACCOUNT}


def test_association_stays_associating_until_its_duration_passes(
    cloud: Cloud, domain: dict[str, Any], realistic_latency: float
) -> None:
    share_arn = share_domain(cloud, domain)["resourceShareArn"]
    invitations(cloud)  # warm the consumer's client before the clock starts
    started = time.monotonic()
    accept(cloud, share_arn)
    accepted = time.monotonic()
    assert principal_statuses(cloud, share_arn) == ["ASSOCIATING"]
    second = principal_statuses(cloud, share_arn)
    if time.monotonic() - started < realistic_latency:  # read, but not yet due
        assert second == ["ASSOCIATING"]
    time.sleep(max(0.0, realistic_latency + 0.05 - (time.monotonic() - accepted)))
    assert principal_statuses(cloud, share_arn) == ["ASSOCIATED"]


def test_receiving_account_sees_the_shares_it_accepted(
    cloud: Cloud, domain: dict[str, Any]
) -> None:
    share_arn = share_domain(cloud, domain)["resourceShareArn"]
    consumer = cloud.client("ram", CONSUMER_ACCOUNT)

    def received(**filters: Any) -> list[str]:
        response = consumer.get_resource_shares(resourceOwner="OTHER-ACCOUNTS", **filters)
        return [
            s["resourceShareArn"] for s in valid("GetResourceShares", response)["resourceShares"]
        ]

    def received_resources() -> list[tuple[str, str]]:
        response = consumer.list_resources(resourceOwner="OTHER-ACCOUNTS")
        return [(r["arn"], r["type"]) for r in valid("ListResources", response)["resources"]]

    assert received() == []
    associate(cloud, share_arn)
    assert received() == [share_arn]
    assert received(resourceShareStatus="ACTIVE") == [share_arn]
    assert received_resources() == [(domain["arn"], "datazone:Domain")]
    own = cloud.client("ram").list_resources(resourceOwner="SELF")["resources"]
    assert [(r["arn"], r["resourceShareArn"]) for r in own] == [(domain["arn"], share_arn)]
    assert consumer.list_resources(resourceOwner="SELF")["resources"] == []
    assert consumer.get_resource_shares(resourceOwner="SELF")["resourceShares"] == []


def test_deleting_the_share_disassociates_everyone(cloud: Cloud, domain: dict[str, Any]) -> None:
    share_arn = share_domain(cloud, domain)["resourceShareArn"]
    associate(cloud, share_arn)
    ram = cloud.client("ram")
    assert valid("DeleteResourceShare", ram.delete_resource_share(resourceShareArn=share_arn))[
        "returnValue"
    ]

    def own(status: str) -> list[str]:
        shares = ram.get_resource_shares(resourceOwner="SELF", resourceShareStatus=status)
        return [s["resourceShareArn"] for s in shares["resourceShares"]]

    assert own("ACTIVE") == []
    assert own("DELETED") == [share_arn]
    assert principal_statuses(cloud, share_arn) == ["DISASSOCIATED"]
    resources = ram.get_resource_share_associations(associationType="RESOURCE")
    assert [a["status"] for a in resources["resourceShareAssociations"]] == ["DISASSOCIATED"]
    assert shared_accounts(domain) == set()
    consumer = cloud.client("ram", CONSUMER_ACCOUNT)
    active = consumer.get_resource_shares(
        resourceOwner="OTHER-ACCOUNTS", resourceShareStatus="ACTIVE"
    )
    assert active["resourceShares"] == []
    assert consumer.list_resources(resourceOwner="OTHER-ACCOUNTS")["resources"] == []


def test_rejected_invitation_fails_the_association(cloud: Cloud, domain: dict[str, Any]) -> None:
    share_arn = share_domain(cloud, domain)["resourceShareArn"]
    invitation_arn = invitations(cloud)[0]["resourceShareInvitationArn"]
    consumer = cloud.client("ram", CONSUMER_ACCOUNT)
    rejected = consumer.reject_resource_share_invitation(resourceShareInvitationArn=invitation_arn)
    assert (
        valid("RejectResourceShareInvitation", rejected)["resourceShareInvitation"]["status"]
        == "REJECTED"
    )
    [association] = cloud.client("ram").get_resource_share_associations(
        associationType="PRINCIPAL", resourceShareArns=[share_arn]
    )["resourceShareAssociations"]
    assert association["status"] == "FAILED"
    assert association["statusMessage"] == f"The invitation was rejected by {CONSUMER_ACCOUNT}."

    with pytest.raises(ClientError) as excinfo:
        consumer.accept_resource_share_invitation(resourceShareInvitationArn=invitation_arn)
    error = excinfo.value.response["Error"]
    assert error["Code"] == "ResourceShareInvitationAlreadyRejectedException"
    assert error["Message"] == f"The invitation {invitation_arn} has already been rejected."
    assert shared_accounts(domain) == set()


def test_invitation_of_a_deleted_share_cannot_be_accepted(
    cloud: Cloud, domain: dict[str, Any]
) -> None:
    share_arn = share_domain(cloud, domain)["resourceShareArn"]
    cloud.client("ram").delete_resource_share(resourceShareArn=share_arn)
    [invitation] = invitations(cloud)
    assert invitation["status"] == "EXPIRED"
    with pytest.raises(ClientError) as excinfo:
        cloud.client("ram", CONSUMER_ACCOUNT).accept_resource_share_invitation(
            resourceShareInvitationArn=invitation["resourceShareInvitationArn"]
        )
    assert excinfo.value.response["Error"]["Code"] == "ResourceShareInvitationExpiredException"
    assert "has expired" in excinfo.value.response["Error"]["Message"]


def test_invitations_filter_and_page(cloud: Cloud, domain: dict[str, Any]) -> None:
    ram = cloud.client("ram")
    shares = [
        ram.create_resource_share(name=f"share-{i}", principals=[CONSUMER_ACCOUNT])[
            "resourceShare"
        ]["resourceShareArn"]
        for i in range(3)
    ]
    first = cloud.client("ram", CONSUMER_ACCOUNT).get_resource_share_invitations(maxResults=2)
    assert [i["resourceShareArn"] for i in first["resourceShareInvitations"]] == shares[:2]
    rest = invitations(cloud, maxResults=2, nextToken=first["nextToken"])
    assert [i["resourceShareArn"] for i in rest] == shares[2:]
    assert [i["resourceShareArn"] for i in invitations(cloud, resourceShareArns=[shares[1]])] == [
        shares[1]
    ]
    wanted = rest[0]["resourceShareInvitationArn"]
    assert [
        i["resourceShareInvitationArn"]
        for i in invitations(cloud, resourceShareInvitationArns=[wanted])
    ] == [wanted]

    consumer = cloud.client("ram", CONSUMER_ACCOUNT)
    missing = wanted[:-4] + "ffff"
    with pytest.raises(ClientError) as excinfo:
        consumer.get_resource_share_invitations(resourceShareInvitationArns=[missing])
    assert excinfo.value.response["Error"]["Code"] == "ResourceShareInvitationArnNotFoundException"
    assert excinfo.value.response["Error"]["Message"] == (
        f"ResourceShareInvitationArn {missing} could not be found."
    )
    with pytest.raises(ClientError) as excinfo:
        consumer.get_resource_share_invitations(nextToken="not-a-token")
    assert excinfo.value.response["Error"]["Code"] == "InvalidNextTokenException"
    assert excinfo.value.response["Error"]["Message"] == (
        "The specified value for nextToken is not valid."
    )


def test_shares_filter_by_name_tag_and_permission_and_page(cloud: Cloud) -> None:
    ram = cloud.client("ram")
    glue_arn = f"arn:aws:glue:{REGION}:{DOMAIN_ACCOUNT}:database/sales"
    tagged = ram.create_resource_share(
        name="tagged", resourceArns=[glue_arn], tags=[{"key": "team", "value": "data"}]
    )["resourceShare"]["resourceShareArn"]
    plain = ram.create_resource_share(name="plain")["resourceShare"]["resourceShareArn"]

    def names(**filters: Any) -> list[str]:
        shares = ram.get_resource_shares(resourceOwner="SELF", **filters)["resourceShares"]
        return [s["name"] for s in shares]

    assert names() == ["tagged", "plain"]
    assert names(name="plain") == ["plain"]
    assert names(tagFilters=[{"tagKey": "team", "tagValues": ["data"]}]) == ["tagged"]
    assert names(tagFilters=[{"tagKey": "team", "tagValues": ["other"]}]) == []
    # No permissionArns: each resource type gets its default managed permission.
    default = "arn:aws:ram::aws:permission/AWSRAMDefaultPermissionGlueDatabase"
    assert names(permissionArn=default) == ["tagged"]
    page = ram.get_resource_shares(resourceOwner="SELF", maxResults=1)
    assert [s["resourceShareArn"] for s in page["resourceShares"]] == [tagged]
    second = ram.get_resource_shares(
        resourceOwner="SELF", maxResults=1, nextToken=page["nextToken"]
    )
    assert [s["resourceShareArn"] for s in second["resourceShares"]] == [plain]
    assert "nextToken" not in second


@pytest.mark.parametrize(
    ("overrides", "code", "message"),
    [
        (
            {"resourceArns": [f"arn:aws:datazone:{REGION}:{DOMAIN_ACCOUNT}:domain/dzd_missing1"]},
            "UnknownResourceException",
            f"Resource arn:aws:datazone:{REGION}:{DOMAIN_ACCOUNT}:domain/dzd_missing1 could "
            "not be found.",
        ),
        (
            {"resourceArns": [f"arn:aws:es:{REGION}:{DOMAIN_ACCOUNT}:domain/search"]},
            "MalformedArnException",
            "You cannot share the selected resource type.",
        ),
        (
            {"permissionArns": ["arn:aws:ram::aws:permission/AWSRAMNoSuchPermission"]},
            "UnknownResourceException",
            "Permission arn:aws:ram::aws:permission/AWSRAMNoSuchPermission could not be found.",
        ),
        (
            # The consumer is a member, but RAM cannot tell before sharing with the
            # organization is enabled (test_organizations: after it is).
            {"allowExternalPrincipals": False},
            "OperationNotPermittedException",
            "does not allow external principals, and 222222222222 cannot be checked against "
            "your organization: sharing with AWS Organizations is not enabled.",
        ),
    ],
)
def test_invalid_shares_are_refused(
    cloud: Cloud, domain: dict[str, Any], overrides: dict[str, Any], code: str, message: str
) -> None:
    with pytest.raises(ClientError) as excinfo:
        share_domain(cloud, domain, **overrides)
    assert excinfo.value.response["Error"]["Code"] == code
    assert message in excinfo.value.response["Error"]["Message"]
    assert cloud.client("ram").get_resource_shares(resourceOwner="SELF")["resourceShares"] == []


def test_a_domain_can_only_be_shared_by_its_own_account(
    cloud: Cloud, domain: dict[str, Any]
) -> None:
    with pytest.raises(ClientError) as excinfo:
        cloud.client("ram", BASE_ACCOUNT).create_resource_share(
            name="not-mine", resourceArns=[domain["arn"]], principals=[CONSUMER_ACCOUNT]
        )
    assert excinfo.value.response["Error"]["Code"] == "UnknownResourceException"
    assert (
        excinfo.value.response["Error"]["Message"]
        == f"Resource {domain['arn']} could not be found."
    )


def test_unknown_resource_owner_and_type_are_refused(cloud: Cloud) -> None:
    ram = cloud.client("ram")
    with pytest.raises(ClientError) as excinfo:
        ram.get_resource_shares(resourceOwner="EVERYONE")
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterException"
    assert excinfo.value.response["Error"]["Message"] == (
        "EVERYONE is not a valid resource owner. Specify either SELF or OTHER-ACCOUNTS and try "
        "again."
    )
    with pytest.raises(ClientError) as excinfo:
        ram.list_resources(resourceOwner="SELF", resourceType="nope:Thing")
    assert excinfo.value.response["Error"]["Code"] == "InvalidResourceTypeException"
    assert excinfo.value.response["Error"]["Message"] == (
        "The specified resource type nope:Thing is not valid."
    )
