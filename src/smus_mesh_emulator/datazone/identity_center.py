"""IAM Identity Center behind a domain whose `singleSignOn.type` is `IAM_IDC`: its instance
(moto's sso-admin) and the users and groups of the instance's identity store (moto's
identitystore), found by id or by name.

What AWS documents (research/workflow.md C1, the botocore model): `CreateDomain` takes
`singleSignOn {type: IAM_IDC, userAssignment: AUTOMATIC|MANUAL, idcInstanceArn}`; SSO user
profiles (`CreateUserProfile userType=SSO_USER`) carry `details.sso {username, firstName,
lastName}`; a project member is a `userIdentifier` or a `groupIdentifier`, each the Identity
Center id (or the user's name / group's display name, as the identifier patterns allow).
Not verified on a live account (ADR 5), and chosen here: an instance is looked for in every
account that has used sso-admin (an organization's instance lives in its management
account); with `userAssignment: AUTOMATIC` every user and group of the instance may be made a
member (their profile is made on first use), with `MANUAL` only those given a profile first
(`CreateUserProfile` / `CreateGroupProfile`).
"""

from __future__ import annotations

from typing import Any

from moto.identitystore.models import identitystore_backends
from moto.ssoadmin.models import ssoadmin_backends

from smus_mesh_emulator.datazone.common import not_found
from smus_mesh_emulator.datazone.exceptions import ValidationException


def instance_store(instance_arn: str, region: str) -> tuple[str, str] | None:
    """(owner account, identity store id) of the sso-admin instance `instance_arn`."""
    for account_id, regions in list(ssoadmin_backends.items()):
        backend = dict(regions).get(region)
        for instance in getattr(backend, "instances", []):
            if instance.instance_arn == instance_arn:
                return account_id, instance.identity_store_id
    return None


def check_single_sign_on(settings: dict[str, Any], region: str) -> None:
    """CreateDomain's `singleSignOn`: an IAM_IDC domain names an instance that exists."""
    if settings.get("type") != "IAM_IDC":
        return
    arn = settings.get("idcInstanceArn")
    if not arn:
        raise ValidationException("singleSignOn.idcInstanceArn is required for type IAM_IDC")
    if instance_store(arn, region) is None:
        raise ValidationException(
            f"singleSignOn.idcInstanceArn {arn}: no such IAM Identity Center instance"
        )


def _store(settings: dict[str, Any], region: str) -> Any:
    found = instance_store(str(settings.get("idcInstanceArn", "")), region)
    if found is None:
        raise ValidationException("The domain's IAM Identity Center instance no longer exists")
    account_id, store_id = found
    backend = identitystore_backends[account_id][region]
    return backend.identity_stores.get(store_id)


def sso_user(settings: dict[str, Any], region: str, identifier: str) -> Any:
    """The identity store user of id (or user name) `identifier` (ResourceNotFound)."""
    store = _store(settings, region)
    for user in store.users.values() if store else []:
        if identifier in (user.UserId, user.UserName):
            return user
    raise not_found("IAM Identity Center user", identifier)


def sso_group(settings: dict[str, Any], region: str, identifier: str) -> Any:
    """The identity store group of id (or display name) `identifier` (ResourceNotFound)."""
    store = _store(settings, region)
    for group in store.groups.values() if store else []:
        if identifier in (group.GroupId, group.DisplayName):
            return group
    raise not_found("IAM Identity Center group", identifier)
