"""Lake Formation's modeled errors (moto serialises the `code`) and the messages AWS gives."""

from __future__ import annotations

from moto.core.exceptions import ServiceException

#: What Lake Formation answers when a grantor lacks the right to grant or revoke
#: (seen from GrantPermissions and ListPermissions in public reports).
NOT_AUTHORIZED = (
    "Resource does not exist or requester is not authorized to access requested permissions."
)


NOTHING_REVOKED = (
    "No permissions revoked. Grantee has no permissions and no grantable permissions on resource."
)


class LakeFormationError(ServiceException):
    """Base of the modeled Lake Formation errors (moto serialises the `code`)."""

    code = "InternalServiceException"


class EntityNotFoundException(LakeFormationError):
    code = "EntityNotFoundException"


class InvalidInputException(LakeFormationError):
    code = "InvalidInputException"


class AccessDeniedException(LakeFormationError):
    code = "AccessDeniedException"


class AlreadyExistsException(LakeFormationError):
    code = "AlreadyExistsException"
