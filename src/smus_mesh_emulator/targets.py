"""What a request acts on, for strict IAM (ADR 21, 25): its IAM action and the resource
ARNs the Service Authorization Reference defines for it, derived from the request alone
(and, for S3, the bucket's owner and policy). The authoriser evaluates policies against
these; what is not derived here matches any statement's Resource (docs/iam-enforcement.md).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

#: S3 operations whose IAM action is not `s3:<operation>` (AWS's "Actions, resources and
#: condition keys for Amazon S3"; botocore operation -> action).
S3_ACTIONS = {
    "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "HeadBucket": "ListBucket",
    "HeadObject": "GetObject",
    "CopyObject": "PutObject",
    "DeleteObjects": "DeleteObject",
    "ListBuckets": "ListAllMyBuckets",
    "ListObjectVersions": "ListBucketVersions",
    "DeleteBucketTagging": "PutBucketTagging",
    "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
    "GetPublicAccessBlock": "GetBucketPublicAccessBlock",
    "DeletePublicAccessBlock": "PutBucketPublicAccessBlock",
    "PutBucketEncryption": "PutEncryptionConfiguration",
    "GetBucketEncryption": "GetEncryptionConfiguration",
    "DeleteBucketEncryption": "PutEncryptionConfiguration",
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "ListMultipartUploads": "ListBucketMultipartUploads",
    "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
    "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
    "DeleteBucketLifecycle": "PutLifecycleConfiguration",
}


@dataclass
class Target:
    """What a request does: the IAM action, its resource ARN (None when not derived), and,
    for S3, the bucket's owner account and policy. `also`: further resources the action
    needs permission on (a Glue table's database and catalog): each must be allowed."""

    action: str
    resource: str | None
    bucket: str | None = None
    owner: str | None = None
    bucket_policy: str | None = None
    also: tuple[str, ...] = ()

    def resources(self) -> list[str | None]:
        return [self.resource, *self.also]


def _s3_target(operation: str, environ: dict[str, Any], caller_account: str) -> Target:
    from moto.s3.models import s3_backends

    action = "s3:" + S3_ACTIONS.get(operation, operation)
    host = environ.get("HTTP_HOST", "").split(":")[0]
    path = unquote(environ.get("PATH_INFO", ""))
    bucket, key = None, None
    virtual = re.match(r"^([a-z0-9.-]+)\.s3[.-]", host)
    if virtual:
        bucket, key = virtual.group(1), path.lstrip("/") or None
    else:
        parts = path.lstrip("/").split("/", 1)
        bucket = parts[0] or None
        key = parts[1] if len(parts) > 1 and parts[1] else None
    if bucket is None:
        return Target(action, "*")
    resource = f"arn:aws:s3:::{bucket}/{key}" if key else f"arn:aws:s3:::{bucket}"
    if operation == "CreateBucket":
        # A request to make the bucket, not to use one: only the caller's own policy
        # counts; a name another account holds is S3's answer afterwards
        # (BucketAlreadyExists), not a cross-account denial.
        return Target(action, resource)
    owner_entry = s3_backends.bucket_accounts.get(bucket)
    owner = owner_entry[1] if owner_entry else None
    policy = None
    if owner is not None:
        found = s3_backends[owner]["aws"].buckets.get(bucket)
        raw = getattr(found, "policy", None)
        policy = raw.decode() if isinstance(raw, bytes) else raw
    return Target(action, resource, bucket, owner, policy)


def _params(environ: dict[str, Any], body: bytes) -> dict[str, Any]:
    """The request's parameters: the query protocol's form, or the JSON body."""
    if (protocol := environ.get("CONTENT_TYPE", "")) and "x-www-form-urlencoded" in protocol:
        return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    try:
        data = json.loads(body) if body else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _iam_resource(account: str, operation: str, params: dict[str, Any]) -> str | None:
    from moto.iam.models import iam_backends

    if "RoleName" in params:
        name = str(params["RoleName"])
        backend = iam_backends[account]["global"]
        role = next((r for r in backend.roles.values() if r.name == name), None)
        if role is not None:
            return str(role.arn)
        path = str(params.get("Path") or "/")
        return f"arn:aws:iam::{account}:role{path}{name}"
    if "PolicyArn" in params and not operation.endswith(("RolePolicy", "UserPolicy")):
        return str(params["PolicyArn"])
    if operation in ("ListRoles", "ListPolicies"):
        return "*"
    return None


#: Operations of these services that take no resource-level permission (the Service
#: Authorization Reference lists no resource type: the policy must allow "*").
_LIST_OPERATIONS = {
    ("athena", "ListWorkGroups"),
    ("codecommit", "ListRepositories"),
    ("glue", "GetDatabases"),
}


def _glue_resources(
    operation: str, params: dict[str, Any], region: str, account: str
) -> list[str] | None:
    """The Glue Data Catalog ARNs an operation needs permission on ("Specifying AWS Glue
    resource ARNs"): the resource and all its ancestors; a delete also every child (a
    database's tables and user-defined functions). None: not derived."""
    catalog_id = str(params.get("CatalogId") or account)
    base = f"arn:aws:glue:{region}:{catalog_id}:"
    catalog = base + "catalog"
    database = params.get("DatabaseName")
    if operation == "GetDatabases":
        return [catalog, base + "database/*"]
    if operation == "CreateDatabase":
        database = (params.get("DatabaseInput") or {}).get("Name")
    elif operation in ("GetDatabase", "UpdateDatabase", "DeleteDatabase"):
        database = params.get("Name")
    if not isinstance(database, str) or not database:
        return None
    database = database.lower()  # Glue keeps catalog names in lower case
    found = [catalog, f"{base}database/{database}"]
    if operation == "DeleteDatabase":
        return [*found, f"{base}table/{database}/*", f"{base}userDefinedFunction/{database}/*"]
    if operation in ("CreateDatabase", "GetDatabase", "UpdateDatabase"):
        return found
    if operation in ("GetTables", "SearchTables"):
        return [*found, f"{base}table/{database}/*"]
    table = params.get("Name") or params.get("TableName")
    if operation in ("CreateTable", "UpdateTable"):
        table = (params.get("TableInput") or {}).get("Name")
    if operation == "BatchDeleteTable":
        names = [str(n).lower() for n in params.get("TablesToDelete") or []]
        return [*found, *(f"{base}table/{database}/{n}" for n in names)]
    if not isinstance(table, str) or not table:
        return None
    return [*found, f"{base}table/{database}/{table.lower()}"]


def _stack_arn(region: str, account: str, name: str) -> str:
    """A stack named by name or id: its ARN (`stack/<name>/<id>`); a stack that does not
    exist, `stack/<name>/*` (a policy names stacks by `stack/<name>/*`)."""
    if name.startswith("arn:"):
        return name
    from moto.cloudformation.models import cloudformation_backends

    backend = cloudformation_backends[account][region]
    for stack in list(backend.stacks.values()):
        if stack.name == name and stack.status != "DELETE_COMPLETE":
            return str(stack.stack_id)
    return f"arn:aws:cloudformation:{region}:{account}:stack/{name}/*"


#: DataZone's actions on a domain ("Actions, resources, and condition keys for Amazon
#: DataZone": `domain` is its only resource type, `arn:aws:datazone:<region>:<account>:
#: domain/<id>`); every other DataZone action names no resource type and needs "*".
_DATAZONE_DOMAIN_OPERATIONS = frozenset({"GetDomain", "DeleteDomain", "UpdateDomain"})
_DATAZONE_TAG_OPERATIONS = frozenset({"TagResource", "UntagResource", "ListTagsForResource"})


def _datazone_resources(
    operation: str, environ: dict[str, Any], region: str, account: str
) -> list[str]:
    """The resource of a DataZone request: the domain's ARN in the domain's own account
    (for another account's call on a shared domain, the owner's), the ARN a tagging call
    names, or "*" for the actions the reference gives no resource type."""
    path = environ.get("PATH_INFO", "")
    if operation in _DATAZONE_TAG_OPERATIONS and path.startswith("/tags/"):
        return [unquote(path[len("/tags/") :])]
    if operation not in _DATAZONE_DOMAIN_OPERATIONS:
        return ["*"]
    domain_id = unquote(path.rstrip("/").rsplit("/", 1)[-1])
    from smus_mesh_emulator.datazone.domains import all_domains

    owner = next((d.account_id for d in all_domains(region) if d.id == domain_id), account)
    return [f"arn:aws:datazone:{region}:{owner}:domain/{domain_id}"]


#: RAM's actions on a resource share or an invitation, by the request member naming it
#: ("Actions, resources, and condition keys for AWS Resource Access Manager (RAM)":
#: `resource-share/<id>` and `resource-share-invitation/<id>`, each ARN in the account
#: of the share's owner).
_RAM_NAMED = {
    "DeleteResourceShare": "resourceShareArn",
    "AssociateResourceShare": "resourceShareArn",
    "DisassociateResourceShare": "resourceShareArn",
    "ListResourceSharePermissions": "resourceShareArn",
    "PromoteResourceShareCreatedFromPolicy": "resourceShareArn",
    "AcceptResourceShareInvitation": "resourceShareInvitationArn",
    "RejectResourceShareInvitation": "resourceShareInvitationArn",
    "ListPendingInvitationResources": "resourceShareInvitationArn",
}
#: RAM's actions the reference gives no resource type: the policy must allow "*".
_RAM_UNNAMED = frozenset(
    {
        "CreateResourceShare",
        "EnableSharingWithAwsOrganization",
        "GetResourcePolicies",
        "GetResourceShareAssociations",
        "GetResourceShareInvitations",
        "GetResourceShares",
        "ListPermissions",
        "ListPermissionVersions",
        "ListPrincipals",
        "ListResources",
        "ListResourceTypes",
    }
)


def _ram_resources(operation: str, params: dict[str, Any]) -> list[str] | None:
    """The resource of a RAM request; None for the permission operations (not derived)."""
    if operation in _RAM_UNNAMED:
        return ["*"]
    if operation in ("TagResource", "UntagResource"):
        # A share or a customer managed permission (both optional resource types).
        named = params.get("resourceShareArn") or params.get("resourceArn")
        return [str(named)] if named else None
    member = _RAM_NAMED.get(operation)
    if member is None or not params.get(member):
        return None
    return [str(params[member])]


def _derived(
    service: str,
    operation: str,
    params: dict[str, Any],
    region: str,
    account: str,
    environ: dict[str, Any] | None = None,
) -> list[str] | None:
    """The resource ARNs of a request, as the Service Authorization Reference defines
    them, for the services whose resources smus-mesh's policy narrows; None: not derived
    (any Resource of a statement matches)."""
    if (service, operation) in _LIST_OPERATIONS:
        return ["*"]
    if service == "datazone":
        return _datazone_resources(operation, environ or {}, region, account)
    if service == "ram":
        return _ram_resources(operation, params)
    if service == "glue":
        return _glue_resources(operation, params, region, account)
    if service == "athena":
        if "ResourceARN" in params:  # ListTagsForResource, TagResource, UntagResource
            return [str(params["ResourceARN"])]
        if "WorkGroup" in params or operation == "StartQueryExecution":
            name = params.get("WorkGroup") or "primary"
            return [f"arn:aws:athena:{region}:{account}:workgroup/{name}"]
        if "Name" in params and "WorkGroup" in operation:  # Create/Delete/Get/UpdateWorkGroup
            return [f"arn:aws:athena:{region}:{account}:workgroup/{params['Name']}"]
        return None
    if service == "codecommit":
        if "resourceArn" in params:
            return [str(params["resourceArn"])]
        if "repositoryName" in params:
            return [f"arn:aws:codecommit:{region}:{account}:{params['repositoryName']}"]
        return None
    if service == "cloudformation":
        name = params.get("StackName")
        if isinstance(name, str) and name:
            return [_stack_arn(region, account, name)]
        return ["*"] if operation in ("DescribeStacks", "ListStacks") else None
    return None


def target_of(
    service: str,
    operation: str,
    environ: dict[str, Any],
    body: bytes,
    account: str,
    prefix: str,
    region: str = "us-east-1",
) -> tuple[Target, dict[str, Any]]:
    params = _params(environ, body) if service != "s3" else {}
    if service == "s3":
        return _s3_target(operation, environ, account), params
    if service == "ram" and environ.get("QUERY_STRING"):
        # RAM's DeleteResourceShare names its share in the query string.
        query = {k: v[0] for k, v in parse_qs(environ["QUERY_STRING"]).items()}
        params = {**query, **params}
    action = f"{prefix}:{operation}"
    resource: str | None = None
    if service == "iam":
        resource = _iam_resource(account, operation, params)
    elif service == "sts" and operation == "AssumeRole":
        resource = str(params.get("RoleArn") or "*")
    elif (derived := _derived(service, operation, params, region, account, environ)) is not None:
        return Target(action, derived[0], also=tuple(derived[1:])), params
    return Target(action, resource), params
