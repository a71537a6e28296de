"""The organization of the emulated accounts, its member accounts, and account creation."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.iam.models import iam_backends
from moto.organizations import utils as org_utils
from moto.organizations.models import (
    FakeAccount,
    FakeOrganization,
    FakePolicy,
    FakeRoot,
    OrganizationsBackend,
    organizations_backends,
)

from smus_mesh_emulator import accounts
from smus_mesh_emulator.progress import Stage, Transition
from smus_mesh_emulator.runtime import RUNTIME

PARTITION = "aws"
#: The region moto's organization objects carry (Organizations is a global service).
HOME_REGION = "us-east-1"
ADMIN_POLICY_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
#: Scheduler kind of an account creation (AWS: "a few minutes").
CREATE_ACCOUNT_KIND = "organizations.create_account"


class MemberAccount(FakeAccount):
    """moto's account record with a chosen id, and no IAM side effect of its own.

    moto's `FakeAccount.__init__` draws a random id and creates the access role in
    that account at once; the emulator picks the id and creates the role itself
    (`ensure_access_role`), when the account comes into being.
    """

    def __init__(
        self, organization: FakeOrganization, account_id: str, name: str, email: str
    ) -> None:  # moto's __init__ is not called: it would create a role in a random account
        self.type = "ACCOUNT"
        self.region = organization.region
        self.organization_id = organization.id
        self.master_account_id = organization.master_account_id
        self.create_account_status_id = org_utils.make_random_create_account_status_id()
        self.id = account_id
        self.name = name
        self.email = email
        self.create_time = datetime.now(UTC).replace(tzinfo=None)
        self.status = "ACTIVE"
        self.state = "ACTIVE"
        self.joined_method = "CREATED"
        self.parent_id = organization.root_id
        self.attached_policies: list[FakePolicy] = []
        self.tags: dict[str, str] = {}


@dataclass(eq=False)
class AccountCreation:
    """One `CreateAccount` request and its `CreateAccountStatus`."""

    id: str
    account_name: str
    email: str
    role_name: str
    tags: dict[str, str]
    state: str = "IN_PROGRESS"
    account_id: str | None = None
    failure_reason: str | None = None
    requested: datetime = field(default_factory=lambda: datetime.now(UTC))
    completed: datetime | None = None
    transition: Transition | None = None

    def to_dict(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "Id": self.id,
            "AccountName": self.account_name,
            "State": self.state,
            "RequestedTimestamp": self.requested.timestamp(),
        }
        if self.completed is not None:
            status["CompletedTimestamp"] = self.completed.timestamp()
        if self.account_id is not None:
            status["AccountId"] = self.account_id
        if self.failure_reason is not None:
            status["FailureReason"] = self.failure_reason
        return status


def _trust_policy(management_account: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{management_account}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def ensure_access_role(account_id: str, management_account: str, role_name: str) -> None:
    """The role AWS Organizations creates in an account it creates: trusts the management
    account, AdministratorAccess attached (idempotent)."""
    from smus_mesh_emulator.iam.models import ensure_aws_managed_policy

    iam = iam_backends[account_id]["global"]
    if any(role.name == role_name for role in iam.roles.values()):
        return
    iam.create_role(
        role_name=role_name,
        assume_role_policy_document=_trust_policy(management_account),
        path="/",
        permissions_boundary=None,
        description="Created by AWS Organizations for the management account",
        tags=[],
        max_session_duration="3600",
    )
    ensure_aws_managed_policy(account_id, ADMIN_POLICY_ARN)
    iam.attach_role_policy(ADMIN_POLICY_ARN, role_name)


# --- the organization ----------------------------------------------------------------------


def _existing_backend(account_id: str) -> OrganizationsBackend | None:
    """The account's Organizations backend if it exists; never creates one."""
    per_account = organizations_backends.get(account_id)
    if per_account is None:
        return None
    backend: OrganizationsBackend | None = per_account.get(PARTITION)
    return backend


def management_backend() -> OrganizationsBackend | None:
    """The base account's backend, if it holds an organization."""
    backend = _existing_backend(accounts.BASE_ACCOUNT)
    return backend if backend is not None and backend.org is not None else None


