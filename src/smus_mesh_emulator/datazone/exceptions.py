"""DataZone errors. Each sets only `code`, matching a botocore error shape, so moto
serialises it with the modeled HTTP status (404, 409, ...) and botocore raises
the same `ClientError` code that real DataZone would."""

from __future__ import annotations

from moto.core.exceptions import ServiceException


class DataZoneError(ServiceException):
    code = "InternalServerException"


class AccessDeniedException(DataZoneError):
    code = "AccessDeniedException"


class ConflictException(DataZoneError):
    code = "ConflictException"


class ResourceNotFoundException(DataZoneError):
    code = "ResourceNotFoundException"


class ValidationException(DataZoneError):
    code = "ValidationException"


class ServiceQuotaExceededException(DataZoneError):
    code = "ServiceQuotaExceededException"


class ThrottlingException(DataZoneError):
    code = "ThrottlingException"


class UnauthorizedException(DataZoneError):
    code = "UnauthorizedException"
