"""The Lake Formation API: moto's, with checked grants, the received-grants view, pruning
and full registrations (every request first brings Lake Formation in step with Glue).
"""

from __future__ import annotations

import json
import re
from typing import Any

from moto.lakeformation.models import (
    Permission,
    lakeformation_backends,
)
from moto.lakeformation.responses import LakeFormationResponse

from smus_mesh_emulator.accounts import caller_arn, principal_of
from smus_mesh_emulator.lakeformation.catalog_sync import prune
from smus_mesh_emulator.lakeformation.exceptions import (
    NOT_AUTHORIZED,
    NOTHING_REVOKED,
    AccessDeniedException,
    AlreadyExistsException,
    EntityNotFoundException,
    InvalidInputException,
    LakeFormationError,
)
from smus_mesh_emulator.lakeformation.models import (
    SERVICE_LINKED_ROLE,
    RegisteredLocation,
    Registration,
    add_grant,
    existing_backend,
    holds,
    index_of,
    is_data_lake_admin,
    permission_items,
    principal_id,
    remove_grant,
    store_of,
)
from smus_mesh_emulator.lakeformation.permissions import require_exists
from smus_mesh_emulator.lakeformation.resources import (
    RESOURCE_TYPE_KINDS,
    account_of,
    catalog_of,
    kind_of,
    matches_filter,
    normalise,
    target_of,
)
from smus_mesh_emulator.paging import page

_S3_ARN = re.compile(r"^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$")


def _visible(
    account_id: str, region: str, target: tuple[str, str, str | None] | None = None
) -> list[Permission]:
    """What ListPermissions shows in `account_id`: its own grants, and the grants other
    accounts made on their own resources to it or to its principals. With `target`
    (`target_of` a filter's resource), only the grants that can match a filter on it,
    found through the grant index rather than by reading every grant."""

    def candidates(store: Any) -> list[Permission]:
        return list(store.permissions) if target is None else index_of(store).on(*target)

    visible = candidates(store_of(account_id, region))
    for owner in sorted(lakeformation_backends):
        if owner == account_id or existing_backend(lakeformation_backends, owner, region) is None:
            continue
        if target is not None and target[0] != owner:
            continue  # another account shows only grants on its own catalog
        visible += [
            g
            for g in candidates(store_of(owner, region))
            if account_of(principal_id(g)) == account_id and catalog_of(g.resource) == owner
        ]
    return visible


def _page(items: list[Any], max_results: Any, next_token: Any) -> tuple[list[Any], str | None]:
    # By position: a permission entry has no identifier of its own to point a token at,
    # so moto's paginator (smus_mesh_emulator.paging) does not fit ListPermissions.
    try:
        start = int(next_token or 0)
    except ValueError as exc:
        raise InvalidInputException("Invalid NextToken.") from exc
    size = int(max_results) if max_results else len(items) or 1
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


