"""STS's errors."""

from __future__ import annotations

from moto.core.exceptions import ServiceException


class AccessDenied(ServiceException):
    """STS's AccessDenied (HTTP 403 in AWS; moto serialises the modeled error)."""

    code = "AccessDenied"
