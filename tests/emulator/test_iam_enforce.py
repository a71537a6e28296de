"""Strict IAM (`iam="enforce"`): signatures, identity policies, bucket policies, accounts.

Plain boto3 clients, written from AWS's IAM and S3 documentation, against the in-thread
emulator with enforcement switched on for the test (`POST /_emulator/iam`).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.emulator.datazone_support import associate_account, create_domain
from tests.support import (
    BASE_ACCOUNT,
    CONSUMER_ACCOUNT,
    DOMAIN_ACCOUNT,
    REGION,
    Cloud,
    credentials_session,
    management_trust,
)

BUCKET = "producer-data-iam"
#: A policy that allows something unrelated (IAM refuses an empty Statement list).
UNRELATED = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "glue:GetDatabases", "Resource": "*"}],
}
KEY = "inventory/part-0.csv"


@pytest.fixture
def enforced(enforced_iam: Cloud) -> Cloud:
    return enforced_iam


def _error(call: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        call()
    return dict(raised.value.response["Error"])


def _role_session(
    cloud: Cloud, account: str, name: str, policy: dict[str, Any] | None, **assume: Any
) -> boto3.Session:
    """A role in `account` trusting the management account, with `policy` inline, and a
    session of it."""
    iam = cloud.client("iam", account)
    trust = management_trust(assume.pop("condition", None))
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    if policy is not None:
        iam.put_role_policy(RoleName=name, PolicyName="only", PolicyDocument=json.dumps(policy))
    sts = boto3.client("sts", endpoint_url=cloud.url, region_name=REGION)
    creds = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{name}", RoleSessionName="t-" + name, **assume
    )["Credentials"]
    return credentials_session(creds)


def _producer_object(cloud: Cloud) -> None:
    s3 = cloud.client("s3", DOMAIN_ACCOUNT)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"sku,qty\n1,2\n")


# --- authentication --------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "call", "code"),
    [
        ("sts", lambda c: c.get_caller_identity(), "SignatureDoesNotMatch"),
        ("iam", lambda c: c.list_roles(), "SignatureDoesNotMatch"),
        ("s3", lambda c: c.list_buckets(), "SignatureDoesNotMatch"),
        ("glue", lambda c: c.get_databases(), "InvalidSignatureException"),
        ("datazone", lambda c: c.list_domains(), "InvalidSignatureException"),
        ("ram", lambda c: c.get_resource_shares(resourceOwner="SELF"), "InvalidSignatureException"),
    ],
)
def test_a_wrong_secret_is_refused(enforced: Cloud, service: str, call: Any, code: str) -> None:
    client = boto3.client(
        service,
        endpoint_url=enforced.url,
        region_name=REGION,
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="not-the-secret",
    )
    error = _error(lambda: call(client))
    assert error["Code"] == code
    assert "signature" in error["Message"].lower()


def test_a_session_with_a_wrong_token_or_secret_is_refused(enforced: Cloud) -> None:
    sts = boto3.client("sts", endpoint_url=enforced.url, region_name=REGION)
    creds = sts.assume_role(
        RoleArn=f"arn:aws:iam::{DOMAIN_ACCOUNT}:role/OrganizationAccountAccessRole",
        RoleSessionName="tokens",
    )["Credentials"]
    good = credentials_session(creds).client("glue", endpoint_url=enforced.url)
    assert good.get_databases()["DatabaseList"] == []
    wrong_token = credentials_session({**creds, "SessionToken": "forged"}).client(
        "glue", endpoint_url=enforced.url
    )
    error = _error(wrong_token.get_databases)
    assert error == {
        "Code": "UnrecognizedClientException",
        "Message": "The security token included in the request is invalid.",
    }
    wrong_secret = credentials_session({**creds, "SecretAccessKey": "forged"}).client(
        "sts", endpoint_url=enforced.url
    )
    assert _error(wrong_secret.get_caller_identity)["Code"] == "SignatureDoesNotMatch"


def test_an_unknown_access_key_is_refused(enforced: Cloud) -> None:
    client = boto3.client(
        "sts",
        endpoint_url=enforced.url,
        region_name=REGION,
        aws_access_key_id="AKIANOTAKNOWNKEY0000",
        aws_secret_access_key="anything",
    )
    assert _error(client.get_caller_identity)["Code"] == "InvalidClientTokenId"


def test_enforcement_off_accepts_any_secret(iam_off: Cloud) -> None:
    """The neighbour: `--iam off` keeps accepting the test keys with any secret."""
    client = boto3.client(
        "sts",
        endpoint_url=iam_off.url,
        region_name=REGION,
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="not-the-secret",
    )
    assert client.get_caller_identity()["Account"] == BASE_ACCOUNT


# --- identity policies ------------------------------------------------------------


def test_a_role_may_only_do_what_its_policy_allows(enforced: Cloud) -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["glue:GetDatabases", "s3:ListAllMyBuckets"],
                "Resource": "*",
            }
        ],
    }
    session = _role_session(enforced, DOMAIN_ACCOUNT, "glue-reader", policy)
    glue = session.client("glue", endpoint_url=enforced.url)
    assert glue.get_databases()["DatabaseList"] == []
    error = _error(lambda: glue.create_database(DatabaseInput={"Name": "nope"}))
    assert error["Code"] == "AccessDeniedException"
    assert error["Message"] == (
        f"User: arn:aws:sts::{DOMAIN_ACCOUNT}:assumed-role/glue-reader/t-glue-reader is not "
        f"authorized to perform: glue:CreateDatabase on resource: arn:aws:glue:{REGION}:"
        f"{DOMAIN_ACCOUNT}:catalog because no identity-based policy allows the "
        "glue:CreateDatabase action"
    )
    datazone = session.client("datazone", endpoint_url=enforced.url)
    error = _error(datazone.list_domains)
    assert error["Code"] == "AccessDeniedException"
    assert "datazone:ListDomains" in error["Message"]
    s3 = session.client("s3", endpoint_url=enforced.url)
    assert s3.list_buckets()["Buckets"] == []
    error = _error(lambda: s3.create_bucket(Bucket="glue-reader-bucket"))
    assert error["Code"] == "AccessDenied"
    assert "s3:CreateBucket on resource: arn:aws:s3:::glue-reader-bucket" in error["Message"]


def test_an_explicit_deny_beats_an_allow(enforced: Cloud) -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "glue:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "glue:DeleteDatabase", "Resource": "*"},
        ],
    }
    glue = _role_session(enforced, DOMAIN_ACCOUNT, "no-delete", policy).client(
        "glue", endpoint_url=enforced.url
    )
    glue.create_database(DatabaseInput={"Name": "kept"})
    error = _error(lambda: glue.delete_database(Name="kept"))
    assert error["Code"] == "AccessDeniedException"
    assert "glue:DeleteDatabase" in error["Message"]
    assert "explicit deny" in error["Message"]
    assert [d["Name"] for d in glue.get_databases()["DatabaseList"]] == ["kept"]


def test_managed_policies_count_and_resources_are_scoped(enforced: Cloud) -> None:
    iam = enforced.client("iam", DOMAIN_ACCOUNT)
    session = _role_session(enforced, DOMAIN_ACCOUNT, "reader", None)
    iam.attach_role_policy(
        RoleName="reader", PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    )
    scoped = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "iam:GetRole", "Resource": "arn:aws:iam::*:role/reader"}
        ],
    }
    iam.put_role_policy(RoleName="reader", PolicyName="scoped", PolicyDocument=json.dumps(scoped))
    _producer_object(enforced)
    s3 = session.client("s3", endpoint_url=enforced.url)
    assert s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read() == b"sku,qty\n1,2\n"
    assert (
        _error(lambda: s3.put_object(Bucket=BUCKET, Key="x", Body=b"x"))["Code"] == "AccessDenied"
    )
    own_iam = session.client("iam", endpoint_url=enforced.url)
    assert own_iam.get_role(RoleName="reader")["Role"]["RoleName"] == "reader"
    error = _error(lambda: own_iam.get_role(RoleName="OrganizationAccountAccessRole"))
    assert error["Code"] == "AccessDenied"
    assert (
        f"iam:GetRole on resource: arn:aws:iam::{DOMAIN_ACCOUNT}:role/OrganizationAccountAccessRole"
        in error["Message"]
    )


def _glue_arn(resource: str) -> str:
    return f"arn:aws:glue:{REGION}:{DOMAIN_ACCOUNT}:{resource}"


def test_glue_needs_the_resource_and_its_ancestors_and_a_delete_its_children(
    enforced: Cloud,
) -> None:
    """AWS Glue's "Specifying resource ARNs": an action on a table needs the table, its
    database and the catalog; deleting a database needs its tables and functions too."""
    admin = enforced.client("glue", DOMAIN_ACCOUNT)
    for name in ("retail", "other"):
        admin.create_database(DatabaseInput={"Name": name})
        admin.create_table(DatabaseName=name, TableInput={"Name": "inventory"})
    scoped = [_glue_arn("catalog"), _glue_arn("database/retail"), _glue_arn("table/retail/*")]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["glue:GetTable", "glue:GetTables", "glue:DeleteDatabase"],
                "Resource": scoped,
            },
            {"Effect": "Allow", "Action": "glue:GetDatabases", "Resource": scoped},
        ],
    }
    glue = _role_session(enforced, DOMAIN_ACCOUNT, "retail-reader", policy).client(
        "glue", endpoint_url=enforced.url
    )
    assert glue.get_table(DatabaseName="retail", Name="inventory")["Table"]["Name"] == "inventory"
    assert [t["Name"] for t in glue.get_tables(DatabaseName="retail")["TableList"]] == ["inventory"]
    for call, resource in (
        (lambda: glue.get_table(DatabaseName="other", Name="inventory"), "database/other"),
        (lambda: glue.get_tables(DatabaseName="other"), "database/other"),
        # A list of every database takes "*" (the reference names no resource type).
        (glue.get_databases, None),
        # Deleting the database needs its user-defined functions too, which it lacks.
        (lambda: glue.delete_database(Name="retail"), "userDefinedFunction/retail/*"),
    ):
        error = _error(call)
        assert error["Code"] == "AccessDeniedException"
        on = _glue_arn(resource) if resource else "*"
        assert f"on resource: {on} because no identity-based policy" in error["Message"], error
    assert {d["Name"] for d in admin.get_databases()["DatabaseList"]} == {"retail", "other"}


def test_workgroups_repositories_and_stacks_are_their_arns(enforced: Cloud) -> None:
    """Athena workgroups, CodeCommit repositories and CloudFormation stacks are authorised
    on their ARNs (`workgroup/<name>`, `<repository>`, `stack/<name>/<id>`)."""
    account = f"{REGION}:{DOMAIN_ACCOUNT}"
    admin = enforced.session(DOMAIN_ACCOUNT)
    for name in ("ours", "theirs"):
        admin.client("athena", endpoint_url=enforced.url).create_work_group(Name=name)
        admin.client("codecommit", endpoint_url=enforced.url).create_repository(repositoryName=name)
    stack = admin.client("cloudformation", endpoint_url=enforced.url).create_stack(
        StackName="DataZone-Env-ours",
        TemplateBody=json.dumps(
            {"Resources": {"Wait": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}
        ),
    )["StackId"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["athena:GetWorkGroup", "athena:ListWorkGroups"],
                "Resource": f"arn:aws:athena:{account}:workgroup/ours",
            },
            {
                "Effect": "Allow",
                "Action": "codecommit:GetRepository",
                "Resource": f"arn:aws:codecommit:{account}:ours",
            },
            {
                "Effect": "Allow",
                "Action": "cloudformation:DescribeStacks",
                "Resource": f"arn:aws:cloudformation:{account}:stack/DataZone-Env-*/*",
            },
        ],
    }
    session = _role_session(enforced, DOMAIN_ACCOUNT, "scoped", policy)
    athena = session.client("athena", endpoint_url=enforced.url)
    codecommit = session.client("codecommit", endpoint_url=enforced.url)
    cloudformation = session.client("cloudformation", endpoint_url=enforced.url)
    assert athena.get_work_group(WorkGroup="ours")["WorkGroup"]["Name"] == "ours"
    assert codecommit.get_repository(repositoryName="ours")["repositoryMetadata"]["Arn"] == (
        f"arn:aws:codecommit:{account}:ours"
    )
    described = cloudformation.describe_stacks(StackName="DataZone-Env-ours")["Stacks"]
    assert [s["StackId"] for s in described] == [stack]
    for call, action, resource in (
        (
            lambda: athena.get_work_group(WorkGroup="theirs"),
            "athena:GetWorkGroup",
            f"arn:aws:athena:{account}:workgroup/theirs",
        ),
        (athena.list_work_groups, "athena:ListWorkGroups", "*"),
        (
            lambda: codecommit.get_repository(repositoryName="theirs"),
            "codecommit:GetRepository",
            f"arn:aws:codecommit:{account}:theirs",
        ),
        # Without a StackName, DescribeStacks lists every stack: "*".
        (cloudformation.describe_stacks, "cloudformation:DescribeStacks", "*"),
    ):
        error = _error(call)
        assert error["Code"] in ("AccessDeniedException", "AccessDenied"), error
        assert f"perform: {action} on resource: {resource} because" in error["Message"], error


def _denied_on(call: Any, action: str, resource: str) -> None:
    """`call` is refused as AWS refuses it: AccessDeniedException naming the action and
    the resource it was authorised on (403, both services being REST-JSON)."""
    with pytest.raises(ClientError) as raised:
        call()
    response = raised.value.response
    assert response["Error"]["Code"] == "AccessDeniedException", response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert (
        f"perform: {action} on resource: {resource} because no identity-based policy"
        in (response["Error"]["Message"])
    ), response["Error"]


def test_datazone_domain_actions_are_authorised_on_the_domain_arn(enforced: Cloud) -> None:
    """DataZone's only resource type is the domain (`domain/<id>`, in the account that owns
    it: a consumer account's call on a shared domain too); its other actions name none and
    need "*" ("Actions, resources, and condition keys for Amazon DataZone")."""
    ours = create_domain(enforced, "ours")
    theirs = create_domain(enforced, "theirs")
    associate_account(enforced, ours)
    owner = f"arn:aws:datazone:{REGION}:{DOMAIN_ACCOUNT}:domain"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                # ListDomains takes no resource type: a domain ARN does not allow it.
                "Action": ["datazone:GetDomain", "datazone:TagResource", "datazone:ListDomains"],
                "Resource": f"{owner}/{ours['id']}",
            }
        ],
    }
    datazone = _role_session(enforced, DOMAIN_ACCOUNT, "one-domain", policy).client(
        "datazone", endpoint_url=enforced.url
    )
    assert datazone.get_domain(identifier=ours["id"])["arn"] == ours["arn"]
    datazone.tag_resource(resourceArn=ours["arn"], tags={"team": "retail"})
    assert enforced.client("datazone").get_domain(identifier=ours["id"])["tags"] == {
        "team": "retail"
    }
    _denied_on(
        lambda: datazone.get_domain(identifier=theirs["id"]),
        "datazone:GetDomain",
        f"{owner}/{theirs['id']}",
    )
    _denied_on(
        lambda: datazone.tag_resource(resourceArn=theirs["arn"], tags={"team": "x"}),
        "datazone:TagResource",
        theirs["arn"],
    )
    _denied_on(
        lambda: datazone.delete_domain(identifier=ours["id"]),
        "datazone:DeleteDomain",
        f"{owner}/{ours['id']}",
    )
    _denied_on(datazone.list_domains, "datazone:ListDomains", "*")

    # The consumer account reads the shared domain on the owner's ARN, not its own.
    for name, account, allowed in (
        ("owner-account", DOMAIN_ACCOUNT, True),
        ("own-account", CONSUMER_ACCOUNT, False),
    ):
        scoped = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "datazone:GetDomain",
                    "Resource": f"arn:aws:datazone:{REGION}:{account}:domain/*",
                }
            ],
        }
        member = _role_session(enforced, CONSUMER_ACCOUNT, name, scoped).client(
            "datazone", endpoint_url=enforced.url
        )
        if allowed:
            assert member.get_domain(identifier=ours["id"])["id"] == ours["id"]
        else:
            _denied_on(
                lambda member=member: member.get_domain(identifier=ours["id"]),
                "datazone:GetDomain",
                f"{owner}/{ours['id']}",
            )


def test_ram_shares_and_invitations_are_authorised_on_their_arns(enforced: Cloud) -> None:
    """RAM's `resource-share/<id>` and `resource-share-invitation/<id>` (both in the owner's
    account); creating or listing shares and invitations names neither and needs "*"
    ("Actions, resources, and condition keys for AWS Resource Access Manager (RAM)")."""
    admin = enforced.client("ram", DOMAIN_ACCOUNT)
    shares = {
        name: admin.create_resource_share(
            name=name, principals=[CONSUMER_ACCOUNT], allowExternalPrincipals=True
        )["resourceShare"]["resourceShareArn"]
        for name in ("ours", "theirs")
    }
    share_prefix = f"arn:aws:ram:{REGION}:{DOMAIN_ACCOUNT}:resource-share/"
    assert all(arn.startswith(share_prefix) for arn in shares.values())
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                # CreateResourceShare takes no resource type: a share ARN does not allow it.
                "Action": [
                    "ram:ListResourceSharePermissions",
                    "ram:DeleteResourceShare",
                    "ram:CreateResourceShare",
                ],
                "Resource": shares["ours"],
            },
            {"Effect": "Allow", "Action": "ram:GetResourceShares", "Resource": "*"},
        ],
    }
    ram = _role_session(enforced, DOMAIN_ACCOUNT, "one-share", policy).client(
        "ram", endpoint_url=enforced.url
    )
    listed = ram.list_resource_share_permissions(resourceShareArn=shares["ours"])
    assert listed["permissions"] == []
    _denied_on(
        lambda: ram.list_resource_share_permissions(resourceShareArn=shares["theirs"]),
        "ram:ListResourceSharePermissions",
        shares["theirs"],
    )
    # DeleteResourceShare names its share in the query string.
    _denied_on(
        lambda: ram.delete_resource_share(resourceShareArn=shares["theirs"]),
        "ram:DeleteResourceShare",
        shares["theirs"],
    )
    _denied_on(lambda: ram.create_resource_share(name="another"), "ram:CreateResourceShare", "*")

    member = enforced.client("ram", CONSUMER_ACCOUNT)
    invitation = {
        name: member.get_resource_share_invitations(resourceShareArns=[arn])[
            "resourceShareInvitations"
        ][0]["resourceShareInvitationArn"]
        for name, arn in shares.items()
    }
    invitation_prefix = f"arn:aws:ram:{REGION}:{DOMAIN_ACCOUNT}:resource-share-invitation/"
    assert all(arn.startswith(invitation_prefix) for arn in invitation.values())
    accepting = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "ram:AcceptResourceShareInvitation",
                "Resource": invitation["ours"],
            },
            {
                "Effect": "Allow",
                # GetResourceShareInvitations takes no resource type.
                "Action": "ram:GetResourceShareInvitations",
                "Resource": invitation_prefix + "*",
            },
        ],
    }
    consumer = _role_session(enforced, CONSUMER_ACCOUNT, "one-invitation", accepting).client(
        "ram", endpoint_url=enforced.url
    )
    accepted = consumer.accept_resource_share_invitation(
        resourceShareInvitationArn=invitation["ours"]
    )
    assert accepted["resourceShareInvitation"]["status"] == "ACCEPTED"
    _denied_on(
        lambda: consumer.accept_resource_share_invitation(
            resourceShareInvitationArn=invitation["theirs"]
        ),
        "ram:AcceptResourceShareInvitation",
        invitation["theirs"],
    )
    _denied_on(consumer.get_resource_share_invitations, "ram:GetResourceShareInvitations", "*")
    ram.delete_resource_share(resourceShareArn=shares["ours"])
    statuses = {
        s["resourceShareArn"]: s["status"]
        for s in ram.get_resource_shares(resourceOwner="SELF")["resourceShares"]
    }
    assert statuses[shares["ours"]] in ("DELETING", "DELETED")
    assert statuses[shares["theirs"]] == "ACTIVE"


def test_pass_role_is_checked_with_the_service_it_is_passed_to(enforced: Cloud) -> None:
    role = f"arn:aws:iam::{DOMAIN_ACCOUNT}:role/lf-access"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "lakeformation:RegisterResource", "Resource": "*"},
            {
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": role,
                "Condition": {"StringEquals": {"iam:PassedToService": "glue.amazonaws.com"}},
            },
        ],
    }
    lf = _role_session(enforced, DOMAIN_ACCOUNT, "registrar", policy).client(
        "lakeformation", endpoint_url=enforced.url
    )
    error = _error(lambda: lf.register_resource(ResourceArn=f"arn:aws:s3:::{BUCKET}", RoleArn=role))
    assert error["Code"] == "AccessDeniedException"
    assert f"iam:PassRole on resource: {role}" in error["Message"]


# --- trust policies ---------------------------------------------------------------


def test_assume_role_checks_the_external_id(enforced: Cloud) -> None:
    condition = {"StringEquals": {"sts:ExternalId": "shared-secret-id"}}
    session = _role_session(
        enforced,
        DOMAIN_ACCOUNT,
        "with-external-id",
        None,
        condition=condition,
        ExternalId="shared-secret-id",
    )
    identity = session.client("sts", endpoint_url=enforced.url).get_caller_identity()
    assert identity["Arn"].endswith(":assumed-role/with-external-id/t-with-external-id")
    sts = boto3.client("sts", endpoint_url=enforced.url, region_name=REGION)
    for extra in ({"ExternalId": "wrong"}, {}):
        error = _error(
            lambda extra=extra: sts.assume_role(
                RoleArn=f"arn:aws:iam::{DOMAIN_ACCOUNT}:role/with-external-id",
                RoleSessionName="again",
                **extra,
            )
        )
        assert error["Code"] == "AccessDenied"
        assert "sts:AssumeRole" in error["Message"]


def test_a_role_without_sts_permission_cannot_chain(enforced: Cloud) -> None:
    session = _role_session(enforced, DOMAIN_ACCOUNT, "no-sts", UNRELATED)
    sts = session.client("sts", endpoint_url=enforced.url)
    assert sts.get_caller_identity()["Account"] == DOMAIN_ACCOUNT  # always allowed
    error = _error(
        lambda: sts.assume_role(
            RoleArn=f"arn:aws:iam::{DOMAIN_ACCOUNT}:role/OrganizationAccountAccessRole",
            RoleSessionName="chain",
        )
    )
    assert error["Code"] == "AccessDenied"
    assert "sts:AssumeRole" in error["Message"]


# --- S3 between accounts -------------------------------------------------------------


def test_another_account_cannot_read_list_or_write_a_bucket(enforced: Cloud) -> None:
    _producer_object(enforced)
    consumer = enforced.client("s3", CONSUMER_ACCOUNT)  # the consumer's administrator
    for call, action in (
        (lambda: consumer.get_object(Bucket=BUCKET, Key=KEY), "s3:GetObject"),
        (lambda: consumer.list_objects_v2(Bucket=BUCKET), "s3:ListBucket"),
        (
            lambda: consumer.put_object(Bucket=BUCKET, Key="inventory/evil.csv", Body=b"x"),
            "s3:PutObject",
        ),
    ):
        error = _error(call)
        assert error["Code"] == "AccessDenied"
        assert action in error["Message"]
        assert "no resource-based policy allows" in error["Message"]
    keys = [o["Key"] for o in enforced.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == [KEY]


def test_a_bucket_name_another_account_holds_is_taken_not_denied(enforced: Cloud) -> None:
    """CreateBucket asks for a name, not for another account's bucket: AWS answers
    BucketAlreadyExists (409) to a caller allowed s3:CreateBucket, AccessDenied to one
    that is not, and the owner's bucket is untouched."""
    _producer_object(enforced)
    consumer = enforced.client("s3", CONSUMER_ACCOUNT)  # the consumer's administrator
    with pytest.raises(ClientError) as taken:
        consumer.create_bucket(Bucket=BUCKET)
    assert taken.value.response["Error"]["Code"] == "BucketAlreadyExists"
    assert taken.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    lonely = _role_session(enforced, CONSUMER_ACCOUNT, "no-s3", UNRELATED).client(
        "s3", endpoint_url=enforced.url
    )
    denied = _error(lambda: lonely.create_bucket(Bucket=BUCKET))
    assert denied["Code"] == "AccessDenied"
    assert "s3:CreateBucket" in denied["Message"]
    keys = [o["Key"] for o in enforced.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == [KEY]


def test_a_bucket_policy_lets_another_account_read_only_what_it_names(enforced: Cloud) -> None:
    _producer_object(enforced)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{CONSUMER_ACCOUNT}:root"},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{BUCKET}/inventory/*",
            }
        ],
    }
    enforced.client("s3").put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(policy))
    consumer = enforced.client("s3", CONSUMER_ACCOUNT)
    assert consumer.get_object(Bucket=BUCKET, Key=KEY)["Body"].read() == b"sku,qty\n1,2\n"
    assert _error(lambda: consumer.list_objects_v2(Bucket=BUCKET))["Code"] == "AccessDenied"
    # Both sides must allow: a consumer role without its own s3:GetObject is still denied.
    lonely = _role_session(enforced, CONSUMER_ACCOUNT, "no-s3", UNRELATED).client(
        "s3", endpoint_url=enforced.url
    )
    error = _error(lambda: lonely.get_object(Bucket=BUCKET, Key=KEY))
    assert error["Code"] == "AccessDenied"
    assert "no identity-based policy allows" in error["Message"]


