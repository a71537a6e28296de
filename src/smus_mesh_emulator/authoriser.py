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
docs/iam-enforcement.md (the resource ARNs not derived in `targets._derived`, most condition
operators, SCPs, permission boundaries, session policies, KMS).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from botocore.auth import S3SigV4Auth, SigV4Auth

from smus_mesh_emulator.faults import error_response, protocol_of
from smus_mesh_emulator.targets import Target, target_of

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


@lru_cache(maxsize=1024)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """SigV4's derived key (four HMACs), the same for every request of one secret, day,
    region and service, so derived once (AWS documents the derivation: sigv4-create-signed
    -request, "calculate the signature")."""
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _with_cached_key(auth_class: type[SigV4Auth]) -> type[SigV4Auth]:
    class Auth(auth_class):  # type: ignore[misc]
        def signature(self, string_to_sign: str, request: Any) -> str:
            key = signing_key(
                self.credentials.secret_key,
                request.context["timestamp"][0:8],
                self._region_name,
                self._service_name,
            )
            return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()

    return Auth


_SigV4Auth = _with_cached_key(SigV4Auth)
_S3SigV4Auth = _with_cached_key(S3SigV4Auth)


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
    auth_class = _S3SigV4Auth if signing_name == "s3" else _SigV4Auth
    request._create_auth = lambda credentials: auth_class(  # type: ignore[method-assign]
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
    target, params = target_of(service, operation, environ, body, caller.account, prefix, region)
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
