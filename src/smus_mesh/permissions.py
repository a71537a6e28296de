"""The IAM policy the operator's credentials need, generated from what the steps declare.

Each resource kind lists the IAM actions its observe/create/delete use
(`Resource.iam_actions`); `audit`, `down`'s sweep and the collaboration commands
add the few they call directly. `operator_policy(config, alias)` turns that into
a policy for one account, narrowing IAM and S3 to the names smus-mesh uses:

    smus-mesh permissions --account consumer > consumer-operator-policy.json
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from smus_mesh.config import Config
from smus_mesh.resources.naming import Names
from smus_mesh.resources.setup import SetupBuilder

#: IAM's size quotas, in characters without white space ("IAM and AWS STS quotas"): one
#: managed policy, and all the inline policies of one role together.
MANAGED_POLICY_LIMIT = 6144
INLINE_POLICY_LIMIT = 10240

#: Calls made outside the resources: verify, audit/sweep, query, approve, unsubscribe.
EXTRA_ACTIONS = (
    "iam:ListRoles",
    "iam:ListRoleTags",
    "s3:GetBucketTagging",
    "glue:GetDatabase",
    "glue:GetTables",
    "glue:DeleteTable",
    "glue:DeleteDatabase",
    "athena:ListWorkGroups",
    "athena:ListTagsForResource",
    "athena:DeleteWorkGroup",
    "cloudformation:DescribeStacks",
    "cloudformation:DeleteStack",
    "codecommit:ListRepositories",
    "codecommit:GetRepository",
    "codecommit:ListTagsForResource",
    "codecommit:DeleteRepository",
    "lakeformation:ListPermissions",
    "lakeformation:RevokePermissions",
    "lakeformation:ListResources",
    "lakeformation:DeregisterResource",
    "lakeformation:GetDataLakeSettings",
    "lakeformation:PutDataLakeSettings",
    "ram:GetResourceShares",
    "ram:DeleteResourceShare",
    "datazone:ListDomains",
    "datazone:GetDomain",
    "datazone:DeleteDomain",
    "datazone:GetEnvironmentCredentials",
    "datazone:ListSubscriptionTargets",
    "datazone:ListConnections",
    "datazone:GetConnection",
    "datazone:GetSubscription",
    "datazone:CancelSubscription",
)


def actions_for(config: Config, alias: str) -> list[str]:
    """Every action the operator needs in account `alias` for this config."""
    builder = SetupBuilder(config)
    resources = builder.build()
    actions = {a for r in resources if r.account == alias for a in r.iam_actions}
    if alias == config.domain.account:
        actions |= {a for r in resources for a in r.domain_iam_actions}
    actions |= set(EXTRA_ACTIONS)
    # "No permissions are required to perform this operation" (STS API reference), and an
    # explicit Deny does not stop it either: a statement for it would only be noise.
    actions.discard("sts:GetCallerIdentity")
    if alias != config.domain.account:
        actions = {a for a in actions if not a.startswith("datazone:")} | {
            # An associated account configures its own blueprints and their grants.
            "datazone:ListEnvironmentBlueprints",
            "datazone:GetEnvironmentBlueprintConfiguration",
            "datazone:PutEnvironmentBlueprintConfiguration",
            "datazone:DeleteEnvironmentBlueprintConfiguration",
            "datazone:AddPolicyGrant",
            "datazone:ListPolicyGrants",
            "datazone:RemovePolicyGrant",
        }
    return sorted(actions)


#: Actions the Service Authorization Reference gives no resource type: their statement
#: needs "*" (they list what an account has).
LIST_ACTIONS = frozenset(
    {"athena:ListWorkGroups", "codecommit:ListRepositories", "cloudformation:DescribeStacks"}
)

#: The DataZone and RAM actions the Service Authorization Reference gives a resource type,
#: by the statement that narrows them; every other action of the two names none and
#: stays on "*" (docs/permissions.md).
DOMAIN_ACTIONS = frozenset(
    {
        "datazone:GetDomain",
        "datazone:DeleteDomain",
        "datazone:UpdateDomain",
        "datazone:TagResource",
        "datazone:UntagResource",
        "datazone:ListTagsForResource",
    }
)
SHARE_ACTIONS = frozenset({"ram:DeleteResourceShare", "ram:TagResource", "ram:UntagResource"})
INVITATION_ACTIONS = frozenset({"ram:AcceptResourceShareInvitation"})


def _scoped_resources(config: Config, alias: str) -> dict[str, list[str]]:
    """The resources of the services whose actions take resource-level permissions, as the
    Service Authorization Reference names them (docs/permissions.md)."""
    names = Names(config)
    account_id = config.account_id(alias)
    where = f"{config.region}:{account_id}"
    databases = sorted(
        {t.database.lower() for t in config.tables if t.account == alias}
        | {names.project_database(p.name) for p in config.projects if p.account == alias}
    )
    glue = f"arn:aws:glue:{where}:"
    return {
        # A catalog action needs the resource and its ancestors; deleting a database
        # needs its tables and user-defined functions too ("Specifying AWS Glue resource
        # ARNs"): the set-up's databases, and everything in them.
        "glue": [
            glue + "catalog",
            *(f"{glue}database/{d}" for d in databases),
            *(f"{glue}table/{d}/*" for d in databases),
            *(f"{glue}userDefinedFunction/{d}/*" for d in databases),
        ],
        # DataZone names the environments' workgroups, repositories and stacks after
        # generated ids, and the sweep reads every one's tags: the account's, in the region.
        "athena": [f"arn:aws:athena:{where}:workgroup/*"],
        "codecommit": [f"arn:aws:codecommit:{where}:*"],
        # DataZone's own provisioning policies scope its stacks to `stack/DataZone*`.
        "cloudformation": [f"arn:aws:cloudformation:{where}:stack/DataZone*"],
    }


def _narrowed_by_type(config: Config, alias: str, actions: list[str]) -> list[dict[str, Any]]:
    """DataZone's and RAM's statements: the actions on a domain, a share or an invitation
    on its ARNs, the rest on "*". A domain's, share's or invitation's id is generated when
    it is made, so the ARNs end in `*`, each in the account that owns it: the domain's
    account for the domain and the invitations to its share (the sender's), this account
    for its own shares. A joined domain (by id, ADR 26) is named by its id."""
    region = config.region
    domain_account = config.account_id(config.domain.account)
    domain_id = config.domain.id or "*"
    typed = (
        (
            "DatazoneDomain",
            DOMAIN_ACTIONS,
            f"arn:aws:datazone:{region}:{domain_account}:domain/{domain_id}",
        ),
        (
            "RamShare",
            SHARE_ACTIONS,
            f"arn:aws:ram:{region}:{config.account_id(alias)}:resource-share/*",
        ),
        (
            "RamInvitation",
            INVITATION_ACTIONS,
            f"arn:aws:ram:{region}:{domain_account}:resource-share-invitation/*",
        ),
    )
    service = actions[0].split(":", 1)[0]
    rest = sorted(a for a in actions if not any(a in group for _, group, _ in typed))
    statements = []
    if rest:
        statements.append(
            {"Sid": service.capitalize(), "Effect": "Allow", "Action": rest, "Resource": "*"}
        )
    for sid, group, arn in typed:
        named = sorted(a for a in actions if a in group)
        if named:
            statements.append({"Sid": sid, "Effect": "Allow", "Action": named, "Resource": arn})
    return statements


def _split(service: str, actions: list[str], resources: list[str]) -> list[dict[str, Any]]:
    """One statement on `resources`, and one on "*" for the actions that take none."""
    sid = service.capitalize()
    listed = sorted(a for a in actions if a in LIST_ACTIONS)
    narrow = sorted(a for a in actions if a not in LIST_ACTIONS)
    statements = []
    if narrow:
        statements.append({"Sid": sid, "Effect": "Allow", "Action": narrow, "Resource": resources})
    if listed:
        statements.append(
            {"Sid": sid + "List", "Effect": "Allow", "Action": listed, "Resource": "*"}
        )
    return statements


def operator_policy(config: Config, alias: str) -> dict[str, Any]:
    """A least-privilege identity policy for smus-mesh's principal in account `alias`."""
    names = Names(config)
    account_id = config.account_id(alias)
    by_service: dict[str, list[str]] = defaultdict(list)
    for action in actions_for(config, alias):
        by_service[action.split(":", 1)[0]].append(action)
    buckets = sorted(
        {names.blueprint_bucket(account_id)}
        | {t.bucket for t in config.tables if t.account == alias}
    )
    role = f"arn:aws:iam::{account_id}:role"
    service_roles = [
        f"AmazonSageMaker*-{config.name}",
        f"AmazonSageMakerManageAccess-{config.region}-dzd*",
        f"SmusMeshLakeFormationAccess-{config.name}",
    ]
    role_arns = [
        *(f"{role}/service-role/{name}" for name in service_roles),
        # DataZone's project roles: only removed by the leftover sweep.
        f"{role}/datazone_usr_role_*",
        # A role that does not exist yet has no path: `GetRole` by name before
        # `CreateRole` is authorised on the path-less ARN (docs/permissions.md).
        *(f"{role}/{name}" for name in service_roles),
    ]
    statements: list[dict[str, Any]] = []
    scoped = _scoped_resources(config, alias)
    for service, actions in sorted(by_service.items()):
        if service in scoped:
            statements += _split(service, actions, scoped[service])
            continue
        if service in ("datazone", "ram"):
            statements += _narrowed_by_type(config, alias, actions)
            continue
        statement: dict[str, Any] = {
            "Sid": service.capitalize(),
            "Effect": "Allow",
            "Action": sorted(a for a in actions if a != "iam:PassRole"),
            "Resource": "*",
        }
        if service == "iam":
            statement["Resource"] = role_arns
            if "iam:ListRoles" in actions:
                statements.append(
                    {
                        "Sid": "IamList",
                        "Effect": "Allow",
                        "Action": ["iam:ListRoles"],
                        "Resource": "*",
                    }
                )
                statement["Action"] = [a for a in statement["Action"] if a != "iam:ListRoles"]
        if service == "s3":
            statement["Resource"] = [f"arn:aws:s3:::{b}" for b in buckets] + [
                f"arn:aws:s3:::{b}/*" for b in buckets
            ]
        if statement["Action"]:
            statements.append(statement)
    own_role = config.accounts[alias].role_arn
    if own_role and any(t.account == alias for t in config.tables):
        # Lake Formation's administrator is smus-mesh's own role, whose ARN (with its
        # path, which the session ARN drops) only GetRole tells (docs/permissions.md).
        name = own_role.rsplit("/", 1)[-1]
        statements.append(
            {
                "Sid": "ReadOwnRole",
                "Effect": "Allow",
                "Action": "iam:GetRole",
                "Resource": [f"{role}/{name}", f"{role}/*/{name}"],
            }
        )
    if "iam:PassRole" in by_service.get("iam", []):
        statements.append(
            {
                "Sid": "PassOnlyToDataZoneAndLakeFormation",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": role_arns[:3],
                "Condition": {
                    "StringEquals": {
                        "iam:PassedToService": [
                            "datazone.amazonaws.com",
                            "lakeformation.amazonaws.com",
                        ]
                    }
                },
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def policy_size(policy: dict[str, Any]) -> int:
    """The policy's size as IAM counts it against its quotas: without white space."""
    return len(json.dumps(policy, separators=(",", ":")))


def size_warning(alias: str, policy: dict[str, Any]) -> str | None:
    """Why the policy cannot be attached as one managed policy (or even inline), if so."""
    size = policy_size(policy)
    if size <= MANAGED_POLICY_LIMIT:
        return None
    said = f"the {alias} policy is {size:,} characters without white space"
    if size <= INLINE_POLICY_LIMIT:
        return (
            f"{said}, over IAM's {MANAGED_POLICY_LIMIT:,} for a managed policy: attach it as "
            f"the role's inline policy (up to {INLINE_POLICY_LIMIT:,}) or split its statements "
            "over two managed policies"
        )
    return (
        f"{said}, over IAM's {MANAGED_POLICY_LIMIT:,} for a managed policy and "
        f"{INLINE_POLICY_LIMIT:,} for a role's inline policies: split its statements over "
        "two or more managed policies"
    )