class LakeFormationExtResponse(LakeFormationResponse):
    """moto's Lake Formation with checked grants, the received-grants view, pruning and
    full registrations; every request first brings Lake Formation in step with Glue."""

    def call_action(self) -> Any:
        prune(self.current_account, self.region)
        return super().call_action()

    @property
    def _caller(self) -> str:
        return principal_of(caller_arn(self.current_account, self.get_access_key()))

    # registrations ------------------------------------------------------------------
    def register_resource(self) -> str:
        arn = self._get_param("ResourceArn") or ""
        if not _S3_ARN.match(arn):
            raise InvalidInputException(f"Invalid ResourceArn {arn}: expected an Amazon S3 ARN.")
        role_arn = self._get_param("RoleArn")
        if self._get_param("UseServiceLinkedRole"):
            role_arn = SERVICE_LINKED_ROLE.format(account=self.current_account)
        if not role_arn:
            raise InvalidInputException(
                "RoleArn is required when UseServiceLinkedRole is not true."
            )
        backend = self.lakeformation_backend
        if arn in backend.resources:
            raise AlreadyExistsException("Resource is already registered")
        backend.resources[arn] = RegisteredLocation(
            arn,
            role_arn,
            Registration(
                hybrid_access_enabled=bool(self._get_param("HybridAccessEnabled")),
                with_federation=bool(self._get_param("WithFederation")),
                with_privileged_access=bool(self._get_param("WithPrivilegedAccess")),
                expected_resource_owner_account=self._get_param("ExpectedResourceOwnerAccount"),
            ),
        )
        return "{}"

    @staticmethod
    def _resource_info(registered: Any) -> dict[str, Any]:
        info: dict[str, Any] = dict(registered.to_dict())
        details = getattr(registered, "registration", None)
        if details is not None:
            info["LastModified"] = details.last_modified.timestamp()
        return info

    def describe_resource(self) -> str:
        arn = self._get_param("ResourceArn")
        registered = self.lakeformation_backend.resources.get(arn)
        if registered is None:
            raise EntityNotFoundException("Entity not found")
        return json.dumps({"ResourceInfo": self._resource_info(registered)})

    def list_resources(self) -> str:
        found = list(self.lakeformation_backend.resources.values())
        for condition in self._get_param("FilterConditionList") or []:
            found = [r for r in found if _resource_filter(condition)(self._resource_info(r))]
        listed, token = page(
            sorted(found, key=lambda r: r.arn),
            token=self._get_param("NextToken"),
            size=self._get_param("MaxResults"),
            default_size=len(found) or 1,
            unique="arn",
            invalid_token=lambda: InvalidInputException("Invalid NextToken."),
            request={"FilterConditionList": self._get_param("FilterConditionList")},
        )
        result: dict[str, Any] = {"ResourceInfoList": [self._resource_info(r) for r in listed]}
        if token:
            result["NextToken"] = token
        return json.dumps(result)

    # grants -------------------------------------------------------------------------
    def _authorise(self, resource: dict[str, Any], wanted: set[str]) -> None:
        """The caller may grant/revoke `wanted` on `resource` only as a data lake admin
        of the resource's own catalog, or by holding each permission with grant option
        (for another account's resource: received with grant option, by the caller, or
        by its account when the caller is a data lake admin there).

        Raises:
            AccessDeniedException: otherwise.
        """
        account, region, caller = self.current_account, self.region, self._caller
        catalog = catalog_of(resource) or account
        if catalog == account and is_data_lake_admin(account, region, caller):
            return
        received_by = {caller}
        if is_data_lake_admin(account, region, caller):
            received_by.add(account)
        for permission in wanted:
            own = holds(account, region, {caller}, resource, permission, grantable=True)
            received = catalog != account and holds(
                catalog, region, received_by, resource, permission, grantable=True
            )
            if not (own or received):
                raise AccessDeniedException(NOT_AUTHORIZED)

    def _checked_entry(
        self, entry: dict[str, Any]
    ) -> tuple[str, dict[str, Any], list[str], list[str]]:
        principal = (entry.get("Principal") or {}).get("DataLakePrincipalIdentifier")
        if not principal:
            raise InvalidInputException("Principal is required.")
        resource = require_exists(
            normalise(entry.get("Resource"), self.current_account), self.region
        )
        catalog = catalog_of(resource)
        if (
            catalog not in (None, self.current_account)
            and account_of(principal) != self.current_account
        ):
            # A resource shared with this account can only be re-granted inside it.
            raise AccessDeniedException(NOT_AUTHORIZED)
        permissions = list(entry.get("Permissions") or [])
        grantable = list(entry.get("PermissionsWithGrantOption") or [])
        self._authorise(resource, set(permissions) | set(grantable))
        return principal, resource, permissions, grantable

    def _grant(self, entry: dict[str, Any]) -> None:
        principal, resource, permissions, grantable = self._checked_entry(entry)
        add_grant(self.current_account, self.region, principal, resource, permissions, grantable)

    def _revoke(self, entry: dict[str, Any]) -> None:
        principal, resource, permissions, grantable = self._checked_entry(entry)
        if not remove_grant(
            self.current_account, self.region, principal, resource, permissions, grantable
        ):
            raise InvalidInputException(NOTHING_REVOKED)

    def _single_entry(self) -> dict[str, Any]:
        catalog = self._get_param("CatalogId")
        if catalog and catalog != self.current_account:
            raise AccessDeniedException(NOT_AUTHORIZED)
        return {
            "Principal": self._get_param("Principal"),
            "Resource": self._get_param("Resource"),
            "Permissions": self._get_param("Permissions"),
            "PermissionsWithGrantOption": self._get_param("PermissionsWithGrantOption"),
        }

    def grant_permissions(self) -> str:
        self._grant(self._single_entry())
        return "{}"

    def revoke_permissions(self) -> str:
        self._revoke(self._single_entry())
        return "{}"

    def _batch(self, apply: Any) -> str:
        failures = []
        for entry in self._get_param("Entries") or []:
            try:
                apply(entry)
            except LakeFormationError as exc:
                failures.append(
                    {
                        "RequestEntry": entry,
                        "Error": {"ErrorCode": exc.code, "ErrorMessage": exc.message},
                    }
                )
        return json.dumps({"Failures": failures})

    def batch_grant_permissions(self) -> str:
        return self._batch(self._grant)

    def batch_revoke_permissions(self) -> str:
        return self._batch(self._revoke)

    def list_permissions(self) -> str:
        principal = self._get_param("Principal")
        wanted = self._get_param("Resource")
        if principal is not None and wanted is None:
            raise InvalidInputException("Resource is mandatory if Principal is set in the input.")
        catalog = self._get_param("CatalogId") or self.current_account
        # IncludeRelated only adds data cells filters, which the emulator has none of.
        target = normalise(wanted, catalog) if wanted is not None else None
        grants = _visible(self.current_account, self.region, target_of(target) if target else None)
        if principal is not None:
            identifier = principal.get("DataLakePrincipalIdentifier")
            grants = [g for g in grants if principal_id(g) == identifier]
        resource_type = self._get_param("ResourceType")
        if resource_type is not None:
            kinds = RESOURCE_TYPE_KINDS.get(resource_type, ())
            grants = [g for g in grants if kind_of(g.resource)[0] in kinds]
        if target is not None:
            grants = [g for g in grants if matches_filter(g.resource, target)]
        page, token = _page(
            permission_items(grants), self._get_param("MaxResults"), self._get_param("NextToken")
        )
        result: dict[str, Any] = {"PrincipalResourcePermissions": page}
        if token:
            result["NextToken"] = token
        return json.dumps(result)


def _resource_filter(condition: dict[str, Any]) -> Any:
    """A predicate on ResourceInfo for one ListResources FilterCondition.

    Raises:
        InvalidInputException: a field or operator the emulator does not evaluate.
    """
    fields = {"RESOURCE_ARN": "ResourceArn", "ROLE_ARN": "RoleArn"}
    operators = {
        "EQ": lambda value, wanted: value in wanted,
        "NE": lambda value, wanted: value not in wanted,
        "CONTAINS": lambda value, wanted: any(w in value for w in wanted),
        "NOT_CONTAINS": lambda value, wanted: not any(w in value for w in wanted),
        "BEGINS_WITH": lambda value, wanted: any(value.startswith(w) for w in wanted),
    }
    field_name = fields.get(condition.get("Field", ""))
    operator = operators.get(condition.get("ComparisonOperator", ""))
    if field_name is None or operator is None:
        raise InvalidInputException(
            "The emulator filters resources on RESOURCE_ARN or ROLE_ARN with "
            "EQ, NE, CONTAINS, NOT_CONTAINS or BEGINS_WITH."
        )
    values = list(condition.get("StringValueList") or [])
    return lambda info: operator(str(info.get(field_name) or ""), values)
