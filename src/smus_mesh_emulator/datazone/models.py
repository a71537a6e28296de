"""The DataZone backend: domains and everything they own, per account, on moto's machinery.

A domain lives in the backend of the account that created it (`BackendDict`
gives one backend per account and region, reset by `/moto-api/reset`), but
DataZone is called across accounts: an associated account configures its
blueprints with the *domain's* id. So every operation resolves the domain
globally with `DataZoneBackend.domain_for(caller, id)`, which also decides
whether the caller may act on it (its own account, or an account the domain
is shared with through RAM for the account-scoped operations).

The operations are grouped in mixins, one module per area, each a set of
`<snake_case_operation>(caller, params) -> output dict` methods:

* `models.DomainsMixin`            domains, user profiles, tags (this module)
* `governance.GovernanceMixin`     blueprints, blueprint configurations, policy grants,
                                   project profiles
* `projects.ProjectsMixin`         projects, memberships, environments, connections, credentials
* `catalog.CatalogMixin`           data sources and runs, assets, search, listings
* `subscriptions.SubscriptionsMixin`  subscription requests, subscriptions, grants, targets

`responses.DataZoneResponse` serves every backend method whose name matches a
botocore operation; anything else fails closed with `NotImplemented`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from moto.core.base_backend import BackendDict, BaseBackend

from smus_mesh_emulator.datazone.catalog import CatalogMixin
from smus_mesh_emulator.datazone.common import (
    Caller,
    drop_none,
    new_domain_id,
    new_id,
    not_found,
    now,
    observe,
    require,
    start_transition,
)
from smus_mesh_emulator.datazone.exceptions import (
    AccessDeniedException,
    ConflictException,
    ValidationException,
)
from smus_mesh_emulator.datazone.fulfilment import GrantLedger
from smus_mesh_emulator.datazone.governance import GovernanceMixin, install_managed_blueprints
from smus_mesh_emulator.datazone.projects import ProjectsMixin
from smus_mesh_emulator.datazone.subscriptions import SubscriptionsMixin
from smus_mesh_emulator.runtime import RUNTIME

DATAZONE_SERVICE_PRINCIPAL = "datazone.amazonaws.com"


class UserProfile:
    """A DataZone user profile. IAM profiles are created on first use of a principal
    and can never be deleted (research/workflow.md §4.11)."""

    def __init__(self, domain_id: str, arn: str, user_type: str = "IAM_ROLE") -> None:
        self.id = str(uuid.uuid4())  # UserProfileId is a UUID in the model
        self.domain_id = domain_id
        self.arn = arn
        self.user_type = user_type
        self.status = "ACTIVATED"

    def to_dict(self) -> dict[str, Any]:
        return {
            "domainId": self.domain_id,
            "id": self.id,
            "type": "IAM",
            "status": self.status,
            "details": {"iam": {"arn": self.arn}},
        }


class Domain:
    """A DataZone domain and the stores of everything it owns.

    Child stores are plain dicts keyed by id; the mixins own their entries. The
    store names are part of the contract between mixins (and the inventory):
    """

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
        self.transition: Any = None
        self.creator = creator
        self.delete_progress: dict[str, Any] | None = None
        self.failure_reasons: list[dict[str, str]] = []
        # --- child stores (see the mixins) ---------------------------------
        self.user_profiles: dict[str, UserProfile] = {}
        self.blueprints: dict[str, Any] = {}  # managed blueprints, by id
        self.blueprint_configurations: dict[tuple[str, str], Any] = {}  # (account, blueprint id)
        self.policy_grants: dict[str, Any] = {}
        self.project_profiles: dict[str, Any] = {}
        self.projects: dict[str, Any] = {}
        self.environments: dict[str, Any] = {}
        self.connections: dict[str, Any] = {}
        self.data_sources: dict[str, Any] = {}
        self.data_source_runs: dict[str, Any] = {}
        self.assets: dict[str, Any] = {}
        self.listings: dict[str, Any] = {}
        self.subscription_requests: dict[str, Any] = {}
        self.subscriptions: dict[str, Any] = {}
        self.subscription_grants: dict[str, Any] = {}
        self.subscription_targets: dict[str, Any] = {}
        self.lf_ledger = GrantLedger()
        self.user_profile_for(creator)

    # identity ---------------------------------------------------------------
    def user_profile_for(self, arn: str, create: bool = True) -> UserProfile | None:
        for profile in self.user_profiles.values():
            if profile.arn == arn:
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


def _trusts_service(role: Any, service: str) -> bool:
    return service in (role.assume_role_policy_document or "")


def role_in_account(account_id: str, role_arn: str) -> Any:
    """The moto IAM role for an ARN, or None (the ARN's account must be `account_id`)."""
    from moto.iam.models import iam_backends

    if f":{account_id}:role/" not in role_arn:
        return None
    name = role_arn.rsplit("/", 1)[-1]
    iam = iam_backends[account_id]["global"]
    return next((r for r in iam.roles.values() if r.name == name), None)


class DomainsMixin:
    """Domains, user profiles and tags."""

    account_id: str
    region_name: str
    domains: dict[str, Domain]

    # lookups used by every mixin -----------------------------------------------
    def all_domains(self) -> Iterator[Domain]:
        for account_backends in list(datazone_backends.values()):
            backend = account_backends.get(self.region_name)
            if backend is not None:
                yield from list(backend.domains.values())

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
        if associated:
            from smus_mesh_emulator.ram_ext import associated_accounts

            if caller.account in associated_accounts(domain.account_id, domain.region, domain.arn):
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

    # domains ----------------------------------------------------------------------
    def create_domain(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        name = require(params, "name")
        if any(d.name == name for d in self.domains.values()):
            raise ConflictException(f"Domain name already exists: {name}")
        version = params.get("domainVersion") or "V1"
        execution_role = params.get("domainExecutionRole")
        if not execution_role:
            raise ValidationException("domainExecutionRole is required")
        if version == "V2" and not params.get("serviceRole"):
            raise ValidationException("serviceRole is required for a V2 domain")
        for member in ("domainExecutionRole", "serviceRole"):
            arn = params.get(member)
            if not arn:
                continue
            role = role_in_account(self.account_id, arn)
            if role is None or not _trusts_service(role, DATAZONE_SERVICE_PRINCIPAL):
                raise ValidationException(
                    f"{member} {arn} does not exist in account {self.account_id} or does not "
                    f"trust {DATAZONE_SERVICE_PRINCIPAL}"
                )
        domain = Domain(self.account_id, self.region_name, params, caller.arn)
        self.domains[domain.id] = domain

        def created() -> None:
            self._on_domain_created(domain)

        start_transition(domain, [("CREATING", "domain.create")], "AVAILABLE", created)
        return domain.to_dict()

    def _on_domain_created(self, domain: Domain) -> None:
        """Hook for the governance mixin (managed blueprints); overridden there."""

    def get_domain(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "identifier"), associated=True)
        observe(domain)
        result = domain.to_dict()
        if domain.status in ("DELETING", "DELETION_FAILED") and domain.delete_progress:
            result["deleteProgress"] = domain.delete_progress
        if domain.failure_reasons:
            result["failureReasons"] = domain.failure_reasons
        return result

    def list_domains(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        status = params.get("status")
        items = [
            d.to_summary_dict()
            for d in self.domains.values()
            if status is None or d.status == status
        ]
        for domain in self.domains.values():
            observe(domain)
        return {"items": items}

    def delete_domain(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "identifier"))
        cascade = bool(params.get("cascadeDelete"))
        skip = bool(params.get("skipDeletionCheck"))
        if cascade and skip:
            raise ValidationException("cascadeDelete and skipDeletionCheck cannot both be set")
        if domain.status == "DELETING":
            return {"status": domain.status}
        live_projects = [p for p in domain.projects.values()]
        if live_projects and not (cascade or skip):
            raise ConflictException(
                f"Domain {domain.id} has {len(live_projects)} project(s); delete them first or "
                "use cascadeDelete"
            )
        domain.delete_progress = {"successfullyDeletedProjectCount": 0}

        def deleted() -> None:
            self._on_domain_deleted(domain, cascade)
            # The hook may leave the domain DELETION_FAILED (a stack it could not delete).
            if domain.status == "DELETED":
                self.domains.pop(domain.id, None)

        start_transition(domain, [("DELETING", "domain.delete")], "DELETED", deleted)
        self._on_domain_deleting(domain, cascade)
        return {"status": domain.status}

    def _on_domain_deleting(self, domain: Domain, cascade: bool) -> None:
        """Hook: deletion started (DataZoneBackend starts the cascade)."""

    def _on_domain_deleted(self, domain: Domain, cascade: bool) -> None:
        """Hook: the DELETING stage is over (DataZoneBackend finishes the cascade; with
        skipDeletionCheck, orphans stay in their accounts, as AWS warns)."""

    # user profiles ------------------------------------------------------------------
    def get_user_profile(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        user = require(params, "userIdentifier")
        for profile in domain.user_profiles.values():
            if user in (profile.id, profile.arn):
                return profile.to_dict()
        raise not_found("User profile", user)

    def create_user_profile(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        user = require(params, "userIdentifier")
        if domain.user_profile_for(user, create=False) is not None:
            raise ConflictException(f"User Profile already exists for {user}")
        profile = domain.user_profile_for(user)
        assert profile is not None
        return profile.to_dict()

    def search_user_profiles(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        text = params.get("searchText") or ""
        items = [
            {
                "domainId": p.domain_id,
                "id": p.id,
                "type": "IAM",
                "status": p.status,
                "details": {"iam": {"arn": p.arn}},
            }
            for p in domain.user_profiles.values()
            if text in p.arn
        ]
        return {"items": items}

    # tags -------------------------------------------------------------------------
    def _taggable(self, caller: Caller, arn: str) -> Any:
        for domain in self.all_domains():
            if domain.arn == arn:
                self.domain_for(caller, domain.id)
                return domain
        raise not_found("Resource", arn)

    def tag_resource(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        self._taggable(caller, require(params, "resourceArn")).tags.update(params["tags"])
        return {}

    def untag_resource(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        target = self._taggable(caller, require(params, "resourceArn"))
        for key in params.get("tagKeys") or []:
            target.tags.pop(key, None)
        return {}

    def list_tags_for_resource(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        return {"tags": dict(self._taggable(caller, require(params, "resourceArn")).tags)}


class DataZoneBackend(
    DomainsMixin,
    GovernanceMixin,
    ProjectsMixin,
    CatalogMixin,
    SubscriptionsMixin,
    BaseBackend,
):
    """One per (account, region); holds the domains created in that account."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.domains: dict[str, Domain] = {}

    @property
    def scheduler(self) -> Any:
        return RUNTIME.scheduler

    # DomainsMixin's hooks, resolved here because DomainsMixin comes first in the MRO.
    def _on_domain_created(self, domain: Domain) -> None:
        install_managed_blueprints(domain)

    def _on_domain_deleting(self, domain: Domain, cascade: bool) -> None:
        self.start_domain_deletion(domain, cascade)

    def _on_domain_deleted(self, domain: Domain, cascade: bool) -> None:
        self.finish_domain_deletion(domain, cascade)


datazone_backends = BackendDict(DataZoneBackend, "datazone")
