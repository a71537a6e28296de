"""RAM's errors; each `code` is a botocore RAM error shape."""

from __future__ import annotations

from moto.core.exceptions import ServiceException


class RamError(ServiceException):
    code = "ServerInternalException"


class InvalidParameterException(RamError):
    code = "InvalidParameterException"


class InvalidNextTokenException(RamError):
    code = "InvalidNextTokenException"


class InvalidResourceTypeException(RamError):
    code = "InvalidResourceTypeException"


class MalformedArnException(RamError):
    code = "MalformedArnException"


class OperationNotPermittedException(RamError):
    code = "OperationNotPermittedException"


class UnknownResourceException(RamError):
    code = "UnknownResourceException"


class InvitationArnNotFoundException(RamError):
    code = "ResourceShareInvitationArnNotFoundException"


class InvitationAlreadyAcceptedException(RamError):
    code = "ResourceShareInvitationAlreadyAcceptedException"


class InvitationAlreadyRejectedException(RamError):
    code = "ResourceShareInvitationAlreadyRejectedException"


class InvitationExpiredException(RamError):
    code = "ResourceShareInvitationExpiredException"
