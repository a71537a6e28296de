"""The tool's error hierarchy: what the user did wrong vs. what AWS did, and what to retry.

The CLI maps these to exit codes (2 for `UserError`, 1 for everything else)
and prints only the message unless `--debug`; anything that is not a
`SmusMeshError` is reported as a bug, with its traceback.
"""

from __future__ import annotations


class SmusMeshError(Exception):
    """Base of every error the tool raises on purpose."""

    exit_code = 1


class UserError(SmusMeshError):
    """The input is wrong (config, options, credentials): fix it; retrying will not help."""

    exit_code = 2


class ConfigError(UserError):
    """The config file is invalid. `problems` are (field path, message) pairs."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = [f"{source}: {len(problems)} problem(s) in the configuration:"]
        lines += [f"  {path}: {message}" for path, message in problems]
        super().__init__("\n".join(lines))


class AccountError(UserError):
    """Credentials for an account cannot be obtained, or reach the wrong account."""


class StateError(SmusMeshError):
    """The state file cannot be read, written or locked."""


class StateLockedError(StateError):
    """Another run holds the state file's lock."""

    exit_code = 2


class PlanError(SmusMeshError):
    """The dependency graph or the plan is inconsistent (a cycle, an unknown step)."""


class StepError(SmusMeshError):
    """An AWS step failed. Carries the resource key, the operation and AWS's request id."""

    def __init__(
        self,
        key: str,
        message: str,
        *,
        operation: str | None = None,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.key = key
        self.operation = operation
        self.code = code
        self.request_id = request_id
        detail = f" [{operation}: {code}]" if operation and code else ""
        rid = f" (request id {request_id})" if request_id else ""
        super().__init__(f"{key}: {message}{detail}{rid}")


class WaitTimeout(StepError):
    """An asynchronous AWS job did not reach its target status before the deadline."""


class FailedStatus(StepError):
    """An asynchronous AWS job ended in a failure status; the message carries AWS's reason."""


class QueryCheckFailed(SmusMeshError):
    """A configured check query was denied, failed, or returned other rows than expected."""


class LeftoversFound(SmusMeshError):
    """`audit` (or the end of `down`) found resources of the set-up that still exist."""
