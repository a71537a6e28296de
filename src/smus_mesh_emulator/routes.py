"""A request's route, matched once (ADR 35).

`registration.operation_from_environ` names every request with moto's router (the one
moto's `BaseResponse` asks too) and leaves the match in the WSGI environ, so a response
class need not match the same request a second time.
"""

from __future__ import annotations

from typing import Any

#: environ key: (service, operation, URI parameters)
ROUTE = "smus_mesh_emulator.route"


def routed(request: Any, service: str) -> tuple[str, dict[str, Any]] | None:
    """(operation, URI parameters) of `request` as matched for `service`, or None."""
    route = request.environ.get(ROUTE)
    if route is None or route[0] != service:
        return None
    return route[1], dict(route[2])
