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

from typing import Any

from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.retries.standard import (
    ExponentialBackoff,
    RetryEventAdapter,
    RetryHandler,
    RetryPolicy,
    StandardRetryConditions,
    ThrottledRetryableChecker,
    ThrottlingErrorDetector,
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
        # botocore's `max_attempts` counts retries (10 made 11 attempts); the setting is the
        # attempts of a call, the first included, which is botocore's `total_max_attempts`
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        connect_timeout=10,
        read_timeout=70,
        max_pool_connections=pool,
        user_agent_extra=f"smus-mesh/{__version__}",
    )


class _NoRetryQuota:
    """Stands in for botocore's retry quota: every retry the policy allows is made."""

    def acquire_retry_quota(self, context: Any) -> bool:
        return True


def without_retry_quota(client: Any) -> Any:
    """`client`, with botocore's standard retries minus the client-side retry quota.

    Standard mode gives each client a bucket of 500 "retry tokens": a retry costs 5
    (throttling) or 14, a success without retry gives 1 back. Under sustained throttling a
    long-lived client empties it, and from then on every call gets one attempt only: with
    30 % throttling and 5 % 5xx, one client met its first unretried failure after 766
    calls (`down`'s polls make that many). A run that waits for an hour on the same clients
    must keep its retries, so the quota goes and the rest of the policy (attempts, jittered
    exponential backoff capped at 20 s, which errors are retried) stays botocore's own.
    Terraform's AWS provider turned the same bucket off for the same reason
    (hashicorp/terraform-provider-aws#34669, "retry quota exceeded").
    """
    service = client.meta.service_model.service_id.hyphenize()
    attempts = client.meta.config.retries.get("total_max_attempts")
    adapter = RetryEventAdapter()
    handler = RetryHandler(
        retry_policy=RetryPolicy(
            retry_checker=StandardRetryConditions(max_attempts=attempts),
            retry_backoff=ExponentialBackoff(
                service_name=service, throttling_detector=ThrottlingErrorDetector(adapter)
            ),
        ),
        retry_event_adapter=adapter,
        retry_quota=_NoRetryQuota(),
        service_name=service,
    )
    unique_id = f"retry-config-{service}"
    client.meta.events.unregister(f"needs-retry.{service}", unique_id=unique_id)
    client.meta.events.register(f"needs-retry.{service}", handler.needs_retry, unique_id=unique_id)
    return client


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
        if error.get("Code") == "403" and operation in ("HeadBucket", "HeadObject"):
            # A HEAD answer has no body, so AWS names neither the action nor the reason.
            action = "s3:ListBucket" if operation == "HeadBucket" else "s3:GetObject"
            return f"{operation}: 403: Forbidden (no body: check {action} on it)"
        return f"{operation}: {error.get('Code')}: {error.get('Message')}"
    return str(exc)
