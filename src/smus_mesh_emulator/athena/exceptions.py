"""Athena's API errors, and a query's own failure with its AthenaError category and type
(from Athena's error catalog).

Two kinds of wrong SQL, as Athena has them: a DML statement that Trino cannot parse is
refused by StartQueryExecution itself (InvalidRequestException, AthenaErrorCode
MALFORMED_QUERY, "line L:C: ..."); everything else that goes wrong (a Hive DDL parse
error, a missing table, a denied permission) ends the query FAILED with a
StateChangeReason and an AthenaError.
"""

from __future__ import annotations

from moto.core.exceptions import ServiceException

#: AthenaError categories, from Athena's error catalog.
SYSTEM_ERROR = 1


USER_ERROR = 2


#: AthenaError types, from Athena's error catalog.
TYPE_INTERNAL = 100


TYPE_USER = 1000


#: "DDL task failed": Hive's ParseException and metastore errors (category SYSTEM for
#: a ParseException, as Athena reports it).
TYPE_DDL_FAILED = 1003


TYPE_SYNTAX = 1006


TYPE_TABLE_NOT_FOUND = 1110


TYPE_DECODER_NOT_SUPPORTED = 1201


TYPE_QUERY_NOT_SUPPORTED = 1202


TYPE_ENTITY_NOT_FOUND = 1301


TYPE_BUCKET_NOT_FOUND = 1306


TYPE_PERMISSION = 1500


NO_OUTPUT_LOCATION = (
    "No output location provided. An output location is required either through the "
    "Workgroup result configuration setting or as an API input."
)


class InvalidRequestException(ServiceException):
    code = "InvalidRequestException"


class MalformedQuery(InvalidRequestException):
    """StartQueryExecution's answer to DML that does not parse (the botocore shape's
    AthenaErrorCode, serialised by moto from this attribute)."""

    AthenaErrorCode = "MALFORMED_QUERY"


class QueryFailure(Exception):
    """Ends a query FAILED with this reason and AthenaError type/category.

    `message` is AthenaError.ErrorMessage when Athena words it apart from the
    StateChangeReason (a Hive DDL error: the reason is Hive's, the message is short).
    """

    def __init__(
        self,
        reason: str,
        error_type: int,
        category: int = USER_ERROR,
        message: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error_type = error_type
        self.category = category
        self.message = message or reason


class QueryCancelled(Exception):
    """The query was stopped (StopQueryExecution) while it ran."""
