"""The moto internals registration.py relies on (ADR 2, ADR 35)."""

from __future__ import annotations

import inspect
import io

from moto.core import responses as moto_responses
from moto.core.request import Request
from moto.core.routing import get_service_router
from moto.core.utils import method_names_from_class
from werkzeug.test import EnvironBuilder

from smus_mesh_emulator.datazone.responses import DataZoneResponse
from smus_mesh_emulator.iam.responses import ManagedPolicyIamResponse
from smus_mesh_emulator.registration import make_dispatcher, operation_from_environ
from smus_mesh_emulator.routes import routed


def test_moto_still_looks_the_method_names_up_where_they_are_remembered() -> None:
    # If moto moves the lookup, the remembered one would silently stop applying.
    source = inspect.getsource(moto_responses.BaseResponse.call_action)
    assert "method_names_from_class(self.__class__)" in source


def test_the_remembered_method_names_are_moto_s_answer() -> None:
    make_dispatcher()
    remembered = moto_responses.method_names_from_class
    assert remembered is not method_names_from_class
    for clazz in (ManagedPolicyIamResponse, DataZoneResponse, moto_responses.BaseResponse):
        first = remembered(clazz)
        assert first == method_names_from_class(clazz)
        first.append("mutated by a caller")  # a fresh list each time, as moto's
        assert remembered(clazz) == method_names_from_class(clazz)
    assert "get_role" in remembered(ManagedPolicyIamResponse)
    assert "get_role" not in remembered(DataZoneResponse)


def _environ(method: str, path: str, body: bytes = b"") -> dict[str, object]:
    environ = EnvironBuilder(
        method=method, path=path, data=body, content_type="application/json"
    ).get_environ()
    environ["wsgi.input"] = io.BytesIO(body)
    return environ


def test_a_request_is_matched_once_and_as_moto_matches_it() -> None:
    environ = _environ("GET", "/v2/domains/dzd_abc123/projects/prj_42")
    assert operation_from_environ("datazone", environ) == "GetProject"
    own, params = get_service_router("datazone").match(Request(environ))
    assert routed(Request(environ), "datazone") == (own.name, params)
    assert params == {"domainIdentifier": "dzd_abc123", "identifier": "prj_42"}
    # the match is the service's own: another service's response class matches again
    assert routed(Request(environ), "lakeformation") is None
    # an unknown path leaves no match behind (the response class answers it itself)
    unknown = _environ("GET", "/v2/nowhere")
    assert operation_from_environ("datazone", unknown) == "Unknown"
    assert routed(Request(unknown), "datazone") is None
