"""A stack's life cycle as AWS runs it (validation, events, rollback, DELETE_FAILED on a
non-empty bucket), shared by the HTTP API and the in-process API DataZone provisioning
calls: `deploy_stack`, `delete_stack`, `stack_status`.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.exceptions import AlreadyExistsException, ValidationError
from moto.cloudformation.models import (
    CloudFormationBackend,
    Event,
    Stack,
    cloudformation_backends,
)
from moto.s3.models import s3_backends

# Defining the resource types is registering them: moto finds models by subclass.
from smus_mesh_emulator.cloudformation import models as _resource_types  # noqa: F401
from smus_mesh_emulator.cloudformation.exceptions import (
    ResourceFailure,
    StackDeploymentError,
    handler_message,
)
from smus_mesh_emulator.runtime import RUNTIME


def _check_template(body: str) -> None:
    """Refuse, as CloudFormation's validation does, templates with unknown resource types.

    Types moto does not model are refused the same way: the emulator fails
    closed instead of reporting CREATE_COMPLETE for resources it never made.
    """
    try:
        template = Stack.parse_template(body)
    except Exception as exc:
        raise ValidationError(message=f"Template format error: {exc}") from exc
    if not isinstance(template, dict):
        raise ValidationError(message="Template format error: the template is not a mapping")
    resources = template.get("Resources") or {}
    known = parsing.get_model_map()
    unknown = sorted(
        {
            str(body.get("Type"))
            for body in resources.values()
            if isinstance(body, dict)
            and body.get("Type") not in known
            and body.get("Type") not in parsing.NULL_MODELS
            and not str(body.get("Type")).startswith("Custom::")
        }
    )
    if unknown:
        raise ValidationError(
            message=(
                f"Template format error: Unrecognized resource types: [{', '.join(unknown)}] "
                "(unknown to AWS or not emulated)"
            )
        )


def _event(stack: Stack, logical_id: str, status: str, reason: str | None) -> None:
    body = stack.resource_map._resource_json_map.get(logical_id) or {}
    resource = stack.resource_map._parsed_resources.get(logical_id)
    stack.events.append(
        Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=logical_id,
            physical_resource_id=getattr(resource, "physical_resource_id", None) or "",
            resource_type=str(body.get("Type", "")),
            resource_status=status,
            resource_status_reason=reason,
            resource_properties=None,
        )
    )


def _set_status(stack: Stack, status: str, reason: str | None = None) -> None:
    stack.status = status
    # Serialised as StackStatusReason by DescribeStacks; moto's Stack does not declare it.
    setattr(stack, "status_reason", reason)  # noqa: B010
    stack._add_stack_event(status, resource_status_reason=reason)


def _failed_logical_id(exc: BaseException) -> str | None:
    """The resource whose creation raised `exc`: the innermost moto frame that was
    creating a resource (resources are created lazily, one inside another via Ref)."""
    failed = None
    trace = exc.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code is parsing.parse_and_create_resource.__code__:
            failed = trace.tb_frame.f_locals.get("logical_id")
        trace = trace.tb_next
    return str(failed) if failed is not None else None


def _freeze_outputs(stack: Stack, keep: bool) -> None:
    """Fix the stack's outputs before its resources go: moto evaluates them lazily and
    would fail on a reference to a deleted resource. `keep=False` drops them (a stack
    that failed to create has no outputs)."""
    output_map = stack.output_map
    if keep:
        for key in list(output_map.outputs):
            # An output whose resource was never created has no value: it is dropped.
            with contextlib.suppress(Exception):
                output_map[key]
    evaluated = output_map._parsed_outputs
    output_map._output_json_map = {
        key: value
        for key, value in (output_map._output_json_map or {}).items()
        if keep and key in evaluated
    }


def _is_nonempty_bucket(stack: Stack, resource: Any) -> bool:
    if getattr(resource, "cf_resource_type", None) != "AWS::S3::Bucket":
        return False
    bucket = s3_backends[stack.account_id]["aws"].buckets.get(resource.physical_resource_id)
    return bucket is not None and bool(bucket.keys)


def _delete_resources(stack: Stack, retain: frozenset[str] = frozenset()) -> dict[str, str]:
    """Delete the stack's resources; return {logical id: reason} of those that failed.

    As CloudFormation does, a resource that cannot be deleted (a bucket that is not
    empty, a role with foreign policies, ...) stays, with the stack; the others go.
    Passes repeat while they make progress, for dependencies between resources.
    """
    resource_map = stack.resource_map
    templates: dict[str, Any] = resource_map._resource_json_map
    parsed: dict[str, Any] = resource_map._parsed_resources
    pending = {
        logical_id
        for logical_id, body in templates.items()
        if body.get("DeletionPolicy") != "Retain" and logical_id not in retain
    }
    failures: dict[str, str] = {}
    progressed = True
    while pending and progressed:
        progressed = False
        for logical_id in sorted(pending):
            resource = parsed.get(logical_id)
            try:
                if resource is not None:
                    if _is_nonempty_bucket(stack, resource):
                        raise ResourceFailure(
                            "The bucket you tried to delete is not empty "
                            "(Service: S3, Status Code: 409, Error Code: BucketNotEmpty)"
                        )
                    resource_map._delete_resource(resource, templates[logical_id])
            except Exception as exc:
                failures[logical_id] = handler_message(exc)
                continue
            parsed.pop(logical_id, None)
            pending.discard(logical_id)
            failures.pop(logical_id, None)
            progressed = True
    for logical_id, reason in sorted(failures.items()):
        _event(stack, logical_id, "DELETE_FAILED", reason)
    # Only what failed stays part of the stack: moto would otherwise re-create the
    # deleted resources when the stack's resources are next listed.
    resource_map._resource_json_map = {k: v for k, v in templates.items() if k in failures}
    return failures


def _find_stack(backend: CloudFormationBackend, name_or_id: str) -> Stack | None:
    if name_or_id in backend.stacks:
        return backend.stacks[name_or_id]
    return next((s for s in backend.stacks.values() if s.name == name_or_id), None)


def delete_stack_now(
    backend: CloudFormationBackend, name_or_id: str, retain: frozenset[str] = frozenset()
) -> tuple[str, str | None]:
    """Delete a stack as CloudFormation does; (final status, status reason).

    A stack that does not exist (or is already deleted) is a no-op, as in AWS.
    """
    stack = _find_stack(backend, name_or_id)
    if stack is None:
        return "DELETE_COMPLETE", None
    _set_status(stack, "DELETE_IN_PROGRESS", "User Initiated")
    _freeze_outputs(stack, keep=True)
    failures = _delete_resources(stack, retain)
    if failures:
        reason = f"The following resource(s) failed to delete: [{', '.join(sorted(failures))}]. "
        _set_status(stack, "DELETE_FAILED", reason)
        return stack.status, reason
    for export in stack.exports:
        backend.exports.pop(export.name, None)
    backend.stacks.pop(stack.stack_id, None)
    backend.deleted_stacks[stack.stack_id] = stack
    _set_status(stack, "DELETE_COMPLETE")
    return stack.status, None


def create_stack(
    backend: CloudFormationBackend,
    name: str,
    template_body: str,
    parameters: dict[str, Any],
    tags: dict[str, str],
    on_failure: str = "ROLLBACK",
    **options: Any,
) -> Stack:
    """Create a stack; a resource failure ends it CREATE_FAILED and, per `on_failure`
    (ROLLBACK | DELETE | DO_NOTHING), rolled back, deleted or left as is.

    Raises the CloudFormation ValidationError / AlreadyExistsException that AWS
    returns synchronously, before any stack exists.
    """
    if any(s.name == name for s in backend.stacks.values()):
        raise AlreadyExistsException(f"Stack [{name}] already exists")
    _check_template(template_body)
    before = set(backend.stacks)
    try:
        return backend.create_stack(
            name=name, template=template_body, parameters=parameters, tags=tags, **options
        )
    except Exception as exc:
        stack = next((s for i, s in backend.stacks.items() if i not in before), None)
        if stack is None:
            raise  # refused before the stack existed: invalid template or parameters
        failed = _failed_logical_id(exc) or "unknown"
        _event(stack, failed, "CREATE_FAILED", handler_message(exc))
        # What was not created is not part of the stack (moto would retry creating it
        # whenever the stack's resources or outputs are read).
        _freeze_outputs(stack, keep=False)
        resource_map = stack.resource_map
        resource_map._resource_json_map = {
            logical_id: body
            for logical_id, body in resource_map._resource_json_map.items()
            if logical_id in resource_map._parsed_resources
        }
        reason = f"The following resource(s) failed to create: [{failed}]. "
        if on_failure == "DO_NOTHING":
            _set_status(stack, "CREATE_FAILED", reason)
            return stack
        _set_status(stack, "ROLLBACK_IN_PROGRESS", reason + "Rollback requested by user.")
        leftovers = _delete_resources(stack)
        if leftovers:
            _set_status(
                stack,
                "ROLLBACK_FAILED",
                f"The following resource(s) failed to delete: [{', '.join(sorted(leftovers))}]. ",
            )
        else:
            _set_status(stack, "ROLLBACK_COMPLETE", reason)
            if on_failure == "DELETE":
                delete_stack_now(backend, stack.stack_id)
        return stack


def deploy_stack(
    account_id: str, region: str, name: str, template: dict[str, Any], tags: dict[str, str]
) -> str:
    """Create stack `name` from `template` in `account_id` and return its stack id.

    The stack is an ordinary stack of that account (DescribeStacks, ListStacks,
    DeleteStack all see it). On a failed resource it is rolled back and left in
    ROLLBACK_COMPLETE (or ROLLBACK_FAILED), as CloudFormation leaves it.

    Raises:
        StackDeploymentError: the template is invalid (no stack was created) or a
            resource failed (`stack_id` and `status` say where the stack stands).

    Examples:
        >>> deploy_stack("222222222222", "us-east-1", "DataZone-Env-abc", template, tags={})
        'arn:aws:cloudformation:us-east-1:222222222222:stack/DataZone-Env-abc/...'
    """
    with RUNTIME.lock:
        backend = cloudformation_backends[account_id][region]
        try:
            stack = create_stack(backend, name, json.dumps(template), {}, dict(tags))
        except (ValidationError, AlreadyExistsException) as exc:
            raise StackDeploymentError(f"stack {name} in {account_id}: {exc.message}") from exc
        if stack.status != "CREATE_COMPLETE":
            raise StackDeploymentError(
                f"stack {name} in {account_id} is {stack.status}: "
                f"{_creation_failure(stack) or getattr(stack, 'status_reason', None)}",
                stack_id=stack.stack_id,
                status=stack.status,
            )
        return str(stack.stack_id)


def _creation_failure(stack: Stack) -> str | None:
    for event in reversed(stack.events):
        if event.resource_status == "CREATE_FAILED" and event.logical_resource_id != stack.name:
            return f"{event.logical_resource_id}: {event.resource_status_reason}"
    return None


def delete_stack(account_id: str, region: str, name_or_id: str) -> tuple[str, str | None]:
    """Delete a stack; return its final status (DELETE_COMPLETE or DELETE_FAILED) and
    the status reason (which resources could not be deleted, and why in its events).

    Examples:
        >>> delete_stack("222222222222", "us-east-1", "DataZone-Env-abc")
        ('DELETE_FAILED', 'The following resource(s) failed to delete: [Bucket]. ')
    """
    with RUNTIME.lock:
        return delete_stack_now(cloudformation_backends[account_id][region], name_or_id)


def stack_status(account_id: str, region: str, name_or_id: str) -> str | None:
    """The stack's status, or None when there is no such stack.

    As in DescribeStacks, a deleted stack is found by its id only.

    Examples:
        >>> stack_status("222222222222", "us-east-1", "DataZone-Env-abc")
        'CREATE_COMPLETE'
    """
    with RUNTIME.lock:
        backend = cloudformation_backends[account_id][region]
        stack = _find_stack(backend, name_or_id) or backend.deleted_stacks.get(name_or_id)
        return str(stack.status) if stack is not None else None
