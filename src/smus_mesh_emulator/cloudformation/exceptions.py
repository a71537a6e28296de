"""Why a stack could not be deployed, and a resource handler's failure inside a stack."""

from __future__ import annotations


class StackDeploymentError(Exception):
    """A stack could not be created: invalid template (no stack exists) or a failed
    resource (the stack stays, rolled back, in `status`)."""

    def __init__(self, message: str, stack_id: str | None = None, status: str | None = None):
        super().__init__(message)
        self.stack_id = stack_id
        self.status = status


class ResourceFailure(Exception):
    """A resource handler refused the operation (message as CloudFormation reports it)."""


def handler_message(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return f'Resource handler returned message: "{message}"'
