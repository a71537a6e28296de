"""DataZone HTTP layer: moto's model-driven parsing and serialisation around the backend.

Every botocore operation whose snake_case name is a `DataZoneBackend` method is
served: the request is parsed from the model (`automated_parameter_parsing`),
the backend returns an output dict, list operations are paginated from the
botocore paginator model, and the dict is serialised through the output shape
(status code, timestamp formats) by wire.py. In strict mode (tests) that is checked
against moto's serialiser (once per operation and `wire.signature` of the result, ADR 35),
and every response's bytes are parsed back by botocore and validated against the model
(`validation.py`); a response that differs or breaks the model fails the request with a
500 that names the problem. An operation whose input has an idempotency token
(`clientToken`) answers a repeat of a successful request with the remembered response
(idempotency.py, ADR 53).

Any other operation fails closed at once: HTTP 501 `NotImplemented`, which
botocore does not retry, naming the operation.
"""

from __future__ import annotations

import json
import logging
from functools import cache
from typing import Any

from moto.core.responses import ActionResult, BaseResponse
from moto.core.utils import camelcase_to_underscores

from smus_mesh_emulator.accounts import caller_arn, principal_of
from smus_mesh_emulator.datazone import wire
from smus_mesh_emulator.datazone.common import Caller
from smus_mesh_emulator.datazone.constraints import constraint_errors, message
from smus_mesh_emulator.datazone.exceptions import ConflictException, ValidationException
from smus_mesh_emulator.datazone.idempotency import TokenReused, client_tokens, fingerprint
from smus_mesh_emulator.datazone.models import DataZoneBackend, datazone_backends
from smus_mesh_emulator.routes import routed
from smus_mesh_emulator.runtime import RUNTIME
from smus_mesh_emulator.validation import SESSION, service_model

LOG = logging.getLogger(__name__)


def _service_model() -> Any:
    return service_model("datazone")


@cache
def _paginators() -> dict[str, Any]:
    config: dict[str, Any] = SESSION.get_paginator_model("datazone")._paginator_config
    return config


@cache
def implemented_operations() -> frozenset[str]:
    """botocore DataZone operations that the backend implements."""
    return frozenset(
        op
        for op in _service_model().operation_names
        if callable(getattr(DataZoneBackend, camelcase_to_underscores(op), None))
    )


@cache
def idempotency_token(operation: str) -> str | None:
    """The input member of `operation` that is its idempotency token (`clientToken`), or
    None: the operation takes none."""
    shape = _service_model().operation_model(operation).input_shape
    if shape is None:
        return None
    tokens = [
        name for name, member in shape.members.items() if member.metadata.get("idempotencyToken")
    ]
    return tokens[0] if tokens else None


def _token_reused(operation: str, token: str) -> Exception:
    """The error for a client token sent again with other parameters. Unverified: DataZone
    documents no answer for it, and its model has no IdempotentParameterMismatch error.
    The AWS services that document one answer ConflictException (409) for it (Verified
    Permissions, Directory Service Data, ...), so that, where the operation's model lists
    it; ValidationException (400) where it does not (CreateUserProfile, RemovePolicyGrant,
    ...), so that a client written from the model recognises the answer (ADR 53)."""
    message = (
        f"Client token {token} was already used by a {operation} request with different "
        "parameters: send that request again unchanged, or use a new client token"
    )
    errors = {shape.name for shape in _service_model().operation_model(operation).error_shapes}
    if "ConflictException" in errors:
        return ConflictException(message)
    return ValidationException(message)


def _not_implemented(operation: str) -> tuple[int, dict[str, str], str]:
    message = (
        f"not implemented in emulator: DataZone {operation}. "
        "See docs/emulator-coverage.md for the operations smus-mesh emulates."
    )
    body = json.dumps({"message": message})
    return 501, {"x-amzn-ErrorType": "NotImplemented", "Content-Type": "application/json"}, body


#: (operation, `wire.signature` of a result) on which wire.py and moto's serialiser have
#: agreed in this process: strict mode serialises a result of the same signature once
#: more only through wire.py (ADR 35). Bounded, so an unusual stream of results cannot
#: grow it without end (past the bound, every result is compared again).
_AGREED: set[tuple[str, Any]] = set()
_AGREED_MAX = 20_000


