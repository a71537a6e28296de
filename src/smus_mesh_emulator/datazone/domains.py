"""DataZone domains: the domain and its stores, where domains are kept, and how a caller
reaches one.

A domain lives in the account that created it, in a moto backend of its own
(`domain_stores`, one per account and region, reset with every other backend), but
DataZone is called across accounts: an associated account configures its blueprints
with the *domain's* id. So every operation resolves the domain globally with
`DataZoneBase.domain_for(caller, id)`, which also decides whether the caller may act on
it (its own account, or an account the domain is shared with through RAM for the
account-scoped operations).

`DataZoneBase` is the root of the backend: each area of operations extends the one
below it (governance -> projects -> catalog -> subscriptions -> models.DataZoneBackend),
so an operation calls only what its own area and the areas below it define. The objects
the stores hold are in `records/`, below this module: they read their domain only
through `common.DomainScope` (ADR 22).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from moto.core.base_backend import BackendDict, BaseBackend

from smus_mesh_emulator.datazone.common import (
    Caller,
    drop_none,
    new_domain_id,
    new_id,
    not_found,
    now,
)
from smus_mesh_emulator.datazone.exceptions import AccessDeniedException
from smus_mesh_emulator.datazone.ledger import GrantLedger
from smus_mesh_emulator.datazone.records.catalog import Asset, DataSource, DataSourceRun, Listing
from smus_mesh_emulator.datazone.records.governance import (
    Blueprint,
    BlueprintConfiguration,
    PolicyGrant,
    ProjectProfile,
)
from smus_mesh_emulator.datazone.records.projects import (
    Connection,
    Environment,
    Project,
    SubscriptionTarget,
)
from smus_mesh_emulator.datazone.records.subscriptions import (
    CustomSubscriptionTarget,
    Subscription,
    SubscriptionGrant,
    SubscriptionRequest,
)
from smus_mesh_emulator.progress import Transition
from smus_mesh_emulator.ram.models import associated_accounts


class UserProfile:
    """A DataZone user profile. IAM profiles are created on first use of a principal
    and can never be deleted (research/workflow.md §4.11). An SSO profile (an IAM
    Identity Center domain) stands for an identity store user: `arn` is empty, `sso` its
    `{username, firstName, lastName}` and `sso_user_id` its Identity Center id."""

    def __init__(
        self,
        domain_id: str,
        arn: str,
        user_type: str = "IAM_ROLE",
        sso: dict[str, str] | None = None,
        sso_user_id: str = "",
    ) -> None:
        self.id = str(uuid.uuid4())  # UserProfileId is a UUID in the model
        self.domain_id = domain_id
        self.arn = arn
        self.user_type = user_type
        self.sso = sso
        self.sso_user_id = sso_user_id
        self.status = "ACTIVATED" if sso is None else "ASSIGNED"

    def to_dict(self) -> dict[str, Any]:
        if self.sso is not None:
            return {
                "domainId": self.domain_id,
                "id": self.id,
                "type": "SSO",
                "status": self.status,
                "details": {"sso": dict(self.sso)},
            }
        return {
            "domainId": self.domain_id,
            "id": self.id,
            "type": "IAM",
            "status": self.status,
            "details": {"iam": {"arn": self.arn}},
        }


class GroupProfile:
    """A DataZone group profile of an IAM Identity Center group (its id and name)."""

    def __init__(self, domain_id: str, group_id: str, name: str) -> None:
        self.id = str(uuid.uuid4())
        self.domain_id = domain_id
        self.group_id = group_id
        self.name = name
        self.status = "ASSIGNED"

    def to_dict(self) -> dict[str, Any]:
        return {
            "domainId": self.domain_id,
            "id": self.id,
            "status": self.status,
            "groupName": self.name,
        }


class Domain:
    """A DataZone domain and the stores of everything it owns, each keyed by id (blueprint
    configurations by (account, blueprint id)); the inventory reads them too."""

    def __init__(self, account_id: str, region: str, params: dict[str, Any], creator: str):
        self.id = new_domain_id()
        self.account_id = account_id
        self.region = region
        self.name: str = params["name"]
        self.description: str | None = params.get("description")
        self.domain_execution_role: str = params.get("domainExecutionRole") or ""
        self.service_role: str | None = params.get("serviceRole")
        self.kms_key_identifier: str | None = params.get("kmsKeyIdentifier")
        self.single_sign_on: dict[str, Any] = params.get("singleSignOn") or {"type": "DISABLED"}
        self.domain_version: str = params.get("domainVersion") or "V1"
        self.tags: dict[str, str] = dict(params.get("tags") or {})
        self.arn = f"arn:aws:datazone:{region}:{account_id}:domain/{self.id}"
        self.portal_url = f"https://{self.id}.sagemaker.{region}.on.aws"
        self.root_domain_unit_id = new_id(14)
        self.created_at: datetime = now()
        self.updated_at: datetime = self.created_at
        self.status = "CREATING"
        self.transition: Transition | None = None
        self.creator = creator
        self.delete_progress: dict[str, Any] | None = None
        self.failure_reasons: list[dict[str, str]] = []
        # --- child stores ------------------------------------------------------
        self.user_profiles: dict[str, UserProfile] = {}
        self.group_profiles: dict[str, GroupProfile] = {}
        self.blueprints: dict[str, Blueprint] = {}  # managed blueprints
        self.blueprint_configurations: dict[tuple[str, str], BlueprintConfiguration] = {}
        self.policy_grants: dict[str, PolicyGrant] = {}
        self.project_profiles: dict[str, ProjectProfile] = {}
        self.projects: dict[str, Project] = {}
        self.environments: dict[str, Environment] = {}
        self.connections: dict[str, Connection] = {}
        self.data_sources: dict[str, DataSource] = {}
        self.data_source_runs: dict[str, DataSourceRun] = {}
        self.assets: dict[str, Asset] = {}
        self.listings: dict[str, Listing] = {}
        self.subscription_requests: dict[str, SubscriptionRequest] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.subscription_grants: dict[str, SubscriptionGrant] = {}
        self.subscription_targets: dict[str, SubscriptionTarget | CustomSubscriptionTarget] = {}
        self.lf_ledger = GrantLedger()
        self.user_profile_for(creator)

    # identity ---------------------------------------------------------------
    @property
    def identity_center(self) -> bool:
        return self.single_sign_on.get("type") == "IAM_IDC"

    def sso_profile(self, user: Any, create: bool = True) -> UserProfile | None:
        """The SSO profile of an identity store user (made when `create`)."""
        for profile in self.user_profiles.values():
            if profile.sso_user_id == user.UserId:
                return profile
        if not create:
            return None
        name = user.Name
        details = {"username": user.UserName}
        if name is not None and name.GivenName:
            details["firstName"] = name.GivenName
        if name is not None and name.FamilyName:
            details["lastName"] = name.FamilyName
        profile = UserProfile(self.id, "", "SSO_USER", details, user.UserId)
        self.user_profiles[profile.id] = profile
        return profile

    def group_profile(self, group: Any, create: bool = True) -> GroupProfile | None:
        """The profile of an identity store group (made when `create`)."""
        for profile in self.group_profiles.values():
            if profile.group_id == group.GroupId:
                return profile
        if not create:
            return None
        profile = GroupProfile(self.id, group.GroupId, group.DisplayName)
        self.group_profiles[profile.id] = profile
        return profile

    def user_profile_for(self, arn: str, create: bool = True) -> UserProfile | None:
        for profile in self.user_profiles.values():
            if profile.arn and profile.arn == arn:
                return profile
        if not create:
            return None
        profile = UserProfile(self.id, arn)
        self.user_profiles[profile.id] = profile
        return profile

    def to_dict(self) -> dict[str, Any]:
        return drop_none(
            {
                "id": self.id,
                "rootDomainUnitId": self.root_domain_unit_id,
                "name": self.name,
                "description": self.description,
                "singleSignOn": self.single_sign_on,
                "domainExecutionRole": self.domain_execution_role,
                "arn": self.arn,
                "kmsKeyIdentifier": self.kms_key_identifier,
                "status": self.status,
                "portalUrl": self.portal_url,
                "createdAt": self.created_at,
                "lastUpdatedAt": self.updated_at,
                "tags": self.tags,
                "domainVersion": self.domain_version,
                "serviceRole": self.service_role,
            }
        )

    def to_summary_dict(self) -> dict[str, Any]:
        return drop_none(
            {
                "id": self.id,
                "name": self.name,
                "description": self.description,
                "arn": self.arn,
                "managedAccountId": self.account_id,
                "status": self.status,
                "portalUrl": self.portal_url,
                "createdAt": self.created_at,
                "lastUpdatedAt": self.updated_at,
                "domainVersion": self.domain_version,
            }
        )


class DomainStore(BaseBackend):
    """The domains created in one account and region."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.domains: dict[str, Domain] = {}


