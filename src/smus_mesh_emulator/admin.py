"""`/_emulator/*` admin endpoints (JSON), served on the same port as AWS.

The contract (DESIGN.md): health, calls log (+reset), inventory, faults,
latency, reset. Anything else under `/_emulator/` is a 404 with a JSON body
listing the endpoints, so a typo is never mistaken for an AWS call.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from smus_mesh_emulator.runtime import RUNTIME, FaultConfig

StartResponse = Callable[..., Any]

ENDPOINTS = [
    "GET /_emulator/health",
    "GET /_emulator/calls",
    "POST /_emulator/calls/reset",
    "GET /_emulator/inventory",
    "GET|POST /_emulator/faults",
    "GET|POST /_emulator/latency",
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


def _json_body(environ: dict[str, Any]) -> dict[str, Any]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise AdminError(400, f"body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise AdminError(400, "body must be a JSON object")
    return data


def _faults(body: dict[str, Any]) -> FaultConfig:
    unknown = set(body) - {"throttle_rate", "error_rate", "seed", "operations"}
    if unknown:
        raise AdminError(400, f"unknown fault settings: {sorted(unknown)}")
    operations = body.get("operations", [])
    if not isinstance(operations, list):
        raise AdminError(400, "operations must be a list of operation names, e.g. ['GetDomain']")
    try:
        config = FaultConfig(
            throttle_rate=float(body.get("throttle_rate", 0.0)),
            error_rate=float(body.get("error_rate", 0.0)),
            seed=int(body.get("seed", 0)),
            operations=[str(op) for op in operations],
        )
    except (TypeError, ValueError) as exc:
        raise AdminError(400, f"bad fault settings: {exc}") from exc
    rates = (config.throttle_rate, config.error_rate)
    if any(not 0.0 <= r <= 1.0 for r in rates) or sum(rates) > 1.0:
        raise AdminError(400, "throttle_rate and error_rate must be in [0, 1] and sum to <= 1")
    return config


def handle(
    environ: dict[str, Any],
    start_response: StartResponse,
    reset_cloud: Callable[[], None],
    accounts: Callable[[], list[str]],
) -> Iterable[bytes]:
    """Serve one admin request. `reset_cloud` wipes moto and re-seeds the accounts."""
    from smus_mesh_emulator import inventory

    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "").rstrip("/")
    query = environ.get("QUERY_STRING", "")
    try:
        if path == "/_emulator/health" and method == "GET":
            return _reply(
                start_response,
                200,
                {"status": "ok", "accounts": accounts(), "latency": RUNTIME.profile.to_dict()},
            )
        if path == "/_emulator/calls" and method == "GET":
            calls = [c.to_dict() for c in RUNTIME.calls]
            since = parse_qs(query).get("since")
            if since:
                try:
                    after = int(since[0])
                except ValueError as exc:
                    raise AdminError(
                        400, f"since must be a call seq number, not {since[0]!r}"
                    ) from exc
                calls = [c for c in calls if c["seq"] > after]
            return _reply(start_response, 200, {"calls": calls})
        if path == "/_emulator/calls/reset" and method == "POST":
            RUNTIME.reset_calls()
            return _reply(start_response, 200, {"calls": []})
        if path == "/_emulator/inventory" and method == "GET":
            with RUNTIME.lock:
                RUNTIME.scheduler.tick()
                snapshot = inventory.snapshot()
            return _reply(start_response, 200, {"accounts": snapshot})
        if path == "/_emulator/faults":
            if method == "POST":
                RUNTIME.set_faults(_faults(_json_body(environ)))
            return _reply(start_response, 200, RUNTIME.faults.to_dict())
        if path == "/_emulator/latency":
            if method == "POST":
                body = _json_body(environ)
                try:
                    RUNTIME.set_latency(
                        str(body.get("profile", RUNTIME.profile.name)),
                        float(body.get("time_scale", RUNTIME.profile.time_scale)),
                    )
                except (TypeError, ValueError) as exc:
                    raise AdminError(400, f"bad latency settings: {exc}") from exc
            return _reply(start_response, 200, RUNTIME.profile.to_dict())
        if path == "/_emulator/reset" and method == "POST":
            with RUNTIME.lock:
                reset_cloud()
            return _reply(start_response, 200, {"status": "reset", "accounts": accounts()})
    except AdminError as exc:
        return _reply(start_response, exc.status, {"error": str(exc)})
    return _reply(
        start_response,
        404,
        {"error": f"no admin endpoint {method} {path}", "endpoints": ENDPOINTS},
    )
