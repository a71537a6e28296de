"""Redshift Serverless errors; each `code` is a botocore redshift-serverless error shape."""

from __future__ import annotations

from moto.core.exceptions import ServiceException


class ResourceNotFoundException(ServiceException):
    code = "ResourceNotFoundException"


class ConflictException(ServiceException):
    code = "ConflictException"


class ValidationException(ServiceException):
    code = "ValidationException"