class DataZoneResponse(BaseResponse):
    def __init__(self) -> None:
        super().__init__(service_name="datazone")
        self.automated_parameter_parsing = True

    def _get_action(self) -> str:
        # moto asks for the action several times per request, each a route match.
        action: str | None = getattr(self, "_action", None)
        if action is None:
            action = super()._get_action()
            self._action = action
        return action

    def _get_action_from_method_and_request_uri(self, request: Any) -> str:
        # The emulator matched this request with moto's own router already, to name it.
        route = routed(request, "datazone")
        if route is None:
            action: str = super()._get_action_from_method_and_request_uri(request)
            return action
        action, self.uri_match = route
        return action

    @property
    def backend(self) -> DataZoneBackend:
        backend: DataZoneBackend = datazone_backends[self.current_account][self.region]
        return backend

    @property
    def caller(self) -> Caller:
        arn = caller_arn(self.current_account, self.get_access_key())
        return Caller(account=self.current_account, arn=principal_of(arn))

    def call_action(self) -> Any:
        operation = self._get_action()
        if not operation or operation not in implemented_operations():
            return _not_implemented(operation or f"{self.method} {self.path}")
        method = getattr(self.backend, camelcase_to_underscores(operation))
        params = dict(self.params) if isinstance(self.params, dict) else {}
        broken = constraint_errors(_service_model().operation_model(operation).input_shape, params)
        if broken:
            return self.serialized(ActionResult(ValidationException(message(broken))))
        token_member = idempotency_token(operation)
        token = params.get(token_member) if token_member else None
        if not token:
            return self._run(operation, method, params)
        # A client token (idempotency.py, ADR 53): a retry answers what the first attempt did.
        tokens = client_tokens[self.current_account][self.region]
        request = fingerprint(params, str(token_member))
        try:
            remembered = tokens.recall(operation, str(token), request)
        except TokenReused:
            return self.serialized(ActionResult(_token_reused(operation, str(token))))
        if remembered is not None:
            headers = dict(remembered.headers)
            headers.update(self.response_headers)
            return remembered.status, headers, remembered.body
        response = self._run(operation, method, params)
        if 200 <= int(response[0]) < 300:
            tokens.remember(operation, str(token), request, response)
        return response

    def _run(self, operation: str, method: Any, params: dict[str, Any]) -> Any:
        """(status, headers, body) of the backend's answer to the request."""
        try:
            result = method(self.caller, params)
        except Exception as exc:
            from moto.core.exceptions import ServiceException

            if isinstance(exc, ServiceException):
                return self.serialized(ActionResult(exc))
            raise
        result = self._paginate(operation, params, result)
        status, headers, body = self._serialize(operation, result)
        return self._checked(operation, status, headers, body)

    def _serialize(self, operation: str, result: dict[str, Any]) -> tuple[int, Any, Any]:
        """The response through the fast path (wire.py) where it applies; in strict mode
        also through moto's serialiser, and a difference is a 500 that shows both."""
        try:
            fast: tuple[int, dict[str, str], str] | None = wire.response(
                _service_model().operation_model(operation), result
            )
        except wire.Unsupported:
            fast = None
        if fast is not None and not RUNTIME.strict:
            fast[1].update(self.response_headers)
            return fast
        seen = None
        if fast is not None:
            seen = (
                operation,
                wire.signature(_service_model().operation_model(operation).output_shape, result),
            )
            if seen in _AGREED:
                fast[1].update(self.response_headers)
                return fast
        status, headers, body = self.serialized(ActionResult(result))
        if fast is not None and (
            fast[0] != status
            or fast[1]["Content-Type"] != headers.get("Content-Type")
            or json.loads(fast[2]) != json.loads(body)
        ):
            message = (
                f"{operation}: the fast serialiser differs from moto's: {fast[0]} {fast[2]} "
                f"!= {status} {body!r}"
            )
            LOG.error(message)
            return (
                500,
                {"x-amzn-ErrorType": "InternalServerException"},
                json.dumps({"message": message}),
            )
        if seen is not None and len(_AGREED) < _AGREED_MAX:
            _AGREED.add(seen)
        return status, headers, body

    @staticmethod
    def _paginate(operation: str, params: dict[str, Any], result: dict[str, Any]) -> Any:
        config = _paginators().get(operation)
        if not config or not isinstance(result, dict):
            return result
        key = config["result_key"]
        if not isinstance(key, str) or not isinstance(result.get(key), list):
            return result
        items = result[key]
        limit = int(params.get(config.get("limit_key", "maxResults")) or 50)
        try:
            start = int(params.get(config["input_token"]) or 0)
        except ValueError:
            start = 0
        page = items[start : start + limit]
        result = dict(result)
        result[key] = page
        if start + limit < len(items):
            result[config["output_token"]] = str(start + limit)
        else:
            result.pop(config["output_token"], None)
        return result

    def _checked(self, operation: str, status: int, headers: dict[str, Any], body: Any) -> Any:
        """Strict mode (tests): a response that breaks the model fails the request. Outside
        it, responses are not re-parsed: the tests are what keep them model-valid."""
        if not RUNTIME.strict:
            return status, headers, body
        from smus_mesh_emulator.validation import validate_response

        raw = body.encode() if isinstance(body, str) else (body or b"")
        errors = validate_response("datazone", operation, status, dict(headers), raw)
        if not errors:
            return status, headers, body
        message = "emulator response violates the botocore model: " + "; ".join(errors[:10])
        LOG.error(message)
        return (
            500,
            {"x-amzn-ErrorType": "InternalServerException"},
            json.dumps({"message": message}),
        )
