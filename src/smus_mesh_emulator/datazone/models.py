"""The DataZone backend: one per account and region, on moto's machinery.

The operations are grouped by area, one module each, every area extending the one below
it; each operation is a `<snake_case_operation>(caller, params) -> output dict` method:

* `domains.DataZoneBase`                 this account's domains; `domain_for` (any account's)
* `governance.GovernanceBackend`         blueprints, blueprint configurations, policy grants,
                                         project profiles
* `projects.ProjectsBackend`             projects, memberships, environments, connections,
                                         credentials
* `catalog.CatalogBackend`               data sources and runs, assets, search, listings
* `subscriptions.SubscriptionsBackend`   subscription requests, subscriptions, grants, targets
* `models.DataZoneBackend`               domains, user profiles, tags (this module): a domain's
                                         creation and deletion reach every area below

`responses.DataZoneResponse` serves every backend method whose name matches a
botocore operation; anything else fails closed with `NotImplemented`.
"""

from __future__ import annotations

from typing import Any

from moto.core.base_backend import BackendDict

from smus_mesh_emulator.datazone.common import (
    Caller,
    mark_read,
    not_found,
    require,
    role_in_account,
    start_transition,
)
from smus_mesh_emulator.datazone.domains import Domain
from smus_mesh_emulator.datazone.exceptions import ConflictException, ValidationException
from smus_mesh_emulator.datazone.governance import install_managed_blueprints
from smus_mesh_emulator.datazone.identity_center import (
    check_single_sign_on,
    sso_group,
    sso_user,
)
from smus_mesh_emulator.datazone.subscriptions import SubscriptionsBackend

DATAZONE_SERVICE_PRINCIPAL = "datazone.amazonaws.com"


def _trusts_service(role: Any, service: str) -> bool:
    return service in (role.assume_role_policy_document or "")


class DataZoneBackend(SubscriptionsBackend):
    """Domains, user profiles and tags, over every other area of DataZone."""

    # domains ----------------------------------------------------------------------
    def create_domain(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        name = require(params, "name")
        if any(d.name == name for d in self.domains.values()):
            raise ConflictException(f"Domain name already exists: {name}")
        check_single_sign_on(params.get("singleSignOn") or {}, self.region_name)
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
            install_managed_blueprints(domain)

        start_transition(domain, [("CREATING", "domain.create")], "AVAILABLE", created)
        return domain.to_dict()

    def get_domain(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "identifier"), associated=True)
        mark_read(domain)
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
            mark_read(domain)
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
            self.finish_domain_deletion(domain, cascade)
            # It may leave the domain DELETION_FAILED (a stack it could not delete).
            if domain.status == "DELETED":
                self.domains.pop(domain.id, None)

        start_transition(domain, [("DELETING", "domain.delete")], "DELETED", deleted)
        self.start_domain_deletion(domain, cascade)
        return {"status": domain.status}

    # user profiles ------------------------------------------------------------------
    def get_user_profile(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        user = require(params, "userIdentifier")
        for profile in domain.user_profiles.values():
            names = (profile.id, profile.arn, profile.sso_user_id)
            if user in names or (profile.sso and user == profile.sso.get("username")):
                return profile.to_dict()
        raise not_found("User profile", user)

    def create_user_profile(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        user = require(params, "userIdentifier")
        if params.get("userType") == "SSO_USER" or (
            domain.identity_center and not user.startswith("arn:")
        ):
            # An Identity Center user (by id or user name): its SSO profile assigns it to
            # the domain (identity_center.py).
            if not domain.identity_center:
                raise ValidationException(
                    f"SSO_USER profiles need an IAM Identity Center domain; domain {domain.id} "
                    "is IAM-based"
                )
            found = sso_user(domain.single_sign_on, domain.region, user)
            if domain.sso_profile(found, create=False) is not None:
                raise ConflictException(f"User Profile already exists for {user}")
            sso = domain.sso_profile(found)
            assert sso is not None
            return sso.to_dict()
        if domain.user_profile_for(user, create=False) is not None:
            raise ConflictException(f"User Profile already exists for {user}")
        profile = domain.user_profile_for(user)
        assert profile is not None
        return profile.to_dict()

    def search_user_profiles(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        text = params.get("searchText") or ""
        items = [
            p.to_dict()
            for p in domain.user_profiles.values()
            if text in (p.arn or (p.sso or {}).get("username", ""))
        ]
        return {"items": items}

    # group profiles (IAM Identity Center domains) -------------------------------------
    def create_group_profile(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        if not domain.identity_center:
            raise ValidationException(
                f"Group profiles need an IAM Identity Center domain; domain {domain.id} is "
                "IAM-based"
            )
        group = sso_group(domain.single_sign_on, domain.region, require(params, "groupIdentifier"))
        if domain.group_profile(group, create=False) is not None:
            raise ConflictException(f"Group Profile already exists for {group.GroupId}")
        profile = domain.group_profile(group)
        assert profile is not None
        return profile.to_dict()

    def get_group_profile(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        identifier = require(params, "groupIdentifier")
        for profile in domain.group_profiles.values():
            if identifier in (profile.id, profile.group_id, profile.name):
                return profile.to_dict()
        raise not_found("Group profile", identifier)

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


datazone_backends = BackendDict(DataZoneBackend, "datazone")
