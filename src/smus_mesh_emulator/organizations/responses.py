"""The Organizations API: moto's, with CreateAccount asynchronous as AWS documents it."""

from __future__ import annotations

import json

from moto.organizations.exceptions import AWSOrganizationsNotInUseException
from moto.organizations.models import OrganizationsBackend
from moto.organizations.responses import OrganizationsResponse

from smus_mesh_emulator.organizations.exceptions import (
    AccessDeniedException,
    CreateAccountStatusNotFoundException,
    InvalidInputException,
)
from smus_mesh_emulator.organizations.models import (
    AccountCreation,
    creations_of,
    management_account_of,
    start_account_creation,
)
from smus_mesh_emulator.paging import page
from smus_mesh_emulator.runtime import RUNTIME

#: ListCreateAccountStatus page size limits (botocore model: 1..20).
MAX_PAGE = 20
CREATION_STATES = ("IN_PROGRESS", "SUCCEEDED", "FAILED")


class OrganizationsEmulatorResponse(OrganizationsResponse):
    """moto's Organizations; the account-creation operations are the emulator's."""

    def _management_backend(self) -> OrganizationsBackend:
        """The caller's backend if it manages an organization: only the management account
        may create accounts or read their creation."""
        if management_account_of(self.current_account) is None:
            raise AWSOrganizationsNotInUseException
        backend = self.organizations_backend
        if backend.org is None:
            raise AccessDeniedException("You don't have permissions to access this resource.")
        return backend

    def create_account(self) -> str:
        backend = self._management_backend()
        params = self.request_params
        name, email = params.get("AccountName"), params.get("Email")
        if not isinstance(name, str) or not isinstance(email, str):
            raise InvalidInputException("You must specify an AccountName and an Email.")
        tags = {t["Key"]: t.get("Value", "") for t in params.get("Tags") or []}
        role_name = params.get("RoleName") or "OrganizationAccountAccessRole"
        creation = start_account_creation(backend, name, email, role_name, tags)
        return json.dumps({"CreateAccountStatus": creation.to_dict()})

    def _creation(self, request_id: str | None) -> AccountCreation:
        creation = creations_of(self._management_backend()).get(request_id or "")
        if creation is None:
            raise CreateAccountStatusNotFoundException(
                "We can't find an create account request with the CreateAccountRequestId "
                "that you specified."
            )
        return creation

    def describe_create_account_status(self) -> str:
        creation = self._creation(self._get_param("CreateAccountRequestId"))
        RUNTIME.scheduler.mark_read(creation.transition)
        return json.dumps({"CreateAccountStatus": creation.to_dict()})

    def list_create_account_status(self) -> str:
        backend = self._management_backend()
        states = self._get_param("States") or list(CREATION_STATES)
        size = self._get_param("MaxResults") or MAX_PAGE
        if not 1 <= size <= MAX_PAGE:
            raise InvalidInputException("You specified an invalid value for nextToken.")
        selected = [c for c in creations_of(backend).values() if c.state in states]
        for creation in selected:
            RUNTIME.scheduler.mark_read(creation.transition)
        listed, token = page(
            selected,
            token=self._get_param("NextToken"),
            size=size,
            default_size=MAX_PAGE,
            unique="id",
            invalid_token=lambda: InvalidInputException(
                "You specified an invalid value for nextToken."
            ),
            request={"States": states},
        )
        result: dict[str, object] = {"CreateAccountStatuses": [c.to_dict() for c in listed]}
        if token:
            result["NextToken"] = token
        return json.dumps(result)