domain_stores = BackendDict(DomainStore, "datazone")


def all_domains(region: str) -> Iterator[Domain]:
    """Every domain of `region`, in any account (looking creates no account)."""
    for per_account in list(domain_stores.values()):
        store = per_account.get(region)
        if store is not None:
            yield from list(store.domains.values())


def domain_exists(account_id: str, region: str, domain_id: str) -> bool:
    per_account = domain_stores.get(account_id)
    store = per_account.get(region) if per_account is not None else None
    return store is not None and domain_id in store.domains


class DataZoneBase(BaseBackend):
    """What every DataZone operation starts from: this account's domains, and any domain
    a caller may reach."""

    @property
    def domains(self) -> dict[str, Domain]:
        """The domains created in this account and region."""
        store: DomainStore = domain_stores[self.account_id][self.region_name]
        return store.domains

    def all_domains(self) -> Iterator[Domain]:
        yield from all_domains(self.region_name)

    def domain_for(self, caller: Caller, identifier: str, associated: bool = False) -> Domain:
        """Resolve a domain id for `caller`.

        The domain's own account may do anything (IAM is not modelled beyond
        that). Another account may use it only for the account-scoped
        operations (`associated=True`) and only once the domain is shared with
        it through RAM and the share is accepted; otherwise AccessDenied, as AWS
        answers for a domain you cannot see.
        """
        domain = next((d for d in self.all_domains() if d.id == identifier), None)
        if domain is None:
            raise not_found("Domain", identifier)
        if caller.account == domain.account_id:
            return domain
        if associated and caller.account in associated_accounts(
            domain.account_id, domain.region, domain.arn
        ):
            return domain
        raise AccessDeniedException(
            f"User: {caller.arn} is not authorized to access domain {identifier}"
            + (
                f" (the domain is not shared with account {caller.account} through AWS RAM, "
                "or the share invitation has not been accepted)"
                if associated
                else " (the operation must be called from the domain account)"
            )
        )