def _create_organization(backend: OrganizationsBackend) -> FakeOrganization:
    """moto's CreateOrganization without its phantom account: the organization, its root,
    the management account and the default SCP and RCP, as moto would make them."""
    organization = FakeOrganization(backend.account_id, region_name=HOME_REGION, feature_set="ALL")
    backend.org = organization
    backend.ou.append(FakeRoot(organization))
    management = MemberAccount(
        organization, backend.account_id, "management", organization.master_account_email
    )
    backend.accounts.append(management)
    for policy_id, name, description, policy_type, statement in (
        (
            org_utils.DEFAULT_SCP_POLICY_ID,
            "FullAWSAccess",
            "Allows access to every operation",
            "SERVICE_CONTROL_POLICY",
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
        ),
        (
            org_utils.DEFAULT_RCP_POLICY_ID,
            "RCPFullAWSAccess",
            "Allows access to every resource",
            "RESOURCE_CONTROL_POLICY",
            {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
        ),
    ):
        policy = FakePolicy(
            organization,
            Name=name,
            Description=description,
            Type=policy_type,
            Content=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
        )
        policy.id = policy_id
        policy.aws_managed = True
        backend.policies.append(policy)
        backend.attach_policy(PolicyId=policy_id, TargetId=organization.root_id)
        backend.attach_policy(PolicyId=policy_id, TargetId=management.id)
    return organization


def _join(
    backend: OrganizationsBackend,
    account_id: str,
    name: str,
    email: str,
    role_name: str = accounts.ORG_ROLE_NAME,
) -> MemberAccount:
    """Add a member account to the organization, with its access role."""
    organization = backend.org
    assert organization is not None
    member = MemberAccount(organization, account_id, name, email)
    backend.accounts.append(member)
    for policy_id in (org_utils.DEFAULT_SCP_POLICY_ID, org_utils.DEFAULT_RCP_POLICY_ID):
        backend.attach_policy(PolicyId=policy_id, TargetId=account_id)
    organizations_backends.master_accounts[account_id] = (backend.account_id, PARTITION)
    ensure_access_role(account_id, backend.account_id, role_name)
    return member


def seed(member_count: int) -> None:
    """Make a reset cloud an organization: the base account manages it, and the first
    `member_count` member ids (accounts.member_account_ids) are its members."""
    backend = organizations_backends[accounts.BASE_ACCOUNT][PARTITION]
    if backend.org is None:
        _create_organization(backend)
    joined = {account.id for account in backend.accounts}
    for index, account_id in enumerate(accounts.member_account_ids(member_count), start=1):
        if account_id not in joined:
            _join(backend, account_id, f"member-{index}", f"member-{index}@example.com")


def member_accounts() -> list[str]:
    """The member accounts of the base account's organization, in the order they joined."""
    backend = management_backend()
    if backend is None:
        return []
    return [a.id for a in backend.accounts if a.id != backend.account_id]


def known_accounts() -> list[str]:
    """The management account, then its members in the order they joined."""
    return [accounts.BASE_ACCOUNT, *member_accounts()]


def organization_of(account_id: str) -> str | None:
    """The id of the organization `account_id` belongs to (as management account or
    member), else None. Reads only: creates no backend."""
    own = _existing_backend(account_id)
    if own is not None and own.org is not None:
        return str(own.org.id)
    membership = organizations_backends.master_accounts.get(account_id)
    if membership is None:
        return None
    manager = _existing_backend(membership[0])
    if manager is None or manager.org is None:
        return None
    member = next((a for a in manager.accounts if a.id == account_id), None)
    return str(manager.org.id) if member is not None and member.status == "ACTIVE" else None


def management_account_of(account_id: str) -> str | None:
    """The management account of the organization `account_id` belongs to."""
    own = _existing_backend(account_id)
    if own is not None and own.org is not None:
        return account_id
    membership = organizations_backends.master_accounts.get(account_id)
    return membership[0] if membership is not None else None


def same_organization(one: str, other: str) -> bool:
    organization = organization_of(one)
    return organization is not None and organization == organization_of(other)


# --- RAM's switch ---------------------------------------------------------------------------

#: The service principal whose trusted access EnableSharingWithAwsOrganization turns on
#: (and `organizations disable-aws-service-access` turns off again).
RAM_SERVICE_PRINCIPAL = "ram.amazonaws.com"


def ram_sharing_enabled(account_id: str) -> bool:
    """Whether RAM sharing with AWS Organizations is enabled in `account_id`'s organization:
    RAM's trusted access is on."""
    management = management_account_of(account_id)
    backend = _existing_backend(management) if management is not None else None
    return bool(
        backend is not None
        and backend.org is not None
        and organization_of(account_id) is not None
        and any(s.get("ServicePrincipal") == RAM_SERVICE_PRINCIPAL for s in backend.services)
    )


# --- CreateAccount ------------------------------------------------------------------------


def creations_of(backend: OrganizationsBackend) -> dict[str, AccountCreation]:
    """The account creation requests of a management account (kept on its backend, so a
    reset forgets them)."""
    store: dict[str, AccountCreation] = backend.__dict__.setdefault(
        "emulator_account_creations", {}
    )
    return store


def _next_member_id(backend: OrganizationsBackend) -> str:
    taken = {a.id for a in backend.accounts} | {
        c.account_id for c in creations_of(backend).values() if c.account_id
    }
    index = 1
    while accounts.member_account_id(index) in taken:
        index += 1
    return accounts.member_account_id(index)


def start_account_creation(
    backend: OrganizationsBackend,
    name: str,
    email: str,
    role_name: str,
    tags: dict[str, str],
) -> AccountCreation:
    """Begin `CreateAccount`: IN_PROGRESS now; the account, its role and its membership
    come when the scheduler completes the creation."""
    creation = AccountCreation(
        id=org_utils.make_random_create_account_status_id(),
        account_name=name,
        email=email,
        role_name=role_name,
        tags=tags,
    )
    creations_of(backend)[creation.id] = creation

    def apply(status: str) -> None:
        if status != "SUCCEEDED":
            creation.state = status
            return
        creation.completed = datetime.now(UTC)
        if any(a.email.lower() == email.lower() for a in backend.accounts):
            creation.state = "FAILED"
            creation.failure_reason = "EMAIL_ALREADY_EXISTS"
            return
        account_id = _next_member_id(backend)
        member = _join(backend, account_id, name, email, role_name)
        member.create_account_status_id = creation.id
        member.tags = dict(tags)
        creation.account_id = account_id
        creation.state = "SUCCEEDED"

    creation.transition = RUNTIME.scheduler.start(
        [Stage("IN_PROGRESS", CREATE_ACCOUNT_KIND)],
        "SUCCEEDED",
        apply,
        label=f"create-account:{creation.id}",
    )
    return creation
