"""CodeCommit's errors; each `code` is a botocore CodeCommit error shape."""

from __future__ import annotations

from moto.core.exceptions import ServiceException


class InvalidSortByException(ServiceException):
    code = "InvalidSortByException"


class InvalidOrderException(ServiceException):
    code = "InvalidOrderException"


class InvalidContinuationTokenException(ServiceException):
    code = "InvalidContinuationTokenException"


class RepositoryDoesNotExistException(ServiceException):
    code = "RepositoryDoesNotExistException"


class InvalidResourceArnException(ServiceException):
    code = "InvalidResourceArnException"
