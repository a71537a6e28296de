"""Athena's API error, and a query's own failure with its AthenaError category and type
(from Athena's error catalog): a query that goes wrong ends FAILED, never as an API error.
"""

from __future__ import annotations

from moto.core.exceptions import ServiceException

#: AthenaError categories and types, from Athena's error catalog.
USER_ERROR = 2


SYSTEM_ERROR = 1


TYPE_USER = 1000


TYPE_SYNTAX = 1006


TYPE_TABLE_NOT_FOUND = 1110


TYPE_DECODER_NOT_SUPPORTED = 1201


TYPE_QUERY_NOT_SUPPORTED = 1202


TYPE_ENTITY_NOT_FOUND = 1301


TYPE_BUCKET_NOT_FOUND = 1306


TYPE_PERMISSION = 1500


TYPE_INTERNAL = 100


NO_OUTPUT_LOCATION = (
    "No output location provided. An output location is required either through the "
    "Workgroup result configuration setting or as an API input."
)


class InvalidRequestException(ServiceException):
    code = "InvalidRequestException"


class QueryFailure(Exception):
    """Ends a query FAILED with this reason and AthenaError type/category."""

    def __init__(self, reason: str, error_type: int, category: int = USER_ERROR) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error_type = error_type
        self.category = category