def test_the_same_account_is_not_refused_by_a_missing_bucket_policy(enforced: Cloud) -> None:
    """The neighbour of the cross-account tests: the owner's admin reads its own bucket."""
    _producer_object(enforced)
    s3 = enforced.client("s3", DOMAIN_ACCOUNT)
    assert s3.get_object(Bucket=BUCKET, Key=KEY)["ContentLength"] == len(b"sku,qty\n1,2\n")


# --- what was evaluated, and what stays closed -------------------------------------------


def test_the_calls_log_says_how_each_request_was_authorised(enforced: Cloud) -> None:
    enforced.admin("POST", "calls/reset")
    boto3.client("sts", endpoint_url=enforced.url, region_name=REGION).get_caller_identity()
    enforced.client("glue", DOMAIN_ACCOUNT).get_databases()
    verdicts = [(c["service"], c["operation"], c["iam"]) for c in enforced.calls()]
    assert ("sts", "GetCallerIdentity", "root") in verdicts
    assert ("glue", "GetDatabases", "policy") in verdicts


def test_moto_api_is_not_served(cloud: Cloud) -> None:
    """moto's /moto-api/data.json would hand out every secret key and session token."""
    cloud.client("sts", DOMAIN_ACCOUNT).get_caller_identity()
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(f"{cloud.url}/moto-api/data.json", timeout=10)
    assert raised.value.code == 404


def test_unsigned_requests_are_refused(enforced: Cloud) -> None:
    """An unsigned request names no service (one port serves them all, the credential
    scope says which): it is refused before any service sees it."""
    request = urllib.request.Request(
        f"{enforced.url}/{BUCKET}", method="GET", headers={"Host": "localhost"}
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=10)
    assert raised.value.code == 403
    assert json.loads(raised.value.read()) == {
        "__type": "MissingAuthenticationTokenException",
        "message": "Request is missing Authentication Token",
    }
