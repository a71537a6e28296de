"""`/_emulator/*` admin endpoints (JSON), served on the same port as AWS.

The contract (DESIGN.md): health, calls log (+reset), inventory, faults,
latency, reset, routed by werkzeug (`ROUTES`). Anything else under `/_emulator/`
is a 404 with a JSON body listing the endpoints, so a typo is never mistaken for
an AWS call.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule

from smus_mesh_emulator.accounts import check_member_count
from smus_mesh_emulator.runtime import RUNTIME, FaultConfig

StartResponse = Callable[..., Any]

ENDPOINTS = [
    "GET /_emulator/health",
    "GET /_emulator/calls",
    "POST /_emulator/calls/reset",
    "GET /_emulator/inventory",
    "GET|POST /_emulator/faults",
    "GET|POST /_emulator/latency",
    "GET|POST /_emulator/iam",
    "POST /_emulator/reset",
]


class AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _reply(start_response: StartResponse, status: int, payload: Any) -> Iterable[bytes]:
    body = json.dumps(payload, indent=1, default=str).encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}
    start_response(
        f"{status} {reason.get(status, 'Error')}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


#: Largest admin request body (bytes): the settings are a few fields.
MAX_BODY = 64 * 1024


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (use a number)")


def _json_body(environ: dict[str, Any]) -> dict[str, Any]:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise AdminError(400, "Content-Length is not a number") from None
    if not 0 <= length <= MAX_BODY:
        raise AdminError(400, f"the body must be at most {MAX_BODY:,} bytes")
    raw = environ["wsgi.input"].read(length) if length else b""
    if not raw.strip():
        return {}
    try:
        # NaN and Infinity are not JSON; Python would accept them.
        data = json.loads(raw, parse_constant=_reject_constant)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, the constants
        raise AdminError(400, f"body is not JSON: {str(exc)[:200]}") from None
    if not isinstance(data, dict):
        raise AdminError(400, "body must be a JSON object")
    return data


def _number(body: dict[str, Any], name: str, default: float) -> float:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AdminError(400, f"{name} must be a number, not {json.dumps(value)[:80]}")
    if not math.isfinite(value):
        raise AdminError(400, f"{name} must be a finite number, not {value}")
    return float(value)


def _faults(body: dict[str, Any]) -> FaultConfig:
    unknown = set(body) - {"throttle_rate", "error_rate", "seed", "operations"}
    if unknown:
        raise AdminError(400, f"unknown fault settings: {sorted(unknown)}")
    operations = body.get("operations", [])
    if not isinstance(operations, list) or not all(isinstance(op, str) for op in operations):
        raise AdminError(400, "operations must be a list of operation names, e.g. ['GetDomain']")
    seed = body.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise AdminError(400, f"seed must be an integer, not {json.dumps(seed)[:80]}")
    config = FaultConfig(
        throttle_rate=_number(body, "throttle_rate", 0.0),
        error_rate=_number(body, "error_rate", 0.0),
        seed=seed,
        operations=list(operations),
    )
    rates = (config.throttle_rate, config.error_rate)
    if any(not 0.0 <= r <= 1.0 for r in rates) or sum(rates) > 1.0:
        raise AdminError(400, "throttle_rate and error_rate must be in [0, 1] and sum to <= 1")
    return config


def _health(request: AdminRequest) -> tuple[int, Any]:
    return 200, {
        "status": "ok",
        "accounts": request.accounts(),
        "latency": RUNTIME.profile.to_dict(),
    }


def _calls(request: AdminRequest) -> tuple[int, Any]:
    records = RUNTIME.calls
    since = parse_qs(request.query).get("since")
    if since:
        try:
            after = int(since[0])
        except ValueError as exc:
            raise AdminError(400, f"since must be a call seq number, not {since[0]!r}") from exc
        records = [c for c in records[max(after, 0) :] if c.seq > after]  # seq n is at n - 1
    return 200, {"calls": [c.to_dict() for c in records]}


def _reset_calls(request: AdminRequest) -> tuple[int, Any]:
    RUNTIME.reset_calls()
    return 200, {"calls": []}


def _inventory(request: AdminRequest) -> tuple[int, Any]:
    from smus_mesh_emulator import inventory

    with RUNTIME.lock:
        RUNTIME.scheduler.tick()
        snapshot = inventory.snapshot()
    return 200, {"accounts": snapshot}


def _fault_settings(request: AdminRequest) -> tuple[int, Any]:
    if request.method == "POST":
        RUNTIME.set_faults(_faults(_json_body(request.environ)))
    return 200, RUNTIME.faults.to_dict()


def _latency(request: AdminRequest) -> tuple[int, Any]:
    if request.method == "POST":
        body = _json_body(request.environ)
        unknown = set(body) - {"profile", "time_scale", "first_read_grace"}
        if unknown:
            raise AdminError(400, f"unknown latency settings: {sorted(unknown)}")
        profile = body.get("profile", RUNTIME.profile.name)
        if not isinstance(profile, str):
            raise AdminError(400, "profile must be 'none' or 'realistic'")
        try:
            RUNTIME.set_latency(
                profile,
                _number(body, "time_scale", RUNTIME.profile.time_scale),
                _number(body, "first_read_grace", RUNTIME.profile.first_read_grace),
            )
        except ValueError as exc:
            raise AdminError(400, f"bad latency settings: {exc}") from None
    return 200, RUNTIME.profile.to_dict()


def _iam(request: AdminRequest) -> tuple[int, Any]:
    """Strict IAM on or off (`{"mode": "enforce"|"off"}`), e.g. for one test."""
    if request.method == "POST":
        body = _json_body(request.environ)
        mode = body.get("mode")
        if set(body) != {"mode"} or mode not in ("off", "enforce"):
            raise AdminError(400, 'expected {"mode": "off" or "enforce"}')
        RUNTIME.iam = mode
    return 200, {"mode": RUNTIME.iam}


def _reset(request: AdminRequest) -> tuple[int, Any]:
    body = _json_body(request.environ)
    unknown = set(body) - {"accounts"}
    if unknown:
        raise AdminError(400, f"unknown reset settings: {sorted(unknown)}")
    member_count = None
    if "accounts" in body:
        try:
            member_count = check_member_count(body["accounts"])
        except ValueError as exc:
            raise AdminError(400, str(exc)) from None
    with RUNTIME.lock:
        request.reset_cloud(member_count)
    return 200, {"status": "reset", "accounts": request.accounts()}


@dataclass(frozen=True)
class AdminRequest:
    """One admin request and what its endpoint may need from the server."""

    environ: dict[str, Any]
    method: str
    query: str
    reset_cloud: Callable[[int | None], None]
    accounts: Callable[[], list[str]]


Endpoint = Callable[[AdminRequest], tuple[int, Any]]

#: The routes of `ENDPOINTS`; faults and latency answer any method (POST changes them).
ROUTES = Map(
    [
        Rule("/_emulator/health", methods=["GET"], endpoint=_health),
        Rule("/_emulator/calls", methods=["GET"], endpoint=_calls),
        Rule("/_emulator/calls/reset", methods=["POST"], endpoint=_reset_calls),
        Rule("/_emulator/inventory", methods=["GET"], endpoint=_inventory),
        Rule("/_emulator/faults", endpoint=_fault_settings),
        Rule("/_emulator/latency", endpoint=_latency),
        Rule("/_emulator/iam", endpoint=_iam),
        Rule("/_emulator/reset", methods=["POST"], endpoint=_reset),
    ]
)


def handle(
    environ: dict[str, Any],
    start_response: StartResponse,
    reset_cloud: Callable[[int | None], None],
    accounts: Callable[[], list[str]],
) -> Iterable[bytes]:
    """Serve one admin request. `reset_cloud(member_count)` wipes moto and re-seeds the
    organization (None: the server's number of member accounts).

    A path or method no route has is a 404 that lists the endpoints (a wrong method too:
    the contract has no 405)."""
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "").rstrip("/")
    try:
        # werkzeug answers HEAD wherever GET is allowed; the contract has no HEAD.
        if method == "HEAD":
            raise NotFound()
        endpoint, _ = ROUTES.bind("localhost").match(path, method)
    except HTTPException:
        return _reply(
            start_response,
            404,
            {"error": f"no admin endpoint {method} {path}", "endpoints": ENDPOINTS},
        )
    request = AdminRequest(environ, method, environ.get("QUERY_STRING", ""), reset_cloud, accounts)
    try:
        status, payload = endpoint(request)
    except AdminError as exc:
        return _reply(start_response, exc.status, {"error": str(exc)})
    return _reply(start_response, status, payload)
