"""Strict IAM (`--iam enforce`): who signed a request, and may they do it (ADR 21).

One call, `authorise`, at the emulator's WSGI entry, before a request reaches moto:

1. **Authentication.** The SigV4 `Authorization` header names an access key; its secret
   is one of the emulator's root test credentials (`ROOT_CREDENTIALS`), a moto IAM user's
   key, or a session from `sts:AssumeRole` (whose `X-Amz-Security-Token` must match).
   The signature is recomputed with moto's `IAMRequest` machinery (botocore's SigV4 /
   S3 SigV4 canonicalisation) and compared.
2. **Authorisation.** The caller's identity policies (a role's inline and attached
   managed policies; a user's, and its groups', through moto's access-key classes) are
   evaluated statement by statement with moto's `IAMPolicyStatement` matchers: an
   explicit Deny wins, then an Allow. S3 adds the bucket policy, and a principal of
   another account than the bucket's needs both its own Allow and the bucket policy's.
   `iam:PassRole` is checked where an operation hands a role to a service.
3. **Not evaluated.** A root test key (the account's root user: AWS evaluates no identity
   policy for it within its own account), the admin endpoints, and every call the
   emulator makes itself in-process (DataZone acting as a service, the emulated
   fulfilment): those never pass through here.

Each request's outcome is recorded in the calls log (`iam`: "policy", "root", "denied" or
None when not enforced), so a test can count what was really evaluated.

What moto's machinery does not cover, and this module does not add, is listed in
docs/iam-enforcement.md (the resource ARNs not derived in `_derived`, most condition
operators, SCPs, permission boundaries, session policies, KMS).
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, unquote

from smus_mesh_emulator.faults import error_response, protocol_of

LOG = logging.getLogger(__name__)

MODES = ("off", "enforce")

#: The emulator's root/admin test credentials: access key id -> secret. Any of them is the
#: management account's root user (moto puts every non-session key there). Nothing else
#: signs as root: an unknown key is InvalidClientTokenId, as in AWS.
ROOT_CREDENTIALS = {
    "AKIAIOSFODNN7EXAMPLE": "emulator-secret",  # the test suite (tests/conftest.py)
    "AKIAEMULATORTEST0000": "emulator-test",  # smus_mesh.emulated, README
    "AKIAEMULATORDEMO0000": "emulator-demo",  # smus-mesh demo
}

Response = tuple[int, dict[str, str], bytes]

_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<key>[^/,\s]+)/(?P<scope>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]+)\s*$"
)

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

#: Operations that hand a role to a service, and where its ARN is in the request
#: (JSON body key) -> the service it is passed to (`iam:PassedToService`).
PASS_ROLE = {
    ("datazone", "CreateDomain"): (("domainExecutionRole", "serviceRole"), "datazone"),
    ("datazone", "PutEnvironmentBlueprintConfiguration"): (
        ("manageAccessRoleArn", "provisioningRoleArn"),
        "datazone",
    ),
    ("lakeformation", "RegisterResource"): (("RoleArn",), "lakeformation"),
    ("lakeformation", "UpdateResource"): (("RoleArn",), "lakeformation"),
}


@dataclass
class Caller:
    """Who signed a request."""

    account: str
    #: the ARN AWS names in a denial (an assumed-role session's, a user's, the root's)
    arn: str
    secret: str
    token: str | None = None
    root: bool = False
    #: identity policy documents (JSON strings)
    policies: list[str] = field(default_factory=list)
    #: the role ARN of a session (a resource policy names the role, not the session)
    role_arn: str | None = None


class Refused(Exception):
    """The request is not authenticated or not authorised: AWS's error for it."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


# --- authentication --------------------------------------------------------------


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    """The request's headers under the names the client signed: moto's EnvironHeaders
    gives S3 metadata its original spelling (`x-amz-meta-my_key`, which WSGI folds into
    the same key as `x-amz-meta-my-key`)."""
    from moto.core.request import EnvironHeaders

    return dict(EnvironHeaders(environ).items())


