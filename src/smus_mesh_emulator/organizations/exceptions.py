"""Organizations' errors the emulator adds to moto's; each `code` is a botocore error shape."""

from __future__ import annotations

from moto.core.exceptions import ServiceException


class AccessDeniedException(ServiceException):
    code = "AccessDeniedException"


class CreateAccountStatusNotFoundException(ServiceException):
    code = "CreateAccountStatusNotFoundException"


class InvalidInputException(ServiceException):
    code = "InvalidInputException"
