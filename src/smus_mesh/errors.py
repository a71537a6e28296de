"""The tool's error hierarchy: what the user did wrong vs. what AWS did, and what to retry.

Each error carries its exit code, and each exit code means one thing (ADR 12):

* 0 `EXIT_OK`: success.
* 1 `EXIT_FAILED`: AWS refused, a check failed, or something was left behind.
* 2 `EXIT_USAGE`: the user's input (config file, options, a state file that is not
  this set-up's or cannot be read) is wrong; nothing was changed.
* 3 `EXIT_TRANSIENT`: AWS or the network kept failing transiently (throttling, 5xx,
  timeouts) after every retry; safe to run the same command again.
* 130 `EXIT_INTERRUPTED`: Ctrl-C.

The CLI prints only the message unless `--debug`; anything that is not a
`SmusMeshError` is reported as a bug, with its traceback.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_TRANSIENT = 3
EXIT_INTERRUPTED = 130


class SmusMeshError(Exception):
    """Base of every error the tool raises on purpose."""

    exit_code = EXIT_FAILED


class UserError(SmusMeshError):
    """The input is wrong (config, options, credentials): fix it; retrying will not help."""

    exit_code = EXIT_USAGE


class TransientError(SmusMeshError):
    """AWS (or the network) kept failing transiently after every retry: run it again."""

    exit_code = EXIT_TRANSIENT


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


class StateUnreadable(StateError):
    """The state file (or its journal) is not one this smus-mesh can use: corrupt, of a
    newer format, or of another set-up. The user's input: nothing was changed."""

    exit_code = EXIT_USAGE


class StateLockedError(StateError):
    """Another run holds the state file's lock."""

    exit_code = EXIT_USAGE


class PlanError(SmusMeshError):
    """The dependency graph or the plan is inconsistent (a cycle, an unknown step)."""


class PlanOutdated(UserError):
    """A saved plan (`up --plan FILE`) is not what a fresh observation yields any more, or
    was made from another config: nothing was changed."""


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
        transient: bool = False,
    ) -> None:
        self.key = key
        self.operation = operation
        self.code = code
        self.request_id = request_id
        #: AWS said "not now" (throttling, 5xx, timeout) after every retry, not "no".
        self.transient = transient
        self.exit_code = EXIT_TRANSIENT if transient else EXIT_FAILED
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


class Interrupted(SmusMeshError):
    """Ctrl-C: the run stopped starting steps (and, on a second Ctrl-C, every wait
    ended at once). What was done is in the state file; running again resumes."""

    exit_code = EXIT_INTERRUPTED


def aws_code(exc: BaseException) -> str:
    """The AWS error code of a botocore `ClientError` (`""` for any other exception).

    Read through `response`, so this module needs no botocore import and any exception
    can be asked."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ""
    return str(response.get("Error", {}).get("Code", "") or "")