def _raw_path(environ: dict[str, Any]) -> str:
    """The path and query exactly as the client sent (and signed) them."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return str(raw)
    path = quote(environ.get("PATH_INFO", "").encode("latin-1"), safe="/~!$&'()*+,;=:@%")
    query = environ.get("QUERY_STRING", "")
    return f"{path}?{query}" if query else path


def _invalid_key(service: str, token: bool) -> Refused:
    if service == "s3":
        if token:
            return Refused(
                400, "InvalidToken", "The provided token is malformed or otherwise invalid."
            )
        return Refused(
            403,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
        )
    message = "The security token included in the request is invalid."
    if protocol_of(service) == "query":
        return Refused(403, "InvalidClientTokenId", message)
    return Refused(403, "UnrecognizedClientException", message)


def _bad_signature(service: str) -> Refused:
    message = (
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method."
    )
    if service == "s3" or protocol_of(service) == "query":
        return Refused(403, "SignatureDoesNotMatch", message)
    return Refused(403, "InvalidSignatureException", message)


def _role_policies(account: str, role_name: str) -> list[str] | None:
    """The inline and attached managed policy documents of a role, None if it is gone."""
    from moto.iam.models import iam_backends

    backend = iam_backends[account]["global"]
    role = next((r for r in backend.roles.values() if r.name == role_name), None)
    if role is None:
        return None
    # CloudFormation's inline policies are kept as dicts, PutRolePolicy's as strings.
    documents = [doc if isinstance(doc, str) else json.dumps(doc) for doc in role.policies.values()]
    for policy in role.managed_policies.values():
        version = next(v for v in policy.versions if v.is_default)
        documents.append(str(version.document))
    return documents


def identify(key: str, token: str | None, service: str) -> Caller:
    """The caller behind access key `key` (with session token `token`), or Refused."""
    from moto.iam.models import get_account_id_from
    from moto.sts.models import sts_backends

    account = str(get_account_id_from(key))
    if key in ROOT_CREDENTIALS:
        if token is not None:
            raise _invalid_key(service, token=True)
        return Caller(account, f"arn:aws:iam::{account}:root", ROOT_CREDENTIALS[key], root=True)
    for backend in sts_backends[account].values():
        for session in backend.assumed_roles:
            if session.access_key_id != key:
                continue
            if token != session.session_token:
                raise _invalid_key(service, token=True)
            role_name = session.role_arn.split("/")[-1]
            policies = _role_policies(account, role_name)
            if policies is None:  # the role was deleted: its sessions stop working
                raise _invalid_key(service, token=True)
            return Caller(
                account,
                str(session.arn),
                session.secret_access_key,
                token,
                policies=policies,
                role_arn=str(session.role_arn),
            )
    from moto.iam.access_control import CreateAccessKeyFailure, IAMUserAccessKey

    try:
        user = IAMUserAccessKey(
            account, "aws", key, {} if token is None else {"X-Amz-Security-Token": token}
        )
    except CreateAccessKeyFailure as exc:
        raise _invalid_key(service, token=exc.reason == "InvalidToken") from None
    documents = []
    for policy in user.collect_policies():
        from moto.iam.models import Policy

        if isinstance(policy, Policy):
            documents.append(str(next(v for v in policy.versions if v.is_default).document))
        elif isinstance(policy, str):
            documents.append(policy)
        else:
            documents.append(str(policy["policy_document"]))
    return Caller(account, user.arn, user.create_credentials().secret_key, policies=documents)


def check_signature(
    caller: Caller,
    environ: dict[str, Any],
    headers: dict[str, str],
    body: bytes,
    scope: str,
    signature: str,
    signed: str,
) -> bool:
    """Recompute the request's SigV4 signature with moto's IAMRequest and compare."""
    from botocore.auth import S3SigV4Auth
    from botocore.credentials import Credentials
    from moto.iam.access_control import IAMRequest

    _, region, signing_name = scope.split("/")[:3]

    class _Key:
        def create_credentials(self) -> Credentials:
            return Credentials("_", caller.secret, caller.token)

    # moto's IAMRequest canonicalises the request as botocore signed it; its constructor
    # looks the key up among IAM users only, so the fields are set here instead.
    request = IAMRequest.__new__(IAMRequest)
    request._method = environ.get("REQUEST_METHOD", "GET")
    request._path = _raw_path(environ)
    request._data = {}
    request._body = body
    request._headers = headers
    request._region = region
    request._service = signing_name
    request._access_key = _Key()  # type: ignore[assignment]
    if signing_name == "s3":
        request._create_auth = lambda credentials: S3SigV4Auth(  # type: ignore[method-assign]
            credentials, signing_name, region
        )
    try:
        calculated = request._calculate_signature()
    except Exception:
        return False
    return hmac.compare_digest(calculated, signature)


# --- authorisation ---------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


_CONDITION_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda want, have: have == want,
    "StringNotEquals": lambda want, have: have != want,
    "StringLike": lambda want, have: _wildcard(want, have),
    "StringNotLike": lambda want, have: not _wildcard(want, have),
    "ArnEquals": lambda want, have: have == want,
    "ArnLike": lambda want, have: _wildcard(want, have),
    "ArnNotEquals": lambda want, have: have != want,
    "ArnNotLike": lambda want, have: not _wildcard(want, have),
}


def _wildcard(pattern: str, value: str) -> bool:
    from moto.iam.access_control import IAMPolicyStatement

    return (
        IAMPolicyStatement._match(re.escape(pattern).replace(r"\*", "*").replace(r"\?", "."), value)
        is not None
    )


def conditions_hold(conditions: dict[str, Any] | None, context: dict[str, str]) -> bool:
    """A statement's Condition block against the request's context keys. A key the request
    does not have fails the condition (AWS), unless the operator ends in IfExists; an
    operator this evaluator does not know fails closed."""
    for operator, keys in (conditions or {}).items():
        if_exists = operator.endswith("IfExists")
        base = operator[: -len("IfExists")] if if_exists else operator
        if base == "Null":
            for key, want in keys.items():
                if (key not in context) != (str(want).lower() == "true"):
                    return False
            continue
        compare = _CONDITION_OPERATORS.get(base)
        if compare is None:
            return False
        for key, wanted in keys.items():
            lowered = {k.lower(): v for k, v in context.items()}
            if key.lower() not in lowered:
                if if_exists:
                    continue
                return False
            have = lowered[key.lower()]
            negated = base.startswith(("StringNot", "ArnNot"))
            results = [compare(str(w), have) for w in _as_list(wanted)]
            if not (all(results) if negated else any(results)):
                return False
    return True


def _statement_applies(statement: dict[str, Any], action: str, resource: str | None) -> bool:
    """Does `statement` (without its Principal) cover `action` on `resource` (None: the
    resource is not known here, so any Resource element matches)?"""
    from moto.iam.access_control import IAMPolicyStatement

    matcher = IAMPolicyStatement(statement)
    if "NotAction" in statement:
        if matcher._check_element_matches("NotAction", action):
            return False
    elif "Action" not in statement or not matcher._check_element_matches("Action", action):
        return False
    if resource is None:
        return True
    if "NotResource" in statement:
        return not matcher._check_element_matches("NotResource", resource)
    if "Resource" not in statement:
        return True
    return bool(matcher._check_element_matches("Resource", resource))


def _verdict(
    statements: list[Any],
    action: str,
    resource: str | None,
    context: dict[str, str],
    applies_to_caller: Callable[[dict[str, Any]], bool] = lambda statement: True,
) -> str:
    """ "Deny", "Allow" or "None" for `action` on `resource` under these statements (those
    whose Principal does not name the caller skipped): an explicit Deny wins."""
    allowed = False
    for statement in statements:
        if not isinstance(statement, dict) or not applies_to_caller(statement):
            continue
        if not _statement_applies(statement, action, resource):
            continue
        if not conditions_hold(statement.get("Condition"), context):
            continue
        if statement.get("Effect") == "Deny":
            return "Deny"
        allowed = allowed or statement.get("Effect") == "Allow"
    return "Allow" if allowed else "None"


def _statements(document: Any) -> list[Any]:
    """The Statement list of a policy document (a JSON string or a dict); none if broken."""
    try:
        policy = json.loads(document) if isinstance(document, str) else document
    except ValueError:
        return []
    return _as_list(policy.get("Statement")) if isinstance(policy, dict) else []


def evaluate(
    documents: list[str], action: str, resource: str | None, context: dict[str, str]
) -> str:
    """ "Deny", "Allow" or "None" for `action` on `resource` under identity policies."""
    statements = [s for document in documents for s in _statements(document)]
    return _verdict(statements, action, resource, context)


def _principal_matches(principal: Any, caller: Caller) -> bool:
    """Does a resource policy's Principal name the caller (its session's role, its
    account, or everyone)?"""
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    names = {caller.arn, caller.account, f"arn:aws:iam::{caller.account}:root"}
    if caller.role_arn:
        names.add(caller.role_arn)
    return any(p == "*" or p in names for p in _as_list(principal.get("AWS")))


def evaluate_resource_policy(
    document: str | None, caller: Caller, action: str, resource: str, context: dict[str, str]
) -> str:
    """ "Deny", "Allow" or "None" for the caller under a resource (bucket) policy: only the
    statements whose Principal names the caller count."""
    return _verdict(
        _statements(document) if document else [],
        action,
        resource,
        context,
        lambda statement: _principal_matches(statement.get("Principal"), caller),
    )


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
    caller: Caller,
    prefix: str,
    region: str = "us-east-1",
) -> tuple[Target, dict[str, Any]]:
    params = _params(environ, body) if service != "s3" else {}
    if service == "s3":
        return _s3_target(operation, environ, caller.account), params
    if service == "ram" and environ.get("QUERY_STRING"):
        # RAM's DeleteResourceShare names its share in the query string.
        query = {k: v[0] for k, v in parse_qs(environ["QUERY_STRING"]).items()}
        params = {**query, **params}
    action = f"{prefix}:{operation}"
    resource: str | None = None
    if service == "iam":
        resource = _iam_resource(caller.account, operation, params)
    elif service == "sts" and operation == "AssumeRole":
        resource = str(params.get("RoleArn") or "*")
    elif (
        derived := _derived(service, operation, params, region, caller.account, environ)
    ) is not None:
        return Target(action, derived[0], also=tuple(derived[1:])), params
    return Target(action, resource), params


def _denied(service: str, caller: Caller, action: str, resource: str | None, why: str) -> Refused:
    on = resource if resource and resource != "*" else "*"
    message = f"User: {caller.arn} is not authorized to perform: {action} on resource: {on} {why}"
    if service in ("s3", "sts", "iam", "cloudformation"):
        return Refused(403, "AccessDenied", message)
    # The JSON protocols answer 400, the REST-JSON ones 403 (as AWS does).
    status = 403 if protocol_of(service) == "rest-json" else 400
    return Refused(status, "AccessDeniedException", message)


def decide(
    service: str,
    operation: str,
    environ: dict[str, Any],
    body: bytes,
    caller: Caller,
    prefix: str,
    region: str = "us-east-1",
) -> str:
    """ "root" or "policy" if the caller may make this request; raises Refused otherwise."""
    target, params = target_of(service, operation, environ, body, caller, prefix, region)
    context = {
        "aws:PrincipalAccount": caller.account,
        "aws:PrincipalArn": caller.role_arn or caller.arn,
    }
    if "ExternalId" in params:
        context["sts:ExternalId"] = str(params["ExternalId"])
    cross_account = target.owner is not None and target.owner != caller.account
    if target.owner is not None:
        context["aws:ResourceAccount"] = target.owner
    if caller.root and not cross_account:
        return "root"
    if target.action == "sts:GetCallerIdentity":  # AWS: no permission needed, even if denied
        return "policy"
    # An action on several resources (a Glue table, its database and its catalog) needs
    # each of them allowed; a denial names the first one that is not.
    for resource in target.resources():
        _check_resource(service, caller, target, resource, context, cross_account)
    _check_pass_role(service, operation, params, caller, context)
    return "root" if caller.root else "policy"


def _check_resource(
    service: str,
    caller: Caller,
    target: Target,
    resource: str | None,
    context: dict[str, str],
    cross_account: bool,
) -> None:
    action = target.action
    identity = "Allow" if caller.root else evaluate(caller.policies, action, resource, context)
    resource_policy = (
        evaluate_resource_policy(target.bucket_policy, caller, action, resource or "*", context)
        if target.bucket is not None
        else "None"
    )
    no_identity = f"because no identity-based policy allows the {action} action"
    if identity == "Deny" or resource_policy == "Deny":
        raise _denied(service, caller, action, resource, "with an explicit deny")
    if cross_account:
        if identity != "Allow":
            raise _denied(service, caller, action, resource, no_identity)
        if resource_policy != "Allow":
            raise _denied(
                service,
                caller,
                action,
                resource,
                f"because no resource-based policy allows the {action} action",
            )
    elif identity != "Allow" and resource_policy != "Allow":
        raise _denied(service, caller, action, resource, no_identity)


def _check_pass_role(
    service: str, operation: str, params: dict[str, Any], caller: Caller, context: dict[str, str]
) -> None:
    passed = PASS_ROLE.get((service, operation))
    if passed is None or caller.root:
        return
    keys, to_service = passed
    for key in keys:
        role_arn = params.get(key)
        if not isinstance(role_arn, str) or not role_arn:
            continue
        role_context = {**context, "iam:PassedToService": f"{to_service}.amazonaws.com"}
        if evaluate(caller.policies, "iam:PassRole", role_arn, role_context) != "Allow":
            raise _denied(
                service,
                caller,
                "iam:PassRole",
                role_arn,
                "because no identity-based policy allows the iam:PassRole action",
            )


def authorise(environ: dict[str, Any], service: str, operation: str) -> tuple[str, Response | None]:
    """("root" | "policy" | "denied", None or the error response) for one AWS request."""
    header = environ.get("HTTP_AUTHORIZATION", "")
    match = _AUTH.match(header)
    body: bytes = environ["wsgi.input"].getvalue()
    try:
        if match is None:
            if service == "s3":
                raise Refused(403, "AccessDenied", "Anonymous access is not allowed")
            raise Refused(
                403,
                "MissingAuthenticationTokenException"
                if protocol_of(service) != "query"
                else "MissingAuthenticationToken",
                "Request is missing Authentication Token",
            )
        key, scope = match.group("key"), match.group("scope")
        headers = _headers(environ)
        token = headers.get("X-Amz-Security-Token")
        caller = identify(key, token, service)
        if not check_signature(
            caller, environ, headers, body, scope, match.group("signature"), match.group("signed")
        ):
            raise _bad_signature(service)
        _, region, prefix = scope.split("/")[:3]
        how = decide(service, operation, environ, body, caller, prefix, region)
    except Refused as refused:
        LOG.info("iam: %s %s refused: %s %s", service, operation, refused.code, refused.message)
        return "denied", error_response(service, refused.status, refused.code, refused.message)
    return how, None
