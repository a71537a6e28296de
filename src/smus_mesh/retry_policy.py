"""The one retry policy of every AWS call, and what counts as a transient failure.

Every client the tool uses, the STS clients botocore builds behind the scenes to
assume a role (`AssumeRole` while refreshing credentials) and the
`GetCallerIdentity` check included, is configured by `client_config`: botocore's
standard retry mode (exponential backoff with jitter) with `max_attempts` from the
settings. A failure that survives every attempt is *transient* when AWS (or the
network) said "not now" rather than "no": throttling, a 5xx, a timeout or a dropped
connection. Those end the run with exit code 3 (run the same command again), never
with the exit code of a user error (ADR 12).
"""

from __future__ import annotations

from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.retries.standard import (
    ThrottledRetryableChecker,
    ThrottlingStatusCodeChecker,
    TransientRetryableChecker,
)

from smus_mesh import __version__

#: Error codes and HTTP statuses botocore's standard mode itself retries (its own lists,
#: read from the pinned botocore so the two can never disagree).
TRANSIENT_CODES = frozenset(
    ThrottledRetryableChecker._THROTTLED_ERROR_CODES
    + TransientRetryableChecker._TRANSIENT_ERROR_CODES
    + ["InternalError", "InternalFailure", "InternalServerException", "ServiceUnavailable"]
)
TRANSIENT_STATUSES = frozenset(
    TransientRetryableChecker._TRANSIENT_STATUS_CODES
    + ThrottlingStatusCodeChecker._THROTTLING_STATUS_CODES
)


def client_config(max_attempts: int, pool: int = 10) -> BotoConfig:
    """The botocore `Config` of every client: the retry policy, timeouts, user agent."""
    return BotoConfig(
        retries={"mode": "standard", "max_attempts": max_attempts},
        connect_timeout=10,
        read_timeout=70,
        max_pool_connections=pool,
        user_agent_extra=f"smus-mesh/{__version__}",
    )


def is_transient(exc: BaseException) -> bool:
    """Whether `exc` is a failure that the same call may not meet again (throttling, a
    5xx, a timeout, a dropped connection), as opposed to AWS refusing the request."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return error.get("Code") in TRANSIENT_CODES or status in TRANSIENT_STATUSES
    # Connection refused/reset, read and connect timeouts; not a bad parameter.
    return isinstance(exc, HTTPClientError)


def describe_aws_error(exc: ClientError | BotoCoreError) -> str:
    """`Operation: Code: message` for a ClientError; botocore's text otherwise."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        operation = getattr(exc, "operation_name", None) or "call"
        return f"{operation}: {error.get('Code')}: {error.get('Message')}"
    return str(exc)
